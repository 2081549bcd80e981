"""What a NEAT run records after each generation, as neat-python reporters.

``agent.neat.trainer`` adds these ``neat.reporting.BaseReporter`` subclasses to the population,
and neat-python's ``Population.run`` calls them once the generation's genomes have their fitness
(``post_evaluate``), in this order:

1. ``ChampionReporter``: the run's champion, the best genome so far by training fitness, or with
   validation levels by its score there (the generation's ``VALIDATION_CANDIDATES`` best play
   them); ``champion.json`` is rewritten when it changes. A run is solved once its champion
   completes every training (and validation) level.
2. ``MetricsReporter``: one line of ``metrics.jsonl`` and TensorBoard scalars
   (``agent.runs.MetricsWriter``), with the keys every trainer shares (``agent.runs.SHARED_KEYS``:
   for NEAT an iteration is a generation and an episode one genome's run on one level) and NEAT's
   own (``neat/best_fitness``, ...). Table in docs/neat.md.
3. ``GenerationLog``: the generation's line and the progress bar (``agent.runs.Progress``).

``RunState`` is what they share and what a checkpoint keeps between generations;
``GenerationRecord`` is the generation being evaluated (its levels and scores).
"""

from __future__ import annotations

import copy
import random
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from neat.reporting import BaseReporter

from agent.neat.champion import save_champion
from agent.neat.evaluator import PopulationEvaluator
from agent.neat.fitness import Evaluation
from agent.neat.rescore import SCORED_UNDER, scoring_key
from agent.neat.settings import CHAMPION_FILE, Plan
from agent.runs import MetricsWriter, Progress

__all__ = [
    "TIMING_KEYS",
    "VALIDATION_CANDIDATES",
    "ChampionReporter",
    "GenerationLog",
    "GenerationRecord",
    "MetricsReporter",
    "RunState",
    "champion_solved",
    "upgrade_metrics",
]

#: With validation levels, this many of each generation's best genomes (by training fitness)
#: play them, and the best of those on the validation levels may become the champion.
VALIDATION_CANDIDATES = 5
#: What the champion records of its validation (in ``champion.json``'s ``extra``).
VALIDATION_KEYS = ("validation_fitness", "validation_completed")

#: Metrics keys that measure time rather than evolution (they differ between identical runs).
TIMING_KEYS = ("wall_seconds", "eval_seconds", "frames_per_second", "first_completion_seconds")


@dataclass
class GenerationRecord:
    """The generation being evaluated: its levels, then (from the fitness function) its scores."""

    generation: int
    levels: list[Any]  # ``Level`` objects, or stage names on the real game
    seeds: list[int]  # of its generated levels
    difficulty: float  # of its generated levels
    started: float = field(default_factory=time.perf_counter)
    genomes: list[tuple[int, Any]] = field(default_factory=list)  # in population order
    evaluation: Evaluation | None = None
    eval_seconds: float = 0.0
    best: int = 0  # row of neat-python's best genome: the first of the highest fitness
    validation: tuple[int, float, list[bool]] | None = None  # the best candidate's (row,
    # validation fitness, levels finished), with validation levels
    validation_frames: int = 0


@dataclass
class RunState:
    """What the run knows between generations (a checkpoint keeps it as its trainer state)."""

    metrics: list[dict[str, Any]]
    champion: dict[str, Any] | None
    frames: int  # frames simulated so far (validation included), resumes included
    wall_before: float  # training seconds of earlier sessions
    solved: bool  # the champion completes every training (and validation) level
    difficulty: float  # the curriculum's difficulty of the next generation's levels
    first_completion: tuple[int, float] | None = None  # (frames, wall seconds) then
    neat_solved: bool = False  # neat-python's own fitness criterion was met: evolution ended
    started: float = field(default_factory=time.perf_counter)
    current: GenerationRecord | None = None

    def wall(self) -> float:
        return self.wall_before + (time.perf_counter() - self.started)

    @classmethod
    def fresh(cls, difficulty: float) -> RunState:
        return cls([], None, 0, 0.0, False, difficulty)

    @classmethod
    def from_trainer(cls, t: dict[str, Any], difficulty: float) -> RunState:
        """The state a checkpoint's trainer dict holds (``difficulty``: the start one, for
        checkpoints of runs without a curriculum state)."""
        metrics = upgrade_metrics(t["metrics"])
        first = t.get("first_completion")
        if "first_completion" not in t and metrics:  # a checkpoint from before the key
            last = metrics[-1]
            if last["first_completion_frames"] is not None:
                first = (last["first_completion_frames"], last["first_completion_seconds"])
        return cls(
            metrics=metrics,
            champion=t["champion"],
            frames=t["frames_simulated"],
            wall_before=t["wall_seconds"],
            solved=t["solved"],
            difficulty=t.get("difficulty", difficulty),
            first_completion=None if first is None else (int(first[0]), float(first[1])),
            neat_solved=t.get("neat_solved", False),
        )

    def trainer_dict(self, seed: int, next_generation: int) -> dict[str, Any]:
        return {
            "metrics": self.metrics,
            "champion": self.champion,
            "frames_simulated": self.frames,
            "wall_seconds": self.wall(),
            "solved": self.solved,
            "difficulty": self.difficulty,
            "first_completion": self.first_completion,
            "neat_solved": self.neat_solved,
            "level_schedule": {"seed": seed, "next_generation": next_generation},
        }


def _names(levels: list[Any]) -> list[str]:
    return [getattr(level, "name", str(level)) for level in levels]


def champion_solved(champ: dict[str, Any]) -> bool:
    """Whether the champion completes every training (and validation) level."""
    return all(champ["completed"]) and all(champ.get("validation_completed", [True]))


class ChampionReporter(BaseReporter):
    """Keeps the run's champion and ``champion.json`` (see the module doc)."""

    def __init__(self, plan: Plan, state: RunState) -> None:
        self.plan = plan
        self.state = state
        self.key = scoring_key(plan)  # what its fitness is measured under (agent.neat.rescore)
        self.validator = None
        if plan.validation_levels:  # a few genomes a generation: in this process, on the CPU
            self.validator = PopulationEvaluator(plan.validation_levels, plan.fitness)

    def post_evaluate(self, config: Any, population: Any, species: Any, best_genome: Any) -> None:
        rec, state = self.state.current, self.state
        ev = rec.evaluation
        validation = rec.validation = None if self.validator is None else self._validate(rec)
        if validation is not None:
            cand_i, cand_fitness, cand_completed = validation
            better = state.champion is None or cand_fitness > state.champion["validation_fitness"]
        else:
            cand_i = rec.best
            better = state.champion is None or best_genome.fitness > state.champion["fitness"]
        if better:
            cand = rec.genomes[cand_i][1]
            state.champion = {
                "genome": copy.deepcopy(cand),
                "fitness": cand.fitness,
                "generation": rec.generation,
                "levels": _names(rec.levels),
                "level_fitness": [float(x) for x in ev.level_fitness[cand_i]],
                "completed": [bool(x) for x in ev.completed[cand_i]],
                "config_text": self.plan.config_text,  # the config it was evolved with
                SCORED_UNDER: self.key,
            }
            if validation is not None:
                state.champion["validation_fitness"] = cand_fitness
                state.champion["validation_completed"] = cand_completed
            self.save(state.champion)
        state.solved = champion_solved(state.champion)

    def _validate(self, rec: GenerationRecord) -> tuple[int, float, list[bool]]:
        """Play the generation's ``VALIDATION_CANDIDATES`` best genomes (by training fitness,
        first ones on ties) on the validation levels; return the index of the best of them
        there (the first on ties), its validation fitness and the levels it finished."""
        fitness = rec.evaluation.fitness
        cands = sorted(range(len(rec.genomes)), key=lambda i: -fitness[i])[:VALIDATION_CANDIDATES]
        vev = self.validate([rec.genomes[i] for i in cands])
        rec.validation_frames = int(vev.frames_simulated)
        j = int(np.argmax(vev.fitness))
        return cands[j], float(vev.fitness[j]), [bool(x) for x in vev.completed[j]]

    def validate(self, genomes: list[tuple[int, Any]]) -> Evaluation:
        """``genomes`` on the validation levels, leaving evolution's random stream as it was."""
        rng = random.getstate()
        try:
            return self.validator.evaluate(genomes, self.plan.config)
        finally:
            random.setstate(rng)

    def save(self, champ: dict[str, Any]) -> None:
        """Write ``champion.json`` (atomically) for the champion ``champ``."""
        save_champion(
            self.plan.run_dir.file(CHAMPION_FILE),
            champ["genome"],
            self.plan.config,
            champ["config_text"],
            fitness=champ["fitness"],
            generation=champ["generation"],
            env_settings=self.plan.env_settings(),
            extra={
                "trainer": "neat",
                "seed": self.plan.settings.seed,
                "levels_evaluated": champ["levels"],
                "level_fitness": champ["level_fitness"],
                "completed": champ["completed"],
                **{k: champ[k] for k in (*VALIDATION_KEYS, "rescored") if k in champ},
            },
        )


def _mean_max(progress: np.ndarray) -> tuple[float | None, float | None]:
    """Mean and max progress of the runs; None where some run's progress is unknown (NaN)."""
    if progress.size == 0 or np.isnan(progress).any():
        return None, None
    return float(progress.mean()), float(progress.max())


class MetricsReporter(BaseReporter):
    """Writes the generation's metrics line (see the module doc and docs/neat.md)."""

    def __init__(self, plan: Plan, state: RunState, writer: MetricsWriter) -> None:
        self.plan = plan
        self.state = state
        self.writer = writer

    def post_evaluate(self, config: Any, population: Any, species: Any, best_genome: Any) -> None:
        rec, state = self.state.current, self.state
        ev = rec.evaluation
        gen_frames = int(ev.frames_simulated) + rec.validation_frames
        state.frames += gen_frames
        wall = state.wall()
        if state.first_completion is None and ev.completed.any():
            state.first_completion = (state.frames, round(wall, 4))
        first = state.first_completion or (None, None)
        progress, max_progress = _mean_max(ev.progress)
        nodes, conns = best_genome.size()
        champ = state.champion
        metrics = {
            "iteration": rec.generation + 1,
            "frames": state.frames,
            "wall_seconds": round(wall, 4),
            # the evaluation's speed (docs/metrics.md): its frames over its seconds
            "frames_per_second": round(ev.frames_simulated / max(rec.eval_seconds, 1e-9), 1),
            "episodes": int(ev.completed.size),
            "completion_rate": float(ev.completed.mean()),
            "progress": progress,
            "max_progress": max_progress,
            "first_completion_frames": first[0],
            "first_completion_seconds": first[1],
            "generation": rec.generation,
            "best_fitness": float(best_genome.fitness),
            "mean_fitness": float(np.mean(ev.fitness)),
            "median_fitness": float(np.median(ev.fitness)),
            "solved_rate": float(ev.completed.all(axis=1).mean()),
            "best_completed": int(ev.completed[rec.best].sum()),
            "max_rightmost": float(ev.rightmost.max()),  # the farthest any genome got, px
            "levels": len(rec.levels),
            "champion_fitness": float(champ["fitness"]),
            "champion_generation": int(champ["generation"]),
            "species": len(species.species),
            "best_nodes": int(nodes),
            "best_connections": int(conns),
            "generation_frames": gen_frames,
            "eval_seconds": round(rec.eval_seconds, 4),
        }
        if rec.seeds:
            metrics["level_seeds"] = rec.seeds
            metrics["difficulty"] = rec.difficulty
        if rec.validation is not None:
            metrics["validation_fitness"] = rec.validation[1]  # the best candidate's
            metrics["validation_completed"] = sum(rec.validation[2])
            metrics["champion_validation_fitness"] = champ["validation_fitness"]
        state.metrics.append(self.writer.write(metrics))


class GenerationLog(BaseReporter):
    """The generation's line and the progress bar."""

    def __init__(self, state: RunState, progress: Progress) -> None:
        self.state = state
        self.progress = progress

    def post_evaluate(self, config: Any, population: Any, species: Any, best_genome: Any) -> None:
        m = self.state.metrics[-1]
        seconds = time.perf_counter() - self.state.current.started
        self.progress.line(
            f"gen {m['generation']:4d}  best {m['best_fitness']:8.1f}  "
            f"mean {m['mean_fitness']:8.1f}  "
            f"best done {m['best_completed']}/{m['levels']}  "
            f"runs done {100 * m['completion_rate']:5.1f}%  "
            f"species {m['species']:3d}  "
            f"nodes {m['best_nodes']:3d} links {m['best_connections']:3d}  "
            f"{m['frames_per_second'] / 1000:7.1f}k frames/s  {seconds:5.2f} s"
        )
        self.progress.advance(1, best=f"{m['champion_fitness']:.0f}")

    def complete_extinction(self) -> None:
        self.progress.line("every species went extinct: neat-python starts a new population")


def upgrade_metrics(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Metrics lines of checkpoints written before the shared keys, in today's keys: ``frames``
    was the generation's (now ``generation_frames``), ``frames_simulated`` the run's (now
    ``frames``), ``completion_rate`` the share of genomes finishing every level (now
    ``solved_rate``); what those lines did not record (runs, progress) is None."""
    out = []
    first: tuple[int, float] | None = None
    for m in lines:
        if "iteration" in m:
            out.append(m)
            continue
        old = dict(m)
        frames, wall = old.pop("frames_simulated"), old.pop("wall_seconds")
        if first is None and old.get("best_completed"):
            first = (frames, wall)
        shared = {
            "trainer": "neat",
            "iteration": old["generation"] + 1,
            "frames": frames,
            "wall_seconds": wall,
            "frames_per_second": old.pop("frames_per_second", None),
            "episodes": None,
            "completion_rate": None,
            "progress": None,
            "max_progress": None,
            "first_completion_frames": None if first is None else first[0],
            "first_completion_seconds": None if first is None else first[1],
        }
        old["generation_frames"] = old.pop("frames", None)
        old["solved_rate"] = old.pop("completion_rate", None)
        out.append({**shared, **old})
    return out
