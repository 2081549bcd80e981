"""NEAT training loop: neat-python genetics, the batched population evaluator, run files.

``train(settings)`` evolves a population generation by generation:

1. the generation's levels: the fixed training levels, plus ``generated`` fresh generated levels
   from a seed schedule derived from the run seed (``level_seed(seed, generation, i)``), at a
   difficulty that, with a ``curriculum``, starts low and rises as the best genome finishes them;
2. every genome on every level at once (``agent.neat.evaluator.PopulationEvaluator``), in this
   process or sharded over local processes or a Ray cluster (``agent.neat.backends``: the
   results are identical);
3. bookkeeping: ``metrics.jsonl`` gets a line, ``champion.json`` is rewritten when the best
   fitness so far improves (with ``validation`` levels: when the best score so far on a fixed set
   of held-out generated levels improves), a progress bar and a one-line summary are printed;
4. neat-python's reproduction (stagnation, fitness sharing, elitism, crossover, mutation) and
   speciation make the next generation; every ``checkpoint_every`` generations (and at the end)
   ``checkpoint-latest.pkl`` is written.

The loop is neat-python's ``Population.run`` unrolled, so the trainer can stop when the champion
completes every training level and checkpoint between generations. Determinism: neat-python
draws from the global ``random`` module; ``neat.Population(config, seed=seed)`` seeds it and
checkpoints store its state, so the same settings give the same champion, resumed or not.

Every problem with the inputs (config, levels, checkpoint, champion, device, out dir) is found
before anything is written and raised as a ``ValueError`` subclass with a one-line message:
``ConfigError``, ``ConfigMismatch``, ``LevelError``, ``CheckpointError``, ``ChampionError``
or ``TrainError``.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

import neat
import numpy as np

from agent.files import atomic_write_text
from agent.neat.backends import BACKENDS, Backend, BackendError, EvaluatorFactory, make_backend
from agent.neat.champion import (
    ChampionError,
    ConfigError,
    config_from_text,
    load_champion,
    read_config_file,
    save_champion,
)
from agent.neat.checkpoint import (
    CheckpointError,
    TrainState,
    capture_state,
    load_checkpoint,
    restore_population,
    save_checkpoint,
)
from agent.neat.evaluator import (
    ConfigMismatch,
    Evaluation,
    FitnessSettings,
    PopulationEvaluator,
    check_config_matches,
)
from envs.levels.generator import generate_level
from envs.levels.level import Level, LevelError, load_level

__all__ = [
    "CHAMPION_FILE",
    "CHECKPOINT_FILE",
    "CONFIG_FILE",
    "DEFAULT_CONFIG",
    "METRICS_FILE",
    "ChampionError",
    "CheckpointError",
    "ConfigError",
    "ConfigMismatch",
    "LevelError",
    "TrainError",
    "TrainResult",
    "TrainSettings",
    "eval_backend",
    "level_seed",
    "next_difficulty",
    "validation_seed",
    "load_run_settings",
    "train",
]

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "neat.ini"
CHAMPION_FILE = "champion.json"
METRICS_FILE = "metrics.jsonl"
CHECKPOINT_FILE = "checkpoint-latest.pkl"
CONFIG_FILE = "config.ini"
RUN_FILES = (CHAMPION_FILE, METRICS_FILE, CHECKPOINT_FILE)

#: Settings that define what a run optimises; a resumed run must keep them.
RUN_FIELDS = (
    "env",
    "levels",
    "generated",
    "difficulty",
    "generated_length",
    "seed",
    "aggregate",
    "fitness",
    "validation",
    "curriculum",
    "curriculum_step",
    "curriculum_share",
)

#: With validation levels, this many of each generation's best genomes (by training fitness)
#: play them, and the best of those on the validation levels may become the champion.
VALIDATION_CANDIDATES = 5
#: What the champion records of its validation (in ``champion.json``'s ``extra``).
VALIDATION_KEYS = ("validation_fitness", "validation_completed")

#: Metrics keys that measure time rather than evolution (they differ between identical runs).
TIMING_KEYS = ("wall_seconds", "eval_seconds", "frames_per_second")

#: Environments a run can train on: the built-in world, or the real game in the NES emulator.
ENVS = ("world", "smb")


class TrainError(ValueError):
    """Training cannot start (or go on); the message is one line."""


@dataclass
class TrainSettings:
    """What to train on and how. ``levels`` are built-in names or level file paths (with
    ``env="smb"``: Super Mario Bros. stages such as ``"1-1"``)."""

    levels: list[str] = field(default_factory=lambda: ["1-1"])
    env: str = "world"  # "world": the built-in platformer; "smb": the real game (nes extra)
    generated: int | None = None  # fresh generated levels per generation (None: none)
    difficulty: float = 0.3  # of the generated levels, in [0, 1]
    generated_length: int = 150  # columns of each generated level
    generations: int = 100  # stop after this many generations in all (resumes included)
    max_frames: int | None = None  # also stop once this many frames were simulated in all
    config: str | Path | None = None  # NEAT config file; None: configs/neat.ini (or, when
    # resuming, the config text stored in the checkpoint)
    seed: int = 0
    out: str | Path = "runs/neat"
    checkpoint_every: int = 5
    device: str = "cpu"  # "cuda" (or "cuda:N") evaluates with the torch backend
    backend: str | None = None  # where genomes are evaluated: "local", "processes" or "ray";
    # None: local, or processes when workers > 1 (the meaning of workers before backends)
    workers: int | None = None  # processes (default: the CPU count) or Ray shards (default: the
    # cluster's CPUs); local takes 1
    ray_address: str | None = None  # ray: "auto" or "ray://HOST:10001"; None starts a local Ray
    aggregate: str = "mean"  # fitness over several levels: "mean" or "min"
    stop_when_solved: bool = True  # stop once the champion completes every training level
    fitness: FitnessSettings = field(default_factory=FitnessSettings)  # its aggregate is
    # replaced by ``aggregate``
    validation: int | None = None  # held-out generated levels that choose the champion (None:
    # none, the champion is the best by training fitness)
    curriculum: float | None = None  # start difficulty of the generated levels, raised to
    # ``difficulty`` (None: ``difficulty`` from the start)
    curriculum_step: float = 0.05  # the difficulty rises by this much ...
    curriculum_share: float = 0.5  # ... after a generation whose best genome finished at least
    # this share of the generated levels

    def fitness_settings(self) -> FitnessSettings:
        return dataclasses.replace(self.fitness, aggregate=self.aggregate)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["config"] = None if self.config is None else str(self.config)
        d["out"] = str(self.out)
        d["levels"] = [str(x) for x in self.levels]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainSettings:
        known = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        if isinstance(kw.get("fitness"), dict):
            kw["fitness"] = FitnessSettings(**kw["fitness"])
        return cls(**kw)


@dataclass
class TrainResult:
    out: Path
    champion_path: Path | None
    champion_fitness: float | None
    champion_generation: int | None
    champion_completed: int  # training levels the champion completed
    champion_levels: int  # training levels it was evaluated on
    generations: int  # generations evaluated in all, resumes included
    solved: bool
    metrics: list[dict[str, Any]]
    frames_simulated: int
    wall_seconds: float
    resumed_from: int | None = None  # the generation the run resumed at
    levels: list[str] = field(default_factory=list)  # the fixed training levels


def eval_backend(s: TrainSettings) -> str:
    """The evaluation backend the settings ask for (``backend`` None: local, or processes when
    ``workers`` > 1; on the real game, processes unless ``workers`` is 1)."""
    if s.backend is not None:
        return s.backend
    if s.env == "smb":  # the emulator is the cost: spread it over every core by default
        return "local" if s.workers == 1 else "processes"
    return "processes" if (s.workers or 1) > 1 else "local"


def level_seed(run_seed: int, generation: int, index: int) -> int:
    """Seed of generated level ``index`` of ``generation``: a 32-bit hash of the three numbers."""
    return int(np.random.SeedSequence([run_seed, generation, index]).generate_state(1)[0])


def validation_seed(run_seed: int, index: int) -> int:
    """Seed of held-out validation level ``index``: a 32-bit hash kept apart from the training
    schedule (a spawned child of the run seed), so no generation trains on a validation level."""
    seq = np.random.SeedSequence([run_seed, index], spawn_key=(1,))
    return int(seq.generate_state(1)[0])


def next_difficulty(s: TrainSettings, difficulty: float, finished_share: float) -> float:
    """The curriculum's difficulty for the next generation: one ``curriculum_step`` higher (at
    most ``difficulty``) when the generation's best finished ``curriculum_share`` of its
    generated levels, else unchanged. Rounded to 6 places so steps never drift."""
    if s.curriculum is None or finished_share < s.curriculum_share:
        return difficulty
    return round(min(s.difficulty, difficulty + s.curriculum_step), 6)


def load_run_settings(run_dir: str | Path) -> TrainSettings:
    """The settings stored in a run's latest checkpoint (``config`` left None: the checkpoint's
    own config text is used on resume unless another config is given)."""
    state = load_checkpoint(_checkpoint_path(Path(run_dir)))
    settings = TrainSettings.from_dict(state.settings)
    return dataclasses.replace(settings, config=None, out=str(run_dir))


def _checkpoint_path(run_dir: Path) -> Path:
    if not run_dir.is_dir():
        raise TrainError(f"{run_dir}: no such run directory to resume")
    path = run_dir / CHECKPOINT_FILE
    if not path.is_file():
        raise TrainError(f"{run_dir}: nothing to resume ({CHECKPOINT_FILE} is missing)")
    return path


# --------------------------------------------------------------------------------------------
# Preparation: every check, no writes
# --------------------------------------------------------------------------------------------


@dataclass
class _Plan:
    settings: TrainSettings
    out: Path
    config: neat.Config
    config_text: str
    config_changed: bool  # write config.ini (fresh run, or a new config on resume)
    fitness: FitnessSettings
    fixed_levels: list[Level]
    state: TrainState | None  # the checkpoint, when resuming
    validation_levels: list[Level] = field(default_factory=list)  # held out, fixed for the run


def _validate_settings(s: TrainSettings) -> None:
    if s.generations < 1:
        raise TrainError(f"generations must be at least 1, got {s.generations}")
    if s.checkpoint_every < 1:
        raise TrainError(f"checkpoint_every must be at least 1, got {s.checkpoint_every}")
    if s.max_frames is not None and s.max_frames < 1:
        raise TrainError(f"max_frames must be at least 1, got {s.max_frames}")
    _validate_backend(s)
    if s.seed < 0:
        raise TrainError(f"seed must be >= 0, got {s.seed}")
    if s.generated is not None:
        if s.generated < 1:
            raise TrainError(f"generated must be at least 1 level, got {s.generated}")
    if (s.generated or s.validation) and not 0.0 <= s.difficulty <= 1.0:
        raise TrainError(f"difficulty must be within [0, 1], got {s.difficulty}")
    _validate_generalisation(s)
    if not s.levels and not s.generated:
        raise TrainError("no training levels: give levels, generated levels, or both")
    if s.env not in ENVS:
        raise TrainError(f"unknown env {s.env!r}; choose one of {', '.join(ENVS)}")
    if s.env == "smb":
        _validate_smb(s)
    if s.aggregate not in ("mean", "min"):
        raise TrainError(f"aggregate must be 'mean' or 'min', got {s.aggregate!r}")
    _device(s)  # the same rules as train.py lstm: auto, cpu, cuda, cuda:N


def _validate_generalisation(s: TrainSettings) -> None:
    """Validation levels and the difficulty curriculum (both about generated levels)."""
    if s.validation is not None and s.validation < 1:
        raise TrainError(f"validation must be at least 1 level, got {s.validation}")
    if s.curriculum is None:
        return
    if not s.generated:
        raise TrainError("a curriculum raises the difficulty of generated levels; give generated")
    if not 0.0 <= s.curriculum <= s.difficulty:
        raise TrainError(
            f"curriculum start must be within [0, difficulty = {s.difficulty}], got {s.curriculum}"
        )
    if not 0.0 < s.curriculum_step <= 1.0:
        raise TrainError(f"curriculum_step must be within (0, 1], got {s.curriculum_step}")
    if not 0.0 < s.curriculum_share <= 1.0:
        raise TrainError(f"curriculum_share must be within (0, 1], got {s.curriculum_share}")


def _validate_smb(s: TrainSettings) -> None:
    """The real game: stage names, no generated levels, and the nes extra installed."""
    from envs.smb.console import NES_EXTRA_HINT, nes_available
    from envs.smb.ram import parse_stage

    if s.generated or s.validation:
        raise TrainError("generated levels are the built-in world's; the real game has stages")
    for name in s.levels:
        try:
            parse_stage(str(name))
        except ValueError as exc:
            raise TrainError(str(exc)) from None
    if not nes_available():
        raise TrainError(NES_EXTRA_HINT)


def _validate_backend(s: TrainSettings) -> None:
    if s.backend is not None and s.backend not in BACKENDS:
        raise TrainError(f"unknown backend {s.backend!r}; choose one of {', '.join(BACKENDS)}")
    if s.workers is not None and s.workers < 1:
        raise TrainError(f"workers must be at least 1, got {s.workers}")
    backend = eval_backend(s)
    if backend == "local" and (s.workers or 1) > 1:
        raise TrainError(
            f"the local backend evaluates in this process; {s.workers} workers need the "
            "processes or ray backend"
        )
    if s.ray_address is not None and backend != "ray":
        raise TrainError(f"a Ray address is for the ray backend, not {backend!r}")
    if backend == "ray":
        if s.device != "cpu":
            raise TrainError("the ray backend evaluates on the workers' CPUs; use device cpu")
        try:
            import ray  # noqa: F401
        except ImportError:
            raise TrainError('the ray backend needs Ray: pip install -e ".[ray]"') from None


def _device(s: TrainSettings) -> str:
    """The evaluation device, resolved (``auto`` is CUDA when present)."""
    if s.device == "cpu":
        return "cpu"  # without importing torch
    from agent.rnn.model import DeviceError, resolve_device

    try:
        return str(resolve_device(s.device))
    except DeviceError as exc:
        raise TrainError(str(exc)) from None


def _check_config(config: neat.Config, source: str, fitness: FitnessSettings) -> None:
    try:
        check_config_matches(config, fitness.view_radius)
    except ConfigMismatch as exc:
        raise ConfigMismatch(f"{source}: {exc}") from None


def _prepare(settings: TrainSettings, resume: Path | None) -> _Plan:
    s = settings
    _validate_settings(s)
    try:
        fitness = s.fitness_settings()
    except ValueError as exc:
        raise TrainError(f"fitness settings: {exc}") from None

    state = None
    if resume is not None:
        out = Path(resume)
        ckpt = _checkpoint_path(out)
        state = load_checkpoint(ckpt)
        saved = TrainSettings.from_dict(state.settings)
        for name in RUN_FIELDS:
            have, want = getattr(s, name), getattr(saved, name)
            if name == "levels":
                have, want = [str(x) for x in have], [str(x) for x in want]
            if have != want:
                raise TrainError(
                    f"{out}: the run was trained with {name} = {want!r}; it cannot change to "
                    f"{have!r} on resume (start a new run instead)"
                )
        if s.config is None:
            text, source = state.config_text, f"{ckpt} (its stored config)"
        else:
            text, source = read_config_file(s.config), str(s.config)
    else:
        out = Path(s.out)
        taken = [name for name in RUN_FILES if (out / name).exists()]
        if taken:
            raise TrainError(
                f"{out} already holds a training run ({taken[0]}); continue it with "
                f"--resume {out} or choose another --out"
            )
        path = Path(s.config) if s.config is not None else DEFAULT_CONFIG
        text, source = read_config_file(path), str(path)

    config = config_from_text(text, source)
    _check_config(config, source, fitness)
    if state is not None:
        _check_resume_compatible(out, state, config, source, fitness)

    fixed = _fixed_levels(s)
    if s.generated:
        start = state.generation if state is not None else 0
        try:
            generate_level(level_seed(s.seed, start, 0), s.difficulty, s.generated_length)
        except ValueError as exc:
            raise TrainError(f"generated levels: {exc}") from None
    changed = state is None or text != state.config_text
    validation = _validation_levels(s)
    return _Plan(s, out, config, text, changed, fitness, fixed, state, validation)


def _validation_levels(s: TrainSettings) -> list[Level]:
    """The run's held-out validation levels, at the final difficulty (none without validation)."""
    seeds = [validation_seed(s.seed, i) for i in range(s.validation or 0)]
    try:
        return [generate_level(x, s.difficulty, s.generated_length) for x in seeds]
    except ValueError as exc:
        raise TrainError(f"validation levels: {exc}") from None


def _fixed_levels(s: TrainSettings) -> list:
    """The training levels: ``Level`` objects, or stage names (``"1-1"``) on the real game."""
    if s.env == "smb":
        from envs.smb.ram import parse_stage

        return ["{}-{}".format(*parse_stage(str(name))) for name in s.levels]
    return [load_level(name) for name in s.levels]


def _check_resume_compatible(
    out: Path, state: TrainState, config: neat.Config, source: str, fitness: FitnessSettings
) -> None:
    """A config replacing the checkpoint's must fit its genomes (and the run's champion)."""
    saved = config_from_text(state.config_text, f"{out / CHECKPOINT_FILE} (its stored config)")
    gc, old = config.genome_config, saved.genome_config
    for name in ("num_inputs", "num_outputs", "feed_forward"):
        if getattr(gc, name) != getattr(old, name):
            raise ConfigError(
                f"{source}: {name} = {getattr(gc, name)} does not match the run being resumed "
                f"({name} = {getattr(old, name)})"
            )
    for genome in state.population.values():
        for ng in genome.nodes.values():
            if not gc.activation_defs.is_valid(ng.activation):
                raise ConfigError(
                    f"{source}: the run's genomes use activation {ng.activation!r}, which this "
                    "config does not define"
                )
            if not gc.aggregation_function_defs.is_valid(ng.aggregation):
                raise ConfigError(
                    f"{source}: the run's genomes use aggregation {ng.aggregation!r}, which this "
                    "config does not define"
                )
    champ_path = out / CHAMPION_FILE
    if champ_path.exists():
        champ = load_champion(champ_path, view_radius=fitness.view_radius)
        for name in ("num_inputs", "num_outputs", "feed_forward"):
            have, want = getattr(champ.config.genome_config, name), getattr(gc, name)
            if have != want:
                raise ChampionError(
                    f"{champ_path}: evolved with {name} = {have}, incompatible with the config "
                    f"being resumed ({name} = {want})"
                )


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


def train(
    settings: TrainSettings,
    *,
    resume: str | Path | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> TrainResult:
    """Evolve (or, with ``resume`` = a run directory, continue evolving) and return the result.

    With ``resume``, the run-defining settings (``RUN_FIELDS``) must equal the checkpoint's;
    ``generations`` counts all generations, so resuming a 10-generation run with
    ``generations=20`` runs 10 more. ``progress`` shows a tqdm bar and a one-line summary per
    generation (``log`` receives the summary lines instead of stdout when given).
    """
    plan = _prepare(settings, Path(resume) if resume is not None else None)
    return _Run(plan, progress, log).run()


class _Run:
    def __init__(self, plan: _Plan, progress: bool, log: Callable[[str], None] | None) -> None:
        self.plan = plan
        self.s = plan.settings
        self.out = plan.out
        self.progress = progress
        self.log = log

    # -- files -----------------------------------------------------------------------------

    def _env_settings(self) -> dict[str, Any]:
        s = self.s
        return {
            **dataclasses.asdict(self.plan.fitness),
            "env": s.env,
            "levels": [str(x) for x in s.levels],
            "generated": s.generated,
            "difficulty": s.difficulty if s.generated else None,
            "generated_length": s.generated_length if s.generated else None,
            # only when used, so the champion files of other runs stay as they were
            **({"curriculum": s.curriculum} if s.curriculum is not None else {}),
            **({"validation": s.validation} if s.validation else {}),
        }

    def _save_champion(self, champ: dict[str, Any]) -> None:
        save_champion(
            self.out / CHAMPION_FILE,
            champ["genome"],
            self.plan.config,
            champ["config_text"],
            fitness=champ["fitness"],
            generation=champ["generation"],
            env_settings=self._env_settings(),
            extra={
                "trainer": "neat",
                "seed": self.s.seed,
                "levels_evaluated": champ["levels"],
                "level_fitness": champ["level_fitness"],
                "completed": champ["completed"],
                **{k: champ[k] for k in VALIDATION_KEYS if k in champ},
            },
        )

    def _write_metrics(self, metrics: list[dict[str, Any]]) -> None:
        text = "".join(json.dumps(m) + "\n" for m in metrics)
        atomic_write_text(self.out / METRICS_FILE, text)

    def _checkpoint(self, pop: neat.Population) -> None:
        trainer = {
            "metrics": self.metrics,
            "champion": self.champion,
            "frames_simulated": self.frames_simulated,
            "wall_seconds": self._wall(),
            "solved": self.solved,
            "difficulty": self.difficulty,
            "level_schedule": {"seed": self.s.seed, "next_generation": pop.generation},
        }
        state = capture_state(pop, self.plan.config_text, self.s.to_dict(), trainer)
        save_checkpoint(self.out / CHECKPOINT_FILE, state)

    def _wall(self) -> float:
        return self.wall_before + (time.perf_counter() - self.t0)

    def _budget_spent(self) -> bool:
        """The frame budget (``max_frames``) is used up; the generation that crosses it ends."""
        return self.s.max_frames is not None and self.frames_simulated >= self.s.max_frames

    # -- levels ----------------------------------------------------------------------------

    def _levels_for(self, generation: int) -> tuple[list[Level], list[int]]:
        s = self.s
        levels = list(self.plan.fixed_levels)
        seeds = []
        if s.generated:
            seeds = [level_seed(s.seed, generation, i) for i in range(s.generated)]
            levels += [generate_level(x, self.difficulty, s.generated_length) for x in seeds]
        return levels, seeds

    # -- main loop -------------------------------------------------------------------------

    def run(self) -> TrainResult:
        plan, s = self.plan, self.s
        config = plan.config
        self.t0 = time.perf_counter()
        resumed_from = None
        if plan.state is None:
            pop = neat.Population(config, seed=s.seed)
            t = {"metrics": [], "champion": None, "frames_simulated": 0, "wall_seconds": 0.0}
            t["solved"] = False
        else:
            pop = restore_population(plan.state, config)
            t = plan.state.trainer
            resumed_from = pop.generation
        self.metrics: list[dict[str, Any]] = list(t["metrics"])
        self.champion: dict[str, Any] | None = t["champion"]
        self.frames_simulated: int = t["frames_simulated"]
        self.wall_before: float = t["wall_seconds"]
        self.solved: bool = t["solved"]
        start = s.difficulty if s.curriculum is None else s.curriculum
        self.difficulty: float = t.get("difficulty", start)  # the curriculum's current one
        self.validator = None
        if plan.validation_levels:  # a few genomes a generation: in this process, on the CPU
            self.validator = PopulationEvaluator(plan.validation_levels, plan.fitness)
        finished = pop.generation >= s.generations or (self.solved and s.stop_when_solved)
        # neat-python's genetics draw from the global ``random``; whatever starting a backend or
        # evaluating draws from it (ray.init does) must not change the run.
        rng = random.getstate()
        finished = finished or self._budget_spent()
        # The backend (a pool, a Ray connection) starts before anything is written: a cluster
        # that cannot be reached leaves the run directory as it was.
        backend = None if finished else self._start_backend(pop.generation)
        random.setstate(rng)
        try:
            return self._run(pop, backend, resumed_from)
        finally:
            if backend is not None:
                backend.close()

    def _start_backend(self, generation: int) -> Backend:
        s, plan = self.s, self.plan
        levels, _ = self._levels_for(generation)
        net = {"net_backend": "numpy" if _device(s) == "cpu" else "torch", "device": _device(s)}
        evaluator_class: type = PopulationEvaluator
        if s.env == "smb":
            from agent.neat.smb_evaluator import SmbPopulationEvaluator

            evaluator_class = SmbPopulationEvaluator
        factory = EvaluatorFactory(evaluator_class, (levels, plan.fitness), net)
        try:
            return make_backend(eval_backend(s), factory, workers=s.workers, address=s.ray_address)
        except BackendError as exc:
            raise TrainError(str(exc)) from None

    def _run(
        self, pop: neat.Population, evaluator: Backend | None, resumed_from: int | None
    ) -> TrainResult:
        plan, s, out = self.plan, self.s, self.out
        out.mkdir(parents=True, exist_ok=True)
        if plan.config_changed:
            atomic_write_text(out / CONFIG_FILE, plan.config_text)
        # On resume, drop what was written after the checkpoint: the run replays it exactly.
        self._write_metrics(self.metrics)
        if plan.state is not None and self.champion is not None:
            self._save_champion(self.champion)

        if evaluator is None:  # nothing left to do
            return self._result(pop, resumed_from)
        if resumed_from is None:
            # A checkpoint of the starting population: a run stopped before its first regular
            # checkpoint can still be resumed instead of blocking its directory.
            self._checkpoint(pop)
        start = "training" if resumed_from is None else f"resuming at generation {resumed_from}:"
        where = evaluator.name
        if evaluator.name != "local":
            where += f", {evaluator.workers} workers"
        self._say(
            f"{start} NEAT in {out} ({where}; Ctrl-C stops; the last checkpoint can be resumed)"
        )
        bar = None
        if self.progress:
            from tqdm import tqdm

            bar = tqdm(
                total=s.generations,
                initial=pop.generation,
                desc="neat",
                unit="gen",
                file=sys.stderr,
                dynamic_ncols=True,
            )
        try:
            while pop.generation < s.generations:
                self._generation(pop, evaluator, bar)
                done = (self.solved and s.stop_when_solved) or self._budget_spent()
                last = done or pop.generation >= s.generations
                if last or pop.generation % s.checkpoint_every == 0:
                    self._checkpoint(pop)
                if done:
                    break
        finally:
            if bar is not None:
                bar.close()
        return self._result(pop, resumed_from)

    def _generation(self, pop: neat.Population, evaluator: Backend, bar: Any) -> None:
        s, config = self.s, self.plan.config
        gen = pop.generation
        t_start = time.perf_counter()
        levels, seeds = self._levels_for(gen)
        if s.generated:
            evaluator.set_levels(levels)
        pop.reporters.start_generation(gen)

        genomes = list(pop.population.items())
        gc = config.genome_config
        next_node = None if gc.node_indexer is None else next(gc.node_indexer)
        t_eval = time.perf_counter()
        rng = random.getstate()
        ev: Evaluation = evaluator.evaluate(genomes, config)
        random.setstate(rng)  # evolution's random stream is the same on every backend
        eval_seconds = time.perf_counter() - t_eval
        # Evaluation never adds nodes; undo any counter advance from pickling the config into
        # worker processes or Ray (see agent.neat.checkpoint).
        gc.node_indexer = None if next_node is None else count(next_node)
        for (_, genome), fit in zip(genomes, ev.fitness, strict=True):
            genome.fitness = float(fit)

        best_i = 0  # neat-python's choice: the first genome of the highest fitness
        for i, (_, genome) in enumerate(genomes):
            if genome.fitness > genomes[best_i][1].fitness:
                best_i = i
        best = genomes[best_i][1]
        pop.reporters.post_evaluate(config, pop.population, pop.species, best)
        if pop.best_genome is None or best.fitness > pop.best_genome.fitness:
            pop.best_genome = best

        names = [getattr(lv, "name", str(lv)) for lv in levels]
        validation = self._validate(genomes, ev) if self.validator is not None else None
        if validation is not None:
            cand_i, cand_fitness, cand_completed = validation
            better = self.champion is None or cand_fitness > self.champion["validation_fitness"]
        else:
            cand_i = best_i
            better = self.champion is None or best.fitness > self.champion["fitness"]
        if better:
            cand = genomes[cand_i][1]
            self.champion = {
                "genome": copy.deepcopy(cand),
                "fitness": cand.fitness,
                "generation": gen,
                "levels": names,
                "level_fitness": [float(x) for x in ev.level_fitness[cand_i]],
                "completed": [bool(x) for x in ev.completed[cand_i]],
                "config_text": self.plan.config_text,  # the config it was evolved with
            }
            if validation is not None:
                self.champion["validation_fitness"] = cand_fitness
                self.champion["validation_completed"] = cand_completed
            self._save_champion(self.champion)
        self.solved = all(self.champion["completed"]) and all(
            self.champion.get("validation_completed", [True])
        )
        self.frames_simulated += int(ev.frames_simulated)
        difficulty = self.difficulty
        n_fixed = len(self.plan.fixed_levels)
        if s.generated:
            share = float(ev.completed[best_i, n_fixed:].mean())
            self.difficulty = next_difficulty(s, self.difficulty, share)

        nodes, conns = best.size()
        all_done = ev.completed.all(axis=1)
        metrics = {
            "generation": gen,
            "best_fitness": float(best.fitness),
            "mean_fitness": float(np.mean(ev.fitness)),
            "median_fitness": float(np.median(ev.fitness)),
            "completion_rate": float(all_done.mean()),
            "best_completed": int(ev.completed[best_i].sum()),
            "max_rightmost": float(ev.rightmost.max()),  # the farthest any genome got, px
            "levels": len(levels),
            "champion_fitness": float(self.champion["fitness"]),
            "champion_generation": int(self.champion["generation"]),
            "species": len(pop.species.species),
            "best_nodes": int(nodes),
            "best_connections": int(conns),
            "frames": int(ev.frames_simulated),
            "frames_simulated": self.frames_simulated,
            "eval_seconds": round(eval_seconds, 4),
            "frames_per_second": round(ev.frames_simulated / max(eval_seconds, 1e-9), 1),
            "wall_seconds": round(self._wall(), 4),
        }
        if seeds:
            metrics["level_seeds"] = seeds
            metrics["difficulty"] = difficulty
        if validation is not None:
            metrics["validation_fitness"] = validation[1]  # the best candidate's, this generation
            metrics["validation_completed"] = sum(validation[2])
            metrics["champion_validation_fitness"] = self.champion["validation_fitness"]
        self.metrics.append(metrics)
        with open(self.out / METRICS_FILE, "a", encoding="utf-8") as f:
            f.write(json.dumps(metrics) + "\n")
        self._report(metrics, bar, time.perf_counter() - t_start)

        # The next generation, exactly as neat.Population.run makes it.
        try:
            pop.population = pop.reproduction.reproduce(config, pop.species, config.pop_size, gen)
        except RuntimeError as exc:
            raise TrainError(
                f"generation {gen}: neat-python cannot reproduce: {' '.join(str(exc).split())} "
                "(too many species for pop_size? raise compatibility_threshold)"
            ) from None
        if not pop.species.species:
            pop.reporters.complete_extinction()
            if not config.reset_on_extinction:
                raise TrainError(
                    f"generation {gen}: every species went extinct (stagnation); set "
                    "reset_on_extinction = True or species_elitism > 0 in the config"
                )
            pop.population = pop.reproduction.create_new(
                config.genome_type, config.genome_config, config.pop_size
            )
        pop.species.speciate(config, pop.population, gen)
        pop.reporters.end_generation(config, pop.population, pop.species)
        pop.generation += 1

    def _validate(
        self, genomes: list[tuple[int, Any]], ev: Evaluation
    ) -> tuple[int, float, list[bool]]:
        """Play the generation's ``VALIDATION_CANDIDATES`` best genomes (by training fitness,
        first ones on ties) on the validation levels; return the index of the best of them
        there (the first on ties), its validation fitness and the levels it finished."""
        order = sorted(range(len(genomes)), key=lambda i: -ev.fitness[i])
        cands = order[:VALIDATION_CANDIDATES]
        assert self.validator is not None
        rng = random.getstate()
        vev = self.validator.evaluate([genomes[i] for i in cands], self.plan.config)
        random.setstate(rng)
        self.frames_simulated += int(vev.frames_simulated)
        j = int(np.argmax(vev.fitness))
        return cands[j], float(vev.fitness[j]), [bool(x) for x in vev.completed[j]]

    def _say(self, line: str) -> None:
        if not self.progress:
            return
        if self.log is not None:
            self.log(line)
        else:
            print(line, flush=True)

    def _report(self, m: dict[str, Any], bar: Any, seconds: float) -> None:
        if not self.progress:
            return
        line = (
            f"gen {m['generation']:4d}  best {m['best_fitness']:8.1f}  "
            f"mean {m['mean_fitness']:8.1f}  "
            f"best done {m['best_completed']}/{m['levels']}  "
            f"pop done {100 * m['completion_rate']:5.1f}%  "
            f"species {m['species']:3d}  "
            f"nodes {m['best_nodes']:3d} links {m['best_connections']:3d}  "
            f"{m['frames_per_second'] / 1000:7.1f}k frames/s  {seconds:5.2f} s"
        )
        if self.log is not None:
            self.log(line)
        elif bar is not None:
            bar.write(line, file=sys.stdout)
        if bar is not None:
            bar.set_postfix(best=f"{m['champion_fitness']:.0f}", refresh=False)
            bar.update(1)

    def _result(self, pop: neat.Population, resumed_from: int | None) -> TrainResult:
        champ = self.champion
        path = self.out / CHAMPION_FILE
        return TrainResult(
            out=self.out,
            champion_path=path if champ is not None else None,
            champion_fitness=None if champ is None else float(champ["fitness"]),
            champion_generation=None if champ is None else int(champ["generation"]),
            champion_completed=0 if champ is None else sum(champ["completed"]),
            champion_levels=0 if champ is None else len(champ["completed"]),
            generations=len(self.metrics),
            solved=self.solved,
            metrics=self.metrics,
            frames_simulated=self.frames_simulated,
            wall_seconds=self._wall(),
            resumed_from=resumed_from,
            levels=[str(x) for x in self.s.levels],
        )
