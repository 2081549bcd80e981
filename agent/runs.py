"""The run directory every trainer writes: its files, its checks, its metrics, its progress.

A run directory holds one training run (NEAT, PPO or BC): the settings that define it, the
trained agent (``champion.json``, or ``model.pt`` + ``model.json``), the latest checkpoint,
``metrics.jsonl`` (one JSON object per line, one line per iteration) and TensorBoard event
files beside it, so ``tensorboard --logdir runs/`` shows every run side by side.

* ``RunDir.fresh`` refuses a directory that already holds a run (a checkpoint, a trained
  agent or metrics lines; what a run stopped before its first checkpoint left is written over);
  ``RunDir.resume`` refuses one that holds nothing to resume. ``RunDir.open`` creates the
  directory and removes temporary files left by writes that a kill interrupted. Every file
  goes through ``agent.files`` (atomic: a crash leaves the previous version).
* ``MetricsWriter`` writes every trainer's metrics with the same shared keys and meanings
  (``SHARED_KEYS``, documented in docs/metrics.md), and the numeric ones as TensorBoard scalars
  under cleanrl-style tags (``charts/...``, ``losses/...``, ``TRAINER/...``), with the game
  frames so far as the step, so curves of different trainers share one x axis.
* ``Progress`` is the one progress display: a tqdm bar on stderr and a line per iteration on
  stdout (or to a ``log`` function), or nothing.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from agent.files import (
    FileRefused,
    atomic_write_text,
    atomic_write_with,
    parse_json,
    read_bounded,
    remove_stale_temps,
)
from envs.levels.level import LEVEL_DIR, Level, LevelError, builtin_names, load_level, parse_level

__all__ = [
    "METRICS_FILE",
    "RUN_ID_FILE",
    "SHARED_KEYS",
    "TAGS",
    "MetricsWriter",
    "Progress",
    "RunDir",
    "TrainError",
    "foreign_owner",
    "pin_levels",
    "pinned_levels",
    "read_metrics_file",
    "run_id_for",
    "tag_for",
]

METRICS_FILE = "metrics.jsonl"
#: A metrics file larger than this is refused unread (a line per iteration is ~1 KB).
MAX_METRICS_BYTES = 256 << 20
#: The run's id (``run_id_for``), which every checkpoint of the run carries too.
RUN_ID_FILE = "run-id"

#: Keys every trainer writes on every metrics line, with one meaning (docs/metrics.md).
SHARED_KEYS = (
    "trainer",  # "neat", "ppo" or "bc"
    "iteration",  # iterations done so far: generations (NEAT), updates (PPO, BC)
    "frames",  # game frames simulated for training so far, resumes included
    "wall_seconds",  # training wall-clock so far, resumes included
    "frames_per_second",  # this iteration's frames over its seconds
    "episodes",  # episodes that ended in this iteration
    "completion_rate",  # share of those episodes that reached the flag (None: no episode)
    "progress",  # their mean share of the way to the flag, 0..1 (None: no episode or unknown)
    "max_progress",  # the farthest of them, 0..1
    "first_completion_frames",  # ``frames`` when a training episode first reached a flag
    "first_completion_seconds",  # ``wall_seconds`` then
)

#: TensorBoard tags of the metrics keys (cleanrl's names where cleanrl has one); any other
#: numeric key goes under ``TRAINER/KEY``.
TAGS = {
    "completion_rate": "charts/completion_rate",
    "progress": "charts/progress",
    "max_progress": "charts/max_progress",
    "episodes": "charts/episodes",
    "frames_per_second": "charts/SPS",
    "wall_seconds": "charts/wall_seconds",
    "iteration": "charts/iteration",
    "first_completion_frames": "charts/first_completion_frames",
    "first_completion_seconds": "charts/first_completion_seconds",
    "episode_return": "charts/episodic_return",
    "episode_length": "charts/episodic_length",
    "lr": "charts/learning_rate",
    "policy_loss": "losses/policy_loss",
    "value_loss": "losses/value_loss",
    "entropy": "losses/entropy",
    "approx_kl": "losses/approx_kl",
    "clipfrac": "losses/clipfrac",
    "explained_variance": "losses/explained_variance",
    "loss": "losses/bc_loss",
}

#: Keys that are not plotted: the step itself and the trainer's name.
_NOT_SCALARS = ("frames", "trainer")


class TrainError(ValueError):
    """Training cannot start or go on (settings, run directory, checkpoint); one line."""


def tag_for(trainer: str, key: str) -> str:
    """The TensorBoard tag of metrics key ``key`` written by ``trainer``."""
    return TAGS.get(key, f"{trainer}/{key}")


def _user_id() -> int | None:
    """This process's user id (None where files have no POSIX owner: Windows)."""
    return os.geteuid() if hasattr(os, "geteuid") else None


def foreign_owner(path: str | Path) -> str | None:
    """Why ``path`` may come from someone else: its directory or itself is not owned by this
    machine's current user (one line); None when both are (or files have no owners)."""
    uid = _user_id()
    if uid is None:
        return None
    path = Path(path)
    for p in (path.parent, path):
        try:
            owner = p.stat().st_uid
        except OSError:
            continue  # missing or unreadable: the loader says so itself
        if owner != uid:
            return f"{p} is owned by user id {owner}, not by you ({uid})"
    return None


def run_id_for(record: Any) -> str:
    """A run's id: 16 hex digits of the SHA-256 of what defines it at its start (``record``,
    as JSON). Identical settings give identical ids, so identical runs stay byte-identical."""
    text = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def pin_levels(specs: Sequence[str | Path | Level]) -> list[dict[str, Any]]:
    """What a run records of its fixed levels, so that every resume plays exactly them: per
    level, the spec as given, the absolute path of its file (None for a built-in name, a real
    game stage or a level made in memory), the name a file without one gets, and its text."""
    pins = []
    for spec in specs:
        if isinstance(spec, Level):
            pins.append({"spec": spec.name, "path": None, "name": spec.name,
                         "text": spec.to_text()})  # fmt: skip
            continue
        level = load_level(spec)  # every check (and error) of a level file
        name = str(spec)
        if name in builtin_names():
            path, file = None, LEVEL_DIR / f"{name}.txt"
        elif name.startswith("smb:"):
            pins.append({"spec": name, "path": None, "name": level.name, "text": level.to_text()})
            continue
        else:
            path = file = Path(spec).resolve()
        text = file.read_bytes().decode("utf-8")
        pins.append({"spec": name, "path": None if path is None else str(path),
                     "name": file.stem, "text": text})  # fmt: skip
    return pins


def pinned_levels(pins: Sequence[dict[str, Any]], where: str | Path) -> list[Level]:
    """The levels a run recorded (``pin_levels``), as it recorded them, whatever the working
    directory. A level whose file (or built-in name) still loads must not have changed:
    ``LevelError`` naming it, "edited since the run started". ``where``: the record (errors)."""
    if not isinstance(pins, list | tuple):
        raise TrainError(f"{where}: a malformed level record (not a list)")
    levels = []
    for pin in pins:
        try:
            spec, path, name, text = pin["spec"], pin["path"], pin["name"], pin["text"]
            if not all(isinstance(x, str) for x in (spec, name, text, path or "")):
                raise TypeError("its entries must be strings")
            level = parse_level(text, f"{where} (level {spec})", default_name=name)
        except (KeyError, TypeError) as exc:
            raise TrainError(f"{where}: a malformed level record ({exc})") from None
        source = path if path is not None else spec
        if path is None and spec not in builtin_names():
            current = None  # a level made in memory or a stage of the real game
        elif path is not None and not Path(path).exists():
            current = None  # the file is gone: the run plays the copy it kept
        else:
            try:
                current = load_level(source)
            except LevelError as exc:
                raise LevelError(f"{source}: edited since the run started ({exc})") from None
        if current is not None and current != level:
            raise LevelError(
                f"{source}: edited since the run started; put it back or start a new run"
            )
        levels.append(level)
    return levels


def read_metrics_file(path: str | Path) -> list[dict[str, Any]]:
    """The lines of a ``metrics.jsonl`` (a missing file: none); ``TrainError`` naming the file
    and line when one is not a JSON object (or is nested too deeply), or the file is not a
    regular file of at most ``MAX_METRICS_BYTES``. Values are not checked here
    (``agent.study.metrics.read_run_metrics`` checks the shared keys)."""
    path = Path(path)
    try:
        text = read_bounded(path, MAX_METRICS_BYTES, "metrics file").decode("utf-8")
    except FileNotFoundError:
        return []
    except FileRefused as exc:
        raise TrainError(str(exc)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TrainError(f"{path}: cannot read the metrics ({exc})") from None
    out = []
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = parse_json(line, allow_nan=True)  # a diverged loss is written as NaN
        except json.JSONDecodeError as exc:
            raise TrainError(f"{path}: line {i} is not JSON ({exc.msg})") from None
        except ValueError as exc:
            raise TrainError(f"{path}: line {i}: {exc}") from None
        if not isinstance(row, dict):
            raise TrainError(f"{path}: line {i} is not a JSON object")
        out.append(row)
    return out


class RunDir:
    """A training run's directory: where its files go, checked before anything is written."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @classmethod
    def fresh(cls, path: str | Path, progress: Iterable[str]) -> RunDir:
        """A directory for a new run; ``TrainError`` if it holds training progress: one of the
        ``progress`` files (a checkpoint, a trained agent) or metrics lines.

        What a run stopped before its first checkpoint leaves (its settings, an empty
        ``metrics.jsonl``, TensorBoard headers, temporary files) is not a run: the new run
        writes over it, since ``--resume`` has nothing to continue from there.
        """
        run = cls(path)
        if run.path.exists() and not run.path.is_dir():
            raise TrainError(f"{run.path}: not a directory; choose another --out")
        taken = [name for name in progress if (run.path / name).exists()]
        if not taken and _has_lines(run.path / METRICS_FILE):
            taken = [METRICS_FILE]
        if taken:
            raise TrainError(
                f"{run.path} already holds a training run ({taken[0]}); continue it with "
                f"--resume {run.path} or choose another --out"
            )
        return run

    @classmethod
    def resume(cls, path: str | Path, checkpoint: str) -> RunDir:
        """The directory of a run to continue; ``TrainError`` unless it holds ``checkpoint``."""
        run = cls(path)
        if not run.path.is_dir():
            raise TrainError(f"{run.path}: no such run directory to resume")
        if not (run.path / checkpoint).is_file():
            raise TrainError(
                f"{run.path}: nothing to resume ({checkpoint} is missing); a run stopped before "
                f"its first checkpoint starts again with --out {run.path}"
            )
        return run

    def open(self) -> RunDir:
        """Create the directory (and its parents) and clear temporary files of killed writes."""
        self.path.mkdir(parents=True, exist_ok=True)
        self.clear_temps()
        return self

    def clear_temps(self) -> list[Path]:
        """Remove the temporary files (``.NAME.HEX.tmp``) that killed atomic writes left here;
        every start and every resume does, even one with nothing left to do."""
        return remove_stale_temps(self.path)

    def file(self, name: str) -> Path:
        return self.path / name

    def recorded_id(self) -> str | None:
        """The run id in ``run-id`` (None: a run from before run ids, or none yet)."""
        path = self.file(RUN_ID_FILE)
        if not path.exists() and not path.is_symlink():
            return None
        try:
            if not path.is_file():  # a FIFO or a device would block or never end
                raise OSError("not a regular file")
            with open(path, "rb") as f:
                return f.read(64).decode("ascii").strip() or None
        except (OSError, UnicodeDecodeError) as exc:
            raise TrainError(f"{path}: unreadable ({exc})") from None

    def check_run_id(self, checkpoint_id: str | None, checkpoint: str) -> None:
        """``TrainError`` unless the checkpoint ``checkpoint`` belongs to this directory's run:
        its run id is the one in ``run-id`` (or, for runs from before run ids, neither has
        one). A checkpoint copied in from another run would replace this run's files."""
        own = self.recorded_id()
        if checkpoint_id == own:
            return
        raise TrainError(
            f"{self.file(checkpoint)}: a checkpoint of another run (run id {checkpoint_id}; "
            f"this directory's run is {own or f'unrecorded, no {RUN_ID_FILE}'}); resume the "
            "directory it came from, or copy that whole directory"
        )

    def write_run_id(self, run_id: str) -> None:
        """Record the run's id (written only when it is not there yet)."""
        if self.recorded_id() != run_id:
            self.write_text(RUN_ID_FILE, run_id + "\n")

    def write_text(self, name: str, text: str) -> Path:
        atomic_write_text(self.path / name, text)
        return self.path / name

    def write_json(self, name: str, data: Any) -> Path:
        return self.write_text(name, json.dumps(data, indent=2, allow_nan=False) + "\n")

    def write_with(self, name: str, write: Callable[[BinaryIO], object]) -> Path:
        atomic_write_with(self.path / name, write)
        return self.path / name

    def metrics(self, trainer: str, history: Sequence[dict[str, Any]] = ()) -> MetricsWriter:
        """The run's metrics writer, starting from ``history`` (the lines a checkpoint kept)."""
        return MetricsWriter(self.path, trainer, history)


def _has_lines(path: Path) -> bool:
    """Whether ``path`` exists with anything but whitespace in it (anything there but a
    regular file counts as content: better refused than overwritten)."""
    if not path.exists() and not path.is_symlink():
        return False
    if not path.is_file():
        return True
    try:
        with open(path, "rb") as f:
            return bool(f.read(4096).strip()) or bool(f.read(1))
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError:
        return True  # unreadable: better refused than overwritten


def _scalar(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


class MetricsWriter:
    """``metrics.jsonl`` and TensorBoard scalars, one line per iteration, for every trainer.

    Opening rewrites ``metrics.jsonl`` atomically with ``history``: on resume, lines written
    after the checkpoint are dropped, since the resumed run writes them again. TensorBoard
    events are appended to a new event file that purges the steps after the last kept line,
    so a resumed run's curves do not double.
    """

    def __init__(self, directory: str | Path, trainer: str, history: Sequence[dict] = ()):
        self.directory = Path(directory)
        self.trainer = trainer
        self.lines = [dict(m) for m in history]
        atomic_write_text(self.path, "".join(json.dumps(m) + "\n" for m in self.lines))
        self._events = _EventWriter(
            self.directory, purge_from=self.lines[-1]["frames"] + 1 if self.lines else 0
        )

    @property
    def path(self) -> Path:
        return self.directory / METRICS_FILE

    def write(self, metrics: dict[str, Any]) -> dict[str, Any]:
        """Append one line (``trainer`` added first); every shared key must be present."""
        line = {"trainer": self.trainer, **metrics}
        missing = [k for k in SHARED_KEYS if k not in line]
        if missing:
            raise KeyError(f"metrics line without the shared key(s) {', '.join(missing)}")
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")
        step = int(line["frames"])
        for key, value in line.items():
            number = None if key in _NOT_SCALARS else _scalar(value)
            if number is not None:
                self._events.scalar(tag_for(self.trainer, key), number, step)
        self._events.flush()
        self.lines.append(line)
        return line

    def close(self) -> None:
        self._events.close()

    def __enter__(self) -> MetricsWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _EventWriter:
    """TensorBoard's own event-file writer (the one ``torch.utils.tensorboard`` uses), for
    scalars; without torch, so NEAT runs do not import it."""

    def __init__(self, directory: Path, purge_from: int) -> None:
        from tensorboard.compat.proto.event_pb2 import Event, SessionLog
        from tensorboard.compat.proto.summary_pb2 import Summary
        from tensorboard.summary.writer.event_file_writer import EventFileWriter

        self._event, self._summary = Event, Summary
        self._writer = EventFileWriter(str(directory), flush_secs=30)
        if purge_from > 0:  # TensorBoard drops earlier-written events at steps >= this one
            self._writer.add_event(Event(step=purge_from, file_version="brain.Event:2"))
            start = SessionLog(status=SessionLog.START)
            self._writer.add_event(Event(step=purge_from, session_log=start))

    def scalar(self, tag: str, value: float, step: int) -> None:
        summary = self._summary(value=[self._summary.Value(tag=tag, simple_value=value)])
        self._writer.add_event(self._event(summary=summary, step=step, wall_time=time.time()))

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()


class Progress:
    """The progress display of a training run.

    ``enabled`` False shows nothing. With a ``log`` function, every line goes to it and there is
    no bar. Otherwise a tqdm bar of ``total`` ``unit`` s (from ``initial``) runs on stderr and
    lines are printed above it on stdout.
    """

    def __init__(
        self,
        enabled: bool,
        *,
        total: int,
        initial: int = 0,
        unit: str = "it",
        desc: str = "",
        unit_scale: bool = False,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.enabled = enabled
        self.log = log
        self.bar = None
        if enabled and log is None:
            from tqdm import tqdm

            self.bar = tqdm(
                total=total,
                initial=initial,
                desc=desc,
                unit=unit,
                unit_scale=unit_scale,
                file=sys.stderr,
                dynamic_ncols=True,
            )

    def line(self, text: str) -> None:
        """One line of the run's log (a generation, an update, a message)."""
        if not self.enabled:
            return
        if self.log is not None:
            self.log(text)
        elif self.bar is not None:
            self.bar.write(text, file=sys.stdout)

    def advance(self, n: int = 1, **postfix: str) -> None:
        """Move the bar on by ``n`` (with ``postfix`` figures beside it)."""
        if self.bar is not None:
            if postfix:
                self.bar.set_postfix(postfix, refresh=False)
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
