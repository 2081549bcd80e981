"""What a NEAT training run is asked to do, checked in full before anything is written.

* ``TrainSettings``: the levels (fixed, generated each generation, held-out validation levels,
  a difficulty curriculum), the budget (generations, frames), the config, the seed, where
  genomes are evaluated (``agent.neat.backends``) and the fitness settings.
* The level schedule: ``level_seed`` (generated level ``i`` of a generation), or with a
  ``level_pool`` ``pool_seed`` (the pool's levels) and ``generation_seeds`` (the generation's
  draw from it), ``validation_seed`` (kept apart from every training seed) and
  ``next_difficulty`` (the curriculum's step).
* ``prepare(settings, resume)``: every check of the inputs (settings, config, levels,
  checkpoint, champion, device, run directory) with no write; the ``Plan`` it returns is what
  ``agent.neat.trainer`` runs. Problems are ``ValueError`` subclasses with one-line messages:
  ``ConfigError``, ``ConfigMismatch``, ``LevelError``, ``CheckpointError``, ``ChampionError``
  or ``agent.runs.TrainError``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import neat
import numpy as np

from agent.neat.backends import BACKENDS
from agent.neat.champion import ChampionError, load_champion
from agent.neat.checkpoint import TrainState, load_checkpoint
from agent.neat.config import (
    DEFAULT_CONFIG,
    ConfigError,
    check_run_config,
    config_from_text,
    read_config_file,
)
from agent.neat.fitness import SCORES, ConfigMismatch, FitnessSettings, check_config_matches
from agent.neat.flag_table import flag_of
from agent.runs import RunDir, TrainError, pin_levels, pinned_levels, run_id_for
from envs.levels.generator import (
    DEFAULT_DIFFICULTY,
    DEFAULT_LENGTH,
    clear_of_held_out,
    generate_level,
)
from envs.levels.level import Level, load_level
from envs.sim.profiles import JITTER_MARK
from envs.smb.console import NES_EXTRA_HINT, nes_available
from envs.smb.levels import START_MARK
from envs.smb.ram import parse_stage

SMB_PREFIX = "smb:"

__all__ = [
    "CHAMPION_FILE",
    "CHECKPOINT_FILE",
    "CONFIG_FILE",
    "ENVS",
    "RUN_FIELDS",
    "Plan",
    "TrainSettings",
    "eval_backend",
    "eval_device",
    "generation_seeds",
    "level_seed",
    "load_run_settings",
    "next_difficulty",
    "pool_seed",
    "prepare",
    "validation_seed",
]

CHAMPION_FILE = "champion.json"
CHECKPOINT_FILE = "checkpoint-latest.pkl"
CONFIG_FILE = "config.ini"
#: Files that hold a run's progress: a fresh run refuses a directory holding one (or metrics
#: lines, ``agent.runs.RunDir.fresh``).
RUN_FILES = (CHAMPION_FILE, CHECKPOINT_FILE)

#: Settings that define what a run optimises; a resumed run must keep them.
RUN_FIELDS = (
    "env",
    "levels",
    "generated",
    "difficulty",
    "generated_length",
    "level_pool",
    "seed",
    "aggregate",
    "score",
    "fitness",
    "validation",
    "curriculum",
    "curriculum_step",
    "curriculum_share",
)

#: Environments a run can train on: the built-in world, or the real game in the NES emulator.
ENVS = ("world", "smb")


@dataclass
class TrainSettings:
    """What to train on and how. ``levels`` are built-in names or level file paths (with
    ``env="smb"``: Super Mario Bros. stages such as ``"1-1"``)."""

    levels: list[str] = field(default_factory=lambda: ["1-1"])
    env: str = "world"  # "world": the built-in platformer; "smb": the real game (nes extra)
    generated: int | None = None  # fresh generated levels per generation (None: none)
    difficulty: float = DEFAULT_DIFFICULTY  # of the generated levels, in [0, 1]
    generated_length: int = DEFAULT_LENGTH  # columns of each generated level
    level_pool: int | None = None  # draw each generation's generated levels from a fixed pool
    # of this many (None: new levels every generation); proving a level costs 0.1-0.3 s, a
    # pool is proven once (and kept: up to about 480 levels fit the generator's cache)
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
    score: str = "mario"  # each run's score: MarI/O's fitness, or "progress" (the same scale
    # on every level: share of the way to the flag plus a finish bonus; agent.neat.fitness)
    stop_when_solved: bool = True  # stop once the champion completes every training level
    fitness: FitnessSettings = field(default_factory=FitnessSettings)  # its aggregate and
    # score are replaced by ``aggregate`` and ``score``
    validation: int | None = None  # held-out generated levels that choose the champion (None:
    # none, the champion is the best by training fitness)
    curriculum: float | None = None  # start difficulty of the generated levels, raised to
    # ``difficulty`` (None: ``difficulty`` from the start)
    curriculum_step: float = 0.05  # the difficulty rises by this much ...
    curriculum_share: float = 0.5  # ... after a generation whose best genome finished at least
    # this share of the generated levels

    def fitness_settings(self) -> FitnessSettings:
        return dataclasses.replace(self.fitness, aggregate=self.aggregate, score=self.score)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["fitness"] = self.fitness.to_dict()
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


def eval_backend(s: TrainSettings) -> str:
    """The evaluation backend the settings ask for (``backend`` None: local, or processes when
    ``workers`` > 1; on the real game, processes unless ``workers`` is 1)."""
    if s.backend is not None:
        return s.backend
    if s.env == "smb":  # the emulator is the cost: spread it over every core by default
        return "local" if s.workers == 1 else "processes"
    return "processes" if (s.workers or 1) > 1 else "local"


def level_seed(run_seed: int, generation: int, index: int) -> int:
    """Seed of generated level ``index`` of ``generation``: a 32-bit hash of the three numbers
    (kept clear of the held-out levels', as every seed here: ``clear_of_held_out``)."""
    return clear_of_held_out(
        int(np.random.SeedSequence([run_seed, generation, index]).generate_state(1)[0])
    )


def pool_seed(run_seed: int, index: int) -> int:
    """Seed of level ``index`` of the run's level pool: a 32-bit hash on a stream of its own
    (spawn key 3), apart from the fresh schedule and the validation levels."""
    seq = np.random.SeedSequence([run_seed, index], spawn_key=(3,))
    return clear_of_held_out(int(seq.generate_state(1)[0]))


def generation_seeds(s: TrainSettings, generation: int) -> list[int]:
    """The seeds of ``generation``'s generated levels: ``level_seed(seed, generation, i)``, or
    with a ``level_pool`` of P a draw of ``generated`` distinct levels of the pool, made by a
    generator seeded by (seed, generation) alone (so a resumed run draws the same)."""
    if not s.generated:
        return []
    if s.level_pool is None:
        return [level_seed(s.seed, generation, i) for i in range(s.generated)]
    rng = np.random.default_rng(np.random.SeedSequence([s.seed, generation], spawn_key=(4,)))
    picks = rng.choice(s.level_pool, size=s.generated, replace=False)
    return [pool_seed(s.seed, int(j)) for j in picks]


def validation_seed(run_seed: int, index: int) -> int:
    """Seed of held-out validation level ``index``: a 32-bit hash kept apart from the training
    schedule (a spawned child of the run seed), so no generation trains on a validation level."""
    seq = np.random.SeedSequence([run_seed, index], spawn_key=(1,))
    return clear_of_held_out(int(seq.generate_state(1)[0]))


def next_difficulty(s: TrainSettings, difficulty: float, finished_share: float) -> float:
    """The curriculum's difficulty for the next generation: one ``curriculum_step`` higher (at
    most ``difficulty``) when the generation's best finished ``curriculum_share`` of its
    generated levels, else unchanged. Rounded to 6 places so steps never drift."""
    if s.curriculum is None or finished_share < s.curriculum_share:
        return difficulty
    return round(min(s.difficulty, difficulty + s.curriculum_step), 6)


def load_run_settings(run_dir: str | Path, *, trust_checkpoint: bool = False) -> TrainSettings:
    """The settings stored in a run's latest checkpoint (``config`` left None: the checkpoint's
    own config text is used on resume unless another config is given). ``trust_checkpoint``:
    load it even from another user's directory (``agent.neat.checkpoint.load_checkpoint``)."""
    run = RunDir.resume(run_dir, CHECKPOINT_FILE)
    state = load_checkpoint(run.file(CHECKPOINT_FILE), trust=trust_checkpoint)
    try:
        settings = TrainSettings.from_dict(state.settings)
    except (TypeError, ValueError) as exc:  # edited, or written by another version
        raise TrainError(f"{run.file(CHECKPOINT_FILE)}: its stored settings: {exc}") from None
    return dataclasses.replace(settings, config=None, out=str(run_dir))


# --------------------------------------------------------------------------------------------
# Preparation: every check, no writes
# --------------------------------------------------------------------------------------------


@dataclass
class Plan:
    """A checked run, ready to start: its settings, directory, config and levels."""

    settings: TrainSettings
    run_dir: RunDir
    config: neat.Config
    config_text: str
    config_changed: bool  # write config.ini (fresh run, or a new config on resume)
    fitness: FitnessSettings
    fixed_levels: list[Any]  # ``Level`` objects, or stage names on the real game
    state: TrainState | None  # the checkpoint, when resuming
    validation_levels: list[Level] = field(default_factory=list)  # held out, fixed for the run
    run_id: str = ""  # the run's id (``agent.runs.run_id_for``), in run-id and each checkpoint
    level_pins: list[dict[str, Any]] = field(default_factory=list)  # the fixed levels' content

    def env_settings(self) -> dict[str, Any]:
        """What ``champion.json`` records of how its champion was trained and played."""
        s = self.settings
        return {
            **self.fitness.to_dict(),
            "env": s.env,
            "levels": [str(x) for x in s.levels],
            "generated": s.generated,
            "difficulty": s.difficulty if s.generated else None,
            "generated_length": s.generated_length if s.generated else None,
            # only when used, so the champion files of other runs stay as they were
            **({"curriculum": s.curriculum} if s.curriculum is not None else {}),
            **({"validation": s.validation} if s.validation else {}),
            **({"level_pool": s.level_pool} if s.level_pool else {}),
        }


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
    if s.generated is not None and s.generated < 1:
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
    if s.score not in SCORES:
        raise TrainError(f"score must be one of {', '.join(SCORES)}, got {s.score!r}")
    eval_device(s)  # the same rules as train.py rnn: auto, cpu, cuda, cuda:N


def _validate_generalisation(s: TrainSettings) -> None:
    """Validation levels and the difficulty curriculum (both about generated levels)."""
    if s.validation is not None and s.validation < 1:
        raise TrainError(f"validation must be at least 1 level, got {s.validation}")
    if s.level_pool is not None and (not s.generated or s.level_pool < s.generated):
        raise TrainError(
            f"a level pool holds generated levels: give generated, at most the pool's "
            f"{s.level_pool}"
        )
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
    if s.generated or s.validation:
        raise TrainError("generated levels are the built-in world's; the real game has stages")
    if s.score == "progress":
        raise TrainError("the progress score is the built-in world's; the real game has mario")
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
            import ray  # noqa: F401 -- optional: only the ray backend needs it
        except ImportError:
            raise TrainError('the ray backend needs Ray: pip install -e ".[ray]"') from None


def eval_device(s: TrainSettings) -> str:
    """The evaluation device, resolved (``auto`` is CUDA when present)."""
    if s.device == "cpu":
        return "cpu"  # without importing torch
    from agent.rnn.model import DeviceError, resolve_device  # torch: only off the CPU

    try:
        return str(resolve_device(s.device))
    except DeviceError as exc:
        raise TrainError(str(exc)) from None


def _check_config(config: neat.Config, source: str, fitness: FitnessSettings) -> None:
    try:
        check_config_matches(config, fitness.view_radius, fitness.encoding)
    except ConfigMismatch as exc:
        raise ConfigMismatch(f"{source}: {exc}") from None


def prepare(
    settings: TrainSettings, resume: str | Path | None, *, trust_checkpoint: bool = False
) -> Plan:
    """Check everything about a run (fresh, or resuming the run directory ``resume``); write
    nothing. With ``resume``, the run-defining settings (``RUN_FIELDS``) must equal the
    checkpoint's, and the checkpoint must be this user's unless ``trust_checkpoint``."""
    s = settings
    _validate_settings(s)
    try:
        fitness = s.fitness_settings()
    except ValueError as exc:
        raise TrainError(f"fitness settings: {exc}") from None

    state = None
    if resume is not None:
        run = RunDir.resume(resume, CHECKPOINT_FILE)
        ckpt = run.file(CHECKPOINT_FILE)
        state = load_checkpoint(ckpt, trust=trust_checkpoint)
        run.check_run_id(state.trainer.get("run_id"), CHECKPOINT_FILE)
        _check_same_run(run.path, s, TrainSettings.from_dict(state.settings))
        if s.config is None:
            text, source = state.config_text, f"{ckpt} (its stored config)"
        else:
            text, source = read_config_file(s.config), str(s.config)
    else:
        run = RunDir.fresh(s.out, RUN_FILES)
        path = Path(s.config) if s.config is not None else DEFAULT_CONFIG
        text, source = read_config_file(path), str(path)

    config = config_from_text(text, source)
    check_run_config(config, source)
    _check_config(config, source, fitness)
    if state is not None:
        _check_resume_compatible(run, state, config, source, fitness)

    pins = state.trainer.get("level_pins") if state is not None else None
    if pins and s.env == "world":  # the levels the run started with, from any working directory
        fixed = pinned_levels(pins, run.file(CHECKPOINT_FILE))
    else:  # a fresh run, one from before level pins, or one continued on the real game's
        # stages (the emulator reads its own ROM): the levels as given
        fixed = _fixed_levels(s)
        pins = pin_levels(s.levels) if s.env == "world" else []
    if s.generated:
        start = state.generation if state is not None else 0
        try:
            generate_level(generation_seeds(s, start)[0], s.difficulty, s.generated_length)
        except ValueError as exc:
            raise TrainError(f"generated levels: {exc}") from None
    changed = state is None or text != state.config_text
    validation = _validation_levels(s)
    run_id = state.trainer.get("run_id") if state is not None else None
    if run_id is None:  # what defines the run at its start: settings, config, levels
        saved = s.to_dict()
        start = {"trainer": "neat", **{k: saved[k] for k in RUN_FIELDS}, "config": text}
        run_id = run_id_for({**start, "levels": [pin["text"] for pin in pins]})
    return Plan(s, run, config, text, changed, fitness, fixed, state, validation, run_id, pins)


def sim_to_real(saved: TrainSettings, env: str | None) -> bool:
    """Whether a run evolved in the built-in world on the real game's stages (``smb:`` levels
    only) is being continued on the emulator (``env`` "smb"): the one change of environment a
    resume allows, since the two play the same stages by the same physics and grid."""
    return (
        saved.env == "world"
        and env == "smb"
        and not saved.generated
        and bool(saved.levels)
        and all(str(name).startswith(SMB_PREFIX) for name in saved.levels)
    )


def real_stages(levels: list[Any]) -> list[str]:
    """``smb:1-1`` -> ``1-1``: the emulator's names of the built-in world's ``smb:`` levels,
    each once (its timing-jitter copies ``smb:1-1~K`` and later starts ``smb:1-1@C`` are the
    same stage on the emulator)."""
    out = []
    for name in levels:
        stage = str(name).removeprefix(SMB_PREFIX)
        for mark in (JITTER_MARK, START_MARK):
            stage = stage.partition(mark)[0]
        out.append(stage)
    return list(dict.fromkeys(out))


def continue_on(base: TrainSettings, given: dict[str, Any]) -> TrainSettings:
    """A resumed run's own settings ``base``, its ``smb:`` levels renamed to the game's stages
    when a built-in-world run is continued on the emulator (``--env smb`` given, no levels)."""
    if sim_to_real(base, given.get("env")) and "levels" not in given:
        return dataclasses.replace(base, levels=real_stages(base.levels))
    return base


def _check_same_run(out: Path, s: TrainSettings, saved: TrainSettings) -> None:
    if sim_to_real(saved, s.env):
        saved = dataclasses.replace(saved, env=s.env, levels=real_stages(saved.levels))
    for name in RUN_FIELDS:
        have, want = getattr(s, name), getattr(saved, name)
        if name == "levels":
            have, want = [str(x) for x in have], [str(x) for x in want]
        if have == want:
            continue
        was, now = f"{name} = {want!r}", repr(have)
        if name == "fitness":  # name the play settings that differ, and their flags
            was, now = _changed(have, want)
        raise TrainError(
            f"{out}: the run was trained with {was}; it cannot change to {now} on resume (start "
            "a new run instead)"
        )


def _changed(have: FitnessSettings, want: FitnessSettings) -> tuple[str, str]:
    """The fields that differ: ``"view_planes (--planes) = 'split'"`` and ``"'mixed'"``
    (several joined by "and")."""
    keys = [
        f.name for f in dataclasses.fields(want) if getattr(have, f.name) != getattr(want, f.name)
    ]
    was = " and ".join(f"{k} ({flag_of(k)}) = {getattr(want, k)!r}" for k in keys)
    return was, " and ".join(repr(getattr(have, k)) for k in keys)


def _validation_levels(s: TrainSettings) -> list[Level]:
    """The run's held-out validation levels, at the final difficulty (none without validation)."""
    seeds = [validation_seed(s.seed, i) for i in range(s.validation or 0)]
    try:
        return [generate_level(x, s.difficulty, s.generated_length) for x in seeds]
    except ValueError as exc:
        raise TrainError(f"validation levels: {exc}") from None


def _fixed_levels(s: TrainSettings) -> list[Any]:
    """The training levels: ``Level`` objects, or stage names (``"1-1"``) on the real game."""
    if s.env == "smb":
        return ["{}-{}".format(*parse_stage(str(name))) for name in s.levels]
    return [load_level(name) for name in s.levels]


def _check_resume_compatible(
    run: RunDir, state: TrainState, config: neat.Config, source: str, fitness: FitnessSettings
) -> None:
    """A config replacing the checkpoint's must fit its genomes (and the run's champion)."""
    saved = config_from_text(state.config_text, f"{run.file(CHECKPOINT_FILE)} (its stored config)")
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
    champ_path = run.file(CHAMPION_FILE)
    if champ_path.exists():
        champ = load_champion(champ_path, view_radius=fitness.view_radius)
        for name in ("num_inputs", "num_outputs", "feed_forward"):
            have, want = getattr(champ.config.genome_config, name), getattr(gc, name)
            if have != want:
                raise ChampionError(
                    f"{champ_path}: evolved with {name} = {have}, incompatible with the config "
                    f"being resumed ({name} = {want})"
                )
