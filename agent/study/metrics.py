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

from agent.runs import METRICS_FILE, SHARED_KEYS, read_metrics_file

__all__ = [
    "TRAINERS",
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
    file and line of a line that is not a JSON object (``agent.runs.TrainError``)."""
    return shared_lines(read_metrics_file(Path(run_dir) / METRICS_FILE), hint)


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
