"""A run's ``metrics.jsonl`` read through the shared keys (``agent.runs.SHARED_KEYS``), for the
comparison's tables and plots.

Lines written by ``agent.runs.MetricsWriter`` carry ``trainer`` and every shared key, with one
meaning for NEAT, PPO and BC, and are used as they are. Lines written before it (no
``trainer`` key) named things per trainer; ``shared_line`` maps what they hold onto the
shared keys, and leaves the rest None:

| trainer, told by | iteration | frames | completion_rate | progress |
|---|---|---|---|---|
| NEAT: ``frames_simulated`` | ``generation``+1 | ``frames_simulated`` | ``completion_rate``¹ | - |
| BC: ``env_frames`` | ``update`` | ``env_frames`` | ``eval_completion_rate`` | ``eval_progress`` |
| PPO: otherwise | ``update`` | ``frames`` | ``completion_rate`` | ``progress`` |

¹ The old NEAT share of genomes that finished every training level: the shared meaning (the
share of genome x level episodes that did) on one level, a lower bound on several. The old
lines' ``wall_seconds`` was cumulative for every trainer and is kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from agent.runs import METRICS_FILE, SHARED_KEYS, TrainError, read_metrics_file
from envs.checks import SettingError, check_int, check_number

__all__ = [
    "TRAINERS",
    "check_shared_line",
    "legacy_trainer",
    "read_run_metrics",
    "run_summary",
    "shared_line",
    "shared_lines",
]

TRAINERS = ("neat", "ppo", "bc")

# the old keys of each trainer, by shared key (module doc)
_LEGACY = {
    "neat": {"frames": "frames_simulated", "completion_rate": "completion_rate"},
    "bc": {
        "iteration": "update",
        "frames": "env_frames",
        "completion_rate": "eval_completion_rate",
        "progress": "eval_progress",
    },
    "ppo": {
        "iteration": "update",
        "frames": "frames",
        "completion_rate": "completion_rate",
        "progress": "progress",
        "episodes": "episodes",
        "max_progress": "max_progress",
    },
}
_KEPT = ("wall_seconds", "frames_per_second", "first_completion_frames", "first_completion_seconds")


def legacy_trainer(line: Mapping[str, Any], hint: str | None = None) -> str:
    """The trainer of a line written before the shared keys: ``hint`` (the run's kind, e.g.
    ``"ppo-lstm"``) when it names one, else told by the keys (module doc)."""
    family = (hint or "").split("-")[0]
    if family in TRAINERS:
        return family
    if "frames_simulated" in line:
        return "neat"
    return "bc" if "env_frames" in line else "ppo"


def shared_line(line: Mapping[str, Any], hint: str | None = None) -> dict[str, Any]:
    """The shared keys of one metrics line: the line itself when it has ``trainer``, else what
    an old line holds of them (module doc), the others None."""
    if "trainer" in line:
        return dict(line)
    trainer = legacy_trainer(line, hint)
    out: dict[str, Any] = dict.fromkeys(SHARED_KEYS)
    out["trainer"] = trainer
    for key, old in _LEGACY[trainer].items():
        out[key] = line.get(old)
    for key in _KEPT:
        out[key] = line.get(key, out[key])
    if trainer == "neat" and isinstance(line.get("generation"), int):
        out["iteration"] = line["generation"] + 1
    return out


def shared_lines(lines: Sequence[Mapping[str, Any]], hint: str | None = None) -> list[dict]:
    """``shared_line`` of every line."""
    return [shared_line(m, hint) for m in lines]


def read_run_metrics(run_dir: str | Path, hint: str | None = None) -> list[dict[str, Any]]:
    """The shared view of ``run_dir/metrics.jsonl`` ([] without one); ``ValueError`` naming the
    file and line of a line that is not a JSON object, or whose shared keys do not hold what
    they mean (``check_shared_line``: NaN, Infinity, a string for a number), as
    ``agent.runs.TrainError``."""
    path = Path(run_dir) / METRICS_FILE
    lines = shared_lines(read_metrics_file(path), hint)
    for i, line in enumerate(lines, 1):
        try:
            check_shared_line(line)
        except SettingError as exc:
            raise TrainError(f"{path}: line {i}: {exc}") from None
    return lines


#: The shared keys by what they hold (each may also be None: not known, or no episode).
_COUNTS = ("iteration", "frames", "episodes", "first_completion_frames")
_SECONDS = ("wall_seconds", "frames_per_second", "first_completion_seconds")
_SHARES = ("completion_rate", "progress", "max_progress")


def check_shared_line(line: Mapping[str, Any]) -> None:
    """``SettingError`` unless each shared key of ``line`` is None or what it means: counts
    are integers >= 0, seconds finite numbers >= 0, shares finite numbers in [0, 1], and
    ``trainer`` a string."""
    if not isinstance(line.get("trainer"), str):
        raise SettingError(f"trainer must be a string, got {line.get('trainer')!r:.40}")
    for keys, check in (
        (_COUNTS, lambda k, v: check_int(k, v, 0)),
        (_SECONDS, lambda k, v: check_number(k, v, 0)),
        (_SHARES, lambda k, v: check_number(k, v, 0, 1)),
    ):
        for key in keys:
            if line.get(key) is not None:
                check(key, line[key])


def run_summary(run_dir: str | Path, hint: str | None = None) -> str:
    """What a run has done, from the last line of its metrics: ``"12 iterations, 48,000
    frames, 3.1 s; last completion 25%; first completion after 30,000 frames"``."""
    metrics = read_run_metrics(run_dir, hint)
    if not metrics:
        return "no metrics yet"
    last = metrics[-1]
    rate, first = last.get("completion_rate"), last.get("first_completion_frames")
    wall = last.get("wall_seconds")
    return (
        f"{last.get('iteration')} iterations, {last.get('frames') or 0:,} frames"
        + ("" if wall is None else f", {wall:.1f} s")
        + "; last completion "
        + ("-" if rate is None else f"{100 * rate:.0f}%")
        + ("" if first is None else f"; first completion after {first:,} frames")
    )
