"""The run directory of a recurrent trainer (PPO or BC): where it goes, what it resumes from.

A run directory (``agent.runs.RunDir``) holds ``run.json`` (everything that defines the run:
``algo``, the model and trainer settings, levels, generated count, difficulty, length, seed),
``model.pt`` + ``model.json`` (``agent.rnn.model``), ``metrics.jsonl`` and TensorBoard events
(``agent.runs.MetricsWriter``) and ``checkpoint-latest.pt``: a dict of tensors, state dicts and
a JSON string (``"trainer"``), loaded with ``torch.load(weights_only=True)``, so no pickled
class is needed and files written before the package moved still load.

``plan_run`` does what both trainers do before anything is written: a fresh run refuses a
directory holding another run (a checkpoint, a model or metrics lines; ``run.json`` and the
dataset of a run stopped before its first checkpoint are written over); a resumed run reads the
run's own settings and refuses settings that differ from them (a resumed run continues the same
experiment).
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agent.files import FileRefused, parse_json, read_bounded
from agent.rnn.model import MODEL_FILE, MODEL_JSON, ModelConfig, nonfinite_weight
from agent.rnn.settings import level_names, training_levels
from agent.runs import (
    SHARED_KEYS,
    MetricsWriter,
    Progress,
    RunDir,
    TrainError,
    pin_levels,
    pinned_levels,
    run_id_for,
)
from envs.levels.generator import Difficulty
from envs.levels.level import Level

__all__ = [
    "CHECKPOINT_FILE",
    "RUN_FILE",
    "RunFiles",
    "RunTrainer",
    "TIMING_KEYS",
    "RunPlan",
    "checkpoint_error",
    "cpu_state_dict",
    "load_checkpoint",
    "plan_run",
    "read_run_file",
    "rng_states",
    "set_rng_states",
    "upgrade_metrics",
]

RUN_FILE = "run.json"
MAX_RUN_FILE_BYTES = 1 << 20  # a larger run.json is refused unread
CHECKPOINT_FILE = "checkpoint-latest.pt"

#: Metrics keys of PPO and BC lines that measure time (they differ between identical runs).
TIMING_KEYS = (
    "wall_seconds",
    "frames_per_second",
    "first_completion_seconds",
    "rollout_seconds",
    "update_seconds",
    "expert_seconds",
)


@dataclass
class RunPlan:
    """A run about to start or continue: its directory, settings, levels and checkpoint."""

    run: RunDir
    model: ModelConfig
    settings: Any  # the trainer's settings dataclass
    specs: list[str | Path | Level]  # the levels as given (names, files or Level objects)
    generated: int | None
    difficulty: Difficulty  # one, or a (lo, hi) range (a list in run.json)
    length: int
    seed: int
    saved: dict[str, Any] | None  # run.json of a resumed run
    checkpoint: dict[str, Any] | None  # its checkpoint
    pins: list[dict[str, Any]] | None = None  # the fixed levels' content (``pin_levels``)

    @property
    def out(self) -> Path:
        return self.run.path

    @property
    def run_id(self) -> str | None:
        """The id of a resumed run (its checkpoint's); None: a new one, made from run.json."""
        return None if self.checkpoint is None else self.checkpoint.get("run_id")

    def levels(self) -> list[Level]:
        """The training levels: on resume, the content the run recorded (unless Level objects
        were given), checked against the files; the generated ones after them."""
        given = any(isinstance(x, Level) for x in self.specs)
        if self.pins is None or given:
            self.pins = pin_levels(self.specs)  # a new run, or one from before level pins
            fixed: Sequence[Any] = self.specs
        else:
            fixed = pinned_levels(self.pins, self.out / RUN_FILE)
        return training_levels(fixed, self.generated, self.difficulty, self.length, self.seed)

    def run_json(self, algo: str, **extra: Any) -> dict[str, Any]:
        """What ``run.json`` holds (``extra``: the trainer's own entries)."""
        return {
            "algo": algo,
            "model": self.model.to_dict(),
            algo: self.settings.to_dict(),
            "levels": level_names(self.specs),
            "generated": self.generated,
            "difficulty": list(d) if isinstance(d := self.difficulty, tuple) else d,
            "length": self.length,
            "seed": self.seed,
            "level_pins": self.pins if self.pins is not None else pin_levels(self.specs),
            **extra,
        }


class RunFiles:
    """A trainer's files in its run directory: ``run.json``, the metrics lines (those a
    checkpoint kept, ``history``, then the session's) and the writer that appends them."""

    def __init__(self, out: str | Path, trainer: str, runinfo: dict[str, Any]) -> None:
        self.dir = RunDir(out)
        self.trainer = trainer
        self.runinfo = runinfo
        self.history: list[dict[str, Any]] = []
        self.writer: MetricsWriter | None = None
        self.run_id: str | None = None  # a resumed run's; None: made from run.json on open

    @property
    def lines(self) -> list[dict[str, Any]]:
        return self.writer.lines if self.writer is not None else self.history

    def open(self) -> None:
        """Create the directory (clearing temp files of killed writes), write ``run.json`` and
        the run id (a new run's from ``run.json``) and rewrite the metrics with ``history``
        (dropping lines written after the checkpoint)."""
        self.dir.open()
        self.run_id = self.run_id or run_id_for(self.runinfo)
        self.dir.write_run_id(self.run_id)
        self.dir.write_json(RUN_FILE, self.runinfo)
        self.writer = self.dir.metrics(self.trainer, self.history)

    def write(self, line: dict[str, Any]) -> dict[str, Any]:
        """Append a metrics line (and its TensorBoard scalars); returns it as written."""
        if self.writer is None:
            raise RuntimeError(f"the {self.trainer} run's files are not open (start() first)")
        return self.writer.write(line)

    def close(self) -> None:
        if self.writer is not None:
            self.history = self.writer.lines
            self.writer.close()
            self.writer = None


class RunTrainer:
    """What the PPO and BC trainers share: settings, levels, device, seed, the run's files, the
    progress display and the run's wall clock (resumes included). A trainer builds its model,
    optimizer and generators in ``build``, called last by ``__init__``."""

    TRAINER = "trainer"  # the metrics' "trainer"

    def __init__(
        self,
        mcfg: ModelConfig,
        cfg: Any,
        levels: list[Level],
        run: dict[str, Any],
        out: Path,
        device: torch.device,
        progress: bool,
        log: Callable[[str], None] | None,
    ) -> None:
        self.mcfg, self.cfg, self.levels = mcfg, cfg, levels
        self.files = RunFiles(out, self.TRAINER, dict(run))
        self.out, self.device, self.progress, self.log = self.files.dir.path, device, progress, log
        self.seed = int(run["seed"])
        self.bar = Progress(False, total=0)  # open_files() opens the run's
        self.t0, self.wall_before = time.perf_counter(), 0.0
        self.build()

    def build(self) -> None:
        """The trainer's own state (model, optimizer, generators, env)."""

    @property
    def metrics(self) -> list[dict[str, Any]]:
        """The run's metrics lines so far (those a checkpoint kept, then this session's)."""
        return self.files.lines

    def wall(self) -> float:
        return self.wall_before + (time.perf_counter() - self.t0)

    def open_files(self, **progress: Any) -> None:
        """Open the run's files (``RunFiles.open``) and its progress display (``Progress``
        arguments beside ``enabled`` and ``log``)."""
        self.files.open()
        self.bar = Progress(self.progress, log=self.log, **progress)

    def close(self) -> None:
        """Close the progress display and the metrics writer."""
        self.bar.close()
        self.files.close()

    def check_finite(self, iteration: int) -> None:
        """``TrainError`` if the model's weights hold NaN or an infinity after ``iteration``
        (a learning rate too large): the run stops before such a model is saved, keeping the
        last checkpoint and model."""
        bad = nonfinite_weight(self.model)  # type: ignore[attr-defined]
        if bad is not None:
            raise TrainError(
                f"{self.out}: training diverged at update {iteration} (weight {bad} is NaN or "
                "infinite); lower lr (the last checkpoint and model.pt are kept)"
            )


def plan_run(
    algo: str,
    cls: type,
    model_config: ModelConfig | None,
    settings: Any,
    *,
    levels: Sequence[str | Path | Level] | None,
    generated: int | None,
    difficulty: Difficulty,
    length: int,
    seed: int | None,
    out_dir: str | Path | None,
    resume: str | Path | None,
    run_files: Sequence[str],
    check_settings: bool = True,
) -> RunPlan:
    """A fresh run in ``out_dir`` (default ``runs/ALGO-DATE-TIME``) or the run ``resume`` with
    its own settings (``check_settings`` False: the caller compares ``settings`` itself).

    Levels default to ``["1-1"]`` unless ``generated``. On resume, Level objects given stand in
    for the level names the run recorded (levels made in memory). ``TrainError`` before
    anything is written: another run in ``out_dir``, nothing to resume, changed settings.
    """
    if resume is not None:
        given = {"levels": levels, "generated": generated, "seed": seed}
        out, saved, model, algo_settings = resume_settings(
            resume, out_dir, algo, cls, model_config, settings if check_settings else None, given
        )
        run = RunDir.resume(out, CHECKPOINT_FILE)
        checkpoint = load_checkpoint(out)
        run.check_run_id(checkpoint.get("run_id"), CHECKPOINT_FILE)
        plan = RunPlan(
            run,
            model,
            algo_settings,
            list(levels) if levels is not None else list(saved["levels"]),
            saved["generated"],
            tuple(d) if isinstance(d := saved["difficulty"], list) else d,
            saved["length"],
            saved["seed"],
            saved,
            checkpoint,
            saved.get("level_pins"),
        )
    else:
        out = Path(out_dir) if out_dir is not None else default_out(algo)
        specs = list(levels) if levels is not None else []
        if not specs and not generated:
            specs = ["1-1"]
        plan = RunPlan(
            RunDir.fresh(out, (CHECKPOINT_FILE, MODEL_FILE, MODEL_JSON, *run_files)),
            model_config or ModelConfig(),
            settings or cls(),
            specs,
            generated,
            difficulty,
            length,
            0 if seed is None else seed,
            None,
            None,
        )
    if plan.seed < 0:
        raise TrainError(f"seed must be >= 0, got {plan.seed}")
    return plan


def default_out(algo: str) -> Path:
    return Path("runs") / time.strftime(f"{algo}-%Y%m%d-%H%M%S")


def read_run_file(run_dir: Path, algo: str) -> dict[str, Any]:
    """``run.json`` of an ``algo`` run; ``TrainError`` if missing, unreadable or another's."""
    if not run_dir.is_dir():
        raise TrainError(f"{run_dir}: no such run directory to resume")
    path = run_dir / RUN_FILE
    try:
        run = parse_json(read_bounded(path, MAX_RUN_FILE_BYTES, RUN_FILE).decode("utf-8"))
    except FileNotFoundError:
        raise TrainError(
            f"{run_dir}: nothing to resume ({RUN_FILE} is missing); a run stopped before its "
            f"first checkpoint starts again with --out {run_dir}"
        ) from None
    except FileRefused as exc:
        raise TrainError(str(exc)) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise TrainError(f"{path}: unreadable ({exc})") from None
    if not isinstance(run, dict) or run.get("algo") != algo:
        got = run.get("algo") if isinstance(run, dict) else None
        raise TrainError(f"{run_dir}: a {got!r} run, not a {algo!r} run")
    return run


def resume_settings(
    resume: str | Path,
    out_dir: str | Path | None,
    algo: str,
    cls: type,
    model_config: ModelConfig | None,
    algo_config: Any,
    given: dict[str, Any],
) -> tuple[Path, dict[str, Any], ModelConfig, Any]:
    """The run directory, its ``run.json`` and its model and algorithm settings, for a resume.

    Settings passed in (``model_config``, ``algo_config`` and the ``given`` levels, generated
    count and seed; None means "the run's own") must equal the run's. Raises ``TrainError``
    naming the first that differs.
    """
    out = Path(resume)
    if out_dir is not None and Path(out_dir).resolve() != out.resolve():
        raise TrainError("out_dir and resume name different directories; give resume only")
    run = read_run_file(out, algo)
    source = str(out / RUN_FILE)
    try:
        saved_model = ModelConfig.from_dict(run["model"], source)
        saved_algo = cls.from_dict(run[algo], source)
    except KeyError as exc:
        raise TrainError(f"{source}: no {exc.args[0]!r} settings") from None
    levels = given.get("levels")
    if levels is not None:
        given = {**given, "levels": level_names(levels)}
    saved = {"model": saved_model, algo: saved_algo, **{k: run.get(k) for k in given}}
    given = {"model": model_config, algo: algo_config, **given}
    for key, value in given.items():
        if value is not None and value != saved[key]:
            raise TrainError(
                f"{out}: the run was trained with other {key} settings; they cannot change "
                "on resume (start a new run instead)"
            )
    return out, run, saved_model, saved_algo


def load_checkpoint(out: Path) -> dict[str, Any]:
    """The run's latest checkpoint (tensors only, no pickled objects), or ``TrainError``."""
    path = out / CHECKPOINT_FILE
    if not path.is_file():
        raise TrainError(f"{out}: nothing to resume ({CHECKPOINT_FILE} is missing)")
    try:
        ck = torch.load(io.BytesIO(path.read_bytes()), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a corrupt file
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise TrainError(f"{path}: unreadable checkpoint ({first})") from None
    if not isinstance(ck, dict):
        raise TrainError(f"{path}: not a checkpoint of this project")
    return ck


def checkpoint_error(out: Path, exc: BaseException) -> TrainError:
    """The one-line error of a checkpoint whose contents do not fit the run."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return TrainError(f"{out / CHECKPOINT_FILE}: does not fit this run ({first})")


def cpu_state_dict(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu() for k, v in module.state_dict().items()}


def rng_states(rngs: Sequence[np.random.Generator]) -> list[dict[str, Any]]:
    return [r.bit_generator.state for r in rngs]


def set_rng_states(rngs: Sequence[np.random.Generator], states: list[dict[str, Any]]) -> None:
    for r, s in zip(rngs, states, strict=True):
        r.bit_generator.state = s


def upgrade_metrics(
    lines: Sequence[dict[str, Any]], trainer: str, renames: dict[str, str], **defaults: Any
) -> list[dict[str, Any]]:
    """Metrics lines of a checkpoint written before the shared keys (``agent.runs``): keys
    renamed (old -> new), ``trainer`` first, missing shared keys from ``defaults`` or None.
    Lines that already carry ``trainer`` are kept as they are."""
    out = []
    for line in lines:
        if "trainer" in line:
            out.append(dict(line))
            continue
        new = {"trainer": trainer, **{renames.get(k, k): v for k, v in line.items()}}
        for key in SHARED_KEYS:
            new.setdefault(key, defaults.get(key))
        out.append(new)
    return out
