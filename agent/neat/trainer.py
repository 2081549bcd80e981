"""NEAT training: neat-python's own evolution loop, one generation at a time, with run files.

``train(settings)`` checks everything first (``agent.neat.settings.prepare``), then evolves
the population generation by generation:

1. the generation's levels: the fixed training levels, plus ``generated`` fresh generated levels
   from a seed schedule derived from the run seed (``level_seed(seed, generation, i)``, or a
   draw from a fixed pool of them, ``generation_seeds``), at a
   difficulty that, with a ``curriculum``, starts low and rises as the best genome finishes them;
2. ``neat.Population.run(fitness, 1)``: neat-python evaluates the generation with our fitness
   function (every genome on every level at once, ``agent.neat.evaluator``, in this process or
   sharded over local processes or a Ray cluster, ``agent.neat.backends``: the results are
   identical), calls its reporters (``agent.neat.reporters``: the champion and
   ``champion.json``, a ``metrics.jsonl`` line with TensorBoard scalars, the progress line),
   then reproduces (stagnation, fitness sharing, elitism, crossover, mutation) and speciates;
3. between generations, every ``checkpoint_every`` generations and at the end,
   ``checkpoint-latest.pkl`` (``agent.neat.checkpoint``); the run stops after ``generations``
   generations, once ``max_frames`` frames were simulated, when the champion completes every
   training level (``stop_when_solved``), or when neat-python's own fitness criterion is met
   (a config with ``no_fitness_termination = False``).

Determinism: neat-python draws from the global ``random`` module; ``neat.Population(config,
seed=seed)`` seeds it, evaluation (on any backend) leaves it as it was, and checkpoints store
it, so the same settings give the same champion, resumed or not.

Every problem with the inputs is found before anything is written and raised as a
``ValueError`` subclass with a one-line message: ``ConfigError``, ``ConfigMismatch``,
``LevelError``, ``CheckpointError``, ``ChampionError`` or ``TrainError``
(``agent.runs.TrainError``, also for a generation that neat-python cannot reproduce).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

import neat
from neat.population import CompleteExtinctionException
from neat.reporting import BaseReporter

from agent.neat.backends import Backend, BackendError, EvaluatorFactory, make_backend
from agent.neat.champion import ChampionError
from agent.neat.checkpoint import (
    CheckpointError,
    capture_state,
    restore_population,
    save_checkpoint,
)
from agent.neat.config import DEFAULT_CONFIG, ConfigError
from agent.neat.evaluator import PopulationEvaluator
from agent.neat.fitness import ConfigMismatch, Evaluation
from agent.neat.reporters import (
    TIMING_KEYS,
    ChampionReporter,
    GenerationLog,
    GenerationRecord,
    MetricsReporter,
    RunState,
    champion_solved,
)
from agent.neat.rescore import needs_rescore, rescore_champion
from agent.neat.settings import (
    CHAMPION_FILE,
    CHECKPOINT_FILE,
    CONFIG_FILE,
    Plan,
    TrainSettings,
    eval_backend,
    eval_device,
    generation_seeds,
    level_seed,
    load_run_settings,
    next_difficulty,
    prepare,
    validation_seed,
)
from agent.neat.smb_evaluator import SmbPopulationEvaluator
from agent.runs import METRICS_FILE, Progress, TrainError
from envs.levels.generator import generate_level
from envs.levels.level import LevelError

__all__ = [
    "CHAMPION_FILE",
    "CHECKPOINT_FILE",
    "CONFIG_FILE",
    "DEFAULT_CONFIG",
    "METRICS_FILE",
    "TIMING_KEYS",
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
    "load_run_settings",
    "next_difficulty",
    "train",
    "validation_seed",
]


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


def train(
    settings: TrainSettings,
    *,
    resume: str | Path | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
    trust_checkpoint: bool = False,
) -> TrainResult:
    """Evolve (or, with ``resume`` = a run directory, continue evolving) and return the result.

    With ``resume``, the run-defining settings (``RUN_FIELDS``) must equal the checkpoint's;
    ``generations`` counts all generations, so resuming a 10-generation run with
    ``generations=20`` runs 10 more. ``progress`` shows a tqdm bar and a one-line summary per
    generation (``log`` receives the summary lines instead of stdout when given). The
    checkpoint is a pickle: one in a directory another user owns is refused unless
    ``trust_checkpoint``.
    """
    plan = prepare(settings, resume, trust_checkpoint=trust_checkpoint)
    return _Run(plan, progress, log).run()


class _Fitness:
    """neat-python's fitness function of the run: the generation on the evaluation backend.

    Evaluation leaves what neat-python's genetics depend on as it was: the global ``random``
    state (whatever a backend draws, Ray's start-up included, evolution draws the same numbers
    on every backend) and the genome config's node indexer (pickling the config into worker
    processes or Ray advances it; evaluation never adds nodes, see ``agent.neat.checkpoint``).
    """

    def __init__(self, backend: Backend, state: RunState) -> None:
        self.backend = backend
        self.state = state

    def __call__(self, genomes: Sequence[tuple[int, Any]], config: neat.Config) -> None:
        rec = self.state.current
        t0 = time.perf_counter()
        ev = self.quietly(genomes, config)
        rec.eval_seconds = time.perf_counter() - t0
        for (_, genome), fit in zip(genomes, ev.fitness, strict=True):
            genome.fitness = float(fit)
        rec.genomes, rec.evaluation = list(genomes), ev
        rec.best = int(ev.fitness.argmax())  # neat-python's best: the first of the highest

    def quietly(self, genomes: Sequence[tuple[int, Any]], config: neat.Config) -> Evaluation:
        """``genomes`` evaluated on the backend, neat-python's random state and node indexer
        left as they were."""
        gc = config.genome_config
        next_node = None if gc.node_indexer is None else next(gc.node_indexer)
        rng = random.getstate()
        try:
            return self.backend.evaluate(genomes, config)
        finally:
            random.setstate(rng)
            gc.node_indexer = None if next_node is None else count(next_node)


class _Phase(BaseReporter):
    """Whether neat-python is between evaluation and the next generation (reproducing and
    speciating), so a ``RuntimeError`` there is told apart from the evaluator's own."""

    reproducing = False

    def start_generation(self, generation: int) -> None:
        self.reproducing = False

    def post_evaluate(self, config: Any, population: Any, species: Any, best_genome: Any) -> None:
        self.reproducing = True  # the last reporter: everything after this is neat's

    def end_generation(self, config: Any, population: Any, species_set: Any) -> None:
        self.reproducing = False


class _Run:
    def __init__(self, plan: Plan, progress: bool, log: Callable[[str], None] | None) -> None:
        self.plan = plan
        self.s = plan.settings
        self.run_dir = plan.run_dir
        self.progress = progress
        self.log = log

    def run(self) -> TrainResult:
        plan, s = self.plan, self.s
        start = s.difficulty if s.curriculum is None else s.curriculum
        if plan.state is None:
            pop = neat.Population(plan.config, seed=s.seed)
            self.state = RunState.fresh(start)
            resumed_from = None
        else:
            pop = restore_population(plan.state, plan.config)
            self.state = RunState.from_trainer(plan.state.trainer, start)
            resumed_from = pop.generation
            self.run_dir.clear_temps()  # also when there is nothing left to do
            if needs_rescore(plan, self.state.champion):  # solved somewhere else: not yet here
                self.state.solved = False
        if self._finished(pop):
            return self._result(resumed_from)
        # neat-python's genetics draw from the global ``random``; whatever starting a backend
        # draws from it (ray.init does) must not change the run. The backend (a pool, a Ray
        # connection) starts before anything is written: a cluster that cannot be reached
        # leaves the run directory as it was.
        rng = random.getstate()
        backend = self._start_backend(pop.generation)
        random.setstate(rng)
        try:
            self._evolve(pop, backend, resumed_from)
        finally:
            backend.close()
        return self._result(resumed_from)

    def _finished(self, pop: neat.Population) -> bool:
        s, state = self.s, self.state
        budget_spent = s.max_frames is not None and state.frames >= s.max_frames
        return (
            pop.generation >= s.generations
            or (state.solved and s.stop_when_solved)
            or budget_spent
            or state.neat_solved
        )

    def _start_backend(self, generation: int) -> Backend:
        s, plan = self.s, self.plan
        levels, _ = self._levels_for(generation)
        device = eval_device(s)
        net = {"net_backend": "numpy" if device == "cpu" else "torch", "device": device}
        evaluator = SmbPopulationEvaluator if s.env == "smb" else PopulationEvaluator
        factory = EvaluatorFactory(evaluator, (levels, plan.fitness), net)
        try:
            return make_backend(eval_backend(s), factory, workers=s.workers, address=s.ray_address)
        except BackendError as exc:
            raise TrainError(str(exc)) from None

    def _levels_for(self, generation: int) -> tuple[list[Any], list[int]]:
        s = self.s
        levels = list(self.plan.fixed_levels)
        seeds = []
        if s.generated:
            seeds = generation_seeds(s, generation)
            difficulty = self.state.difficulty
            levels += [generate_level(x, difficulty, s.generated_length) for x in seeds]
        return levels, seeds

    def _evolve(self, pop: neat.Population, backend: Backend, resumed_from: int | None) -> None:
        plan, s, state = self.plan, self.s, self.state
        run_dir = self.run_dir.open()
        run_dir.write_run_id(plan.run_id)
        if plan.config_changed:
            run_dir.write_text(CONFIG_FILE, plan.config_text)
        # On resume, what was written after the checkpoint goes: the run replays it exactly.
        writer = run_dir.metrics("neat", state.metrics)
        champion = ChampionReporter(plan, state)
        fitness = _Fitness(backend, state)
        if resumed_from is None:
            # A checkpoint of the starting population: a run stopped before its first regular
            # checkpoint can still be resumed instead of blocking its directory.
            self._checkpoint(pop)
        where = backend.name + ("" if backend.name == "local" else f", {backend.workers} workers")
        begin = "training" if resumed_from is None else f"resuming at generation {resumed_from}:"
        shown = Progress(
            self.progress, total=s.generations, initial=pop.generation, unit="gen", desc="neat",
            log=self.log,
        )  # fmt: skip
        shown.line(
            f"{begin} NEAT in {run_dir.path} ({where}; Ctrl-C stops; the last checkpoint can be "
            "resumed)"
        )
        if resumed_from is not None:
            self._rescore(pop, champion, fitness, shown)
        if state.champion is not None:
            champion.save(state.champion)
        phase = _Phase()
        for reporter in (
            champion,
            MetricsReporter(plan, state, writer),
            GenerationLog(state, shown),
        ):
            pop.add_reporter(reporter)
        pop.add_reporter(phase)
        try:
            while not self._finished(pop):
                gen = pop.generation
                levels, seeds = self._levels_for(gen)
                if s.generated:
                    backend.set_levels(levels)
                state.current = GenerationRecord(gen, levels, seeds, state.difficulty)
                self._generation(pop, fitness, phase)
                if pop.generation == gen:  # neat's fitness criterion ended evolution
                    state.neat_solved = True
                rec = state.current
                if s.generated:
                    share = float(
                        rec.evaluation.completed[rec.best, len(plan.fixed_levels) :].mean()
                    )
                    state.difficulty = next_difficulty(s, state.difficulty, share)
                if self._finished(pop) or pop.generation % s.checkpoint_every == 0:
                    self._checkpoint(pop)
        finally:
            shown.close()
            writer.close()

    def _rescore(
        self, pop: neat.Population, champion: ChampionReporter, fit: _Fitness, shown: Progress
    ) -> None:
        """A champion scored under another environment or physics is scored again here
        (``agent.neat.rescore``); when its scores changed, the species' fitness histories are
        cleared too, so stagnation counts from scores measured here."""
        state, config = self.state, self.plan.config
        levels, _ = self._levels_for(pop.generation)
        if self.s.generated:
            fit.backend.set_levels(levels)
        validate = None if champion.validator is None else champion.validate
        changed, frames = rescore_champion(
            self.plan, state.champion, levels, lambda g: fit.quietly(g, config), validate
        )
        state.frames += frames
        if state.champion is not None:
            state.solved = champion_solved(state.champion)
        if not changed:
            return
        for species in pop.species.species.values():
            species.fitness_history = []
        self._checkpoint(pop)
        rescored = state.champion["rescored"]
        shown.line(
            f"the champion (generation {state.champion['generation']}) scored again here: "
            f"fitness {rescored['fitness']:.1f} -> {state.champion['fitness']:.1f}"
        )

    def _generation(self, pop: neat.Population, fitness: _Fitness, phase: _Phase) -> None:
        """One generation by neat-python's own loop; its failures as one-line TrainErrors."""
        gen = pop.generation
        try:
            pop.run(fitness, 1)
        except CompleteExtinctionException:
            raise TrainError(
                f"generation {gen}: every species went extinct (stagnation); set "
                "reset_on_extinction = True or species_elitism > 0 in the config"
            ) from None
        except RuntimeError as exc:
            if not phase.reproducing:
                raise
            raise TrainError(
                f"generation {gen}: neat-python cannot reproduce: {' '.join(str(exc).split())} "
                "(too many species for pop_size? raise compatibility_threshold)"
            ) from None

    def _checkpoint(self, pop: neat.Population) -> None:
        trainer = self.state.trainer_dict(self.s.seed, pop.generation)
        trainer.update(run_id=self.plan.run_id, level_pins=self.plan.level_pins)
        state = capture_state(pop, self.plan.config_text, self.s.to_dict(), trainer)
        save_checkpoint(self.run_dir.file(CHECKPOINT_FILE), state)

    def _result(self, resumed_from: int | None) -> TrainResult:
        state = self.state
        champ = state.champion
        return TrainResult(
            out=self.run_dir.path,
            champion_path=self.run_dir.file(CHAMPION_FILE) if champ is not None else None,
            champion_fitness=None if champ is None else float(champ["fitness"]),
            champion_generation=None if champ is None else int(champ["generation"]),
            champion_completed=0 if champ is None else sum(champ["completed"]),
            champion_levels=0 if champ is None else len(champ["completed"]),
            generations=len(state.metrics),
            solved=state.solved,
            metrics=state.metrics,
            frames_simulated=state.frames,
            wall_seconds=state.wall(),
            resumed_from=resumed_from,
            levels=[str(x) for x in self.s.levels],
        )
