"""Fitness of a NEAT population on the real Super Mario Bros. (``envs.smb``), MarI/O's way.

``SmbPopulationEvaluator`` has the contract of ``agent.neat.evaluator.PopulationEvaluator``
(``evaluate_local(genomes, config) -> Evaluation``, ``set_levels(levels)``, ``close()``), so
``agent.neat.backends`` shards it over worker processes or Ray in the same way. Its levels are
stage names (``"1-1"``), not built-in levels.

Inside one process a few emulators (``emulators``, default 4) serve the whole shard: the
genomes are played in waves of that many (genome, level) runs, in lockstep with one batched
network (``agent.neat.batched.BatchedRecurrent``, one instance per run) through the episode loop
of ``agent.episodes`` over ``envs.smb.console.SmbWorlds``, and every emulator goes back to its
post-title-screen snapshot between runs (``Console.restart``). Each emulator boots once per
process (about 0.3 s) and is reused for every later generation. The emulator costs ~1.4 ms a
frame and the network a few microseconds, so the wave size matters little.

Scoring is ``agent.neat.fitness``'s (MarI/O's ``rightmost - frames / 2``, plus 1000 for the
flag) and a run ends as in the built-in world: MarI/O's no-progress timeout checked at each
decision (``envs.sim.rules``), Mario losing his life, or the flag. A run's progress is known
only where the stage's end is (``envs.smb.console.STAGE_END_X``), else NaN.
"""

from __future__ import annotations

from collections.abc import Sequence

import neat
import numpy as np

from agent.episodes import Episodes
from agent.neat.batched import BatchedRecurrent
from agent.neat.fitness import Evaluation, FitnessSettings, assign_fitness
from agent.neat.network import CompiledPopulation, compile_population
from agent.neat.policy import NeatPolicy
from envs.smb.console import Console, SmbWorlds
from envs.smb.ram import parse_stage


class SmbPopulationEvaluator:
    """Scores genomes on Super Mario Bros. stages; usable as neat-python's fitness function."""

    def __init__(
        self,
        levels: Sequence[str],
        settings: FitnessSettings | None = None,
        *,
        emulators: int = 4,
        net_backend: str = "numpy",
        device: str = "cpu",
    ):
        if emulators < 1:
            raise ValueError(f"emulators must be at least 1, got {emulators}")
        self.settings = settings or FitnessSettings()
        self.emulators = emulators
        self.net_backend = net_backend
        self.device = device
        self.last: Evaluation | None = None
        self._consoles: dict[tuple[int, int], list[Console]] = {}
        self.set_levels(levels)

    def set_levels(self, levels: Sequence[str]) -> None:
        if not levels:
            raise ValueError("evaluation needs at least one level")
        self.stages = [parse_stage(str(level)) for level in levels]
        self.levels = [f"{w}-{s}" for w, s in self.stages]

    def _consoles_for(self, stage: tuple[int, int], count: int) -> list[Console]:
        """``count`` emulators at the start of ``stage`` (booted on first need, then kept)."""
        have = self._consoles.setdefault(stage, [])
        while len(have) < count:
            have.append(Console(*stage))
        return have[:count]

    def evaluate(self, genomes: Sequence[tuple[int, object]], config: neat.Config) -> Evaluation:
        return self.evaluate_local(list(genomes), config)

    def evaluate_local(self, genomes: list, config: neat.Config) -> Evaluation:
        """Play every genome on every stage in this process; genomes are not modified."""
        genomes = list(genomes)
        n_levels = len(self.stages)
        shape = (len(genomes), n_levels)
        rightmost = np.zeros(shape, dtype=np.float64)
        frames = np.zeros(shape, dtype=np.int64)
        completed = np.zeros(shape, dtype=bool)
        progress = np.full(shape, np.nan)
        if genomes:
            compiled = compile_population(genomes, config)
            per_wave = max(1, self.emulators // n_levels)  # genomes per wave
            for g0 in range(0, len(genomes), per_wave):
                g1 = min(g0 + per_wave, len(genomes))
                records = self._play_wave(compiled.select(np.arange(g0, g1)), g1 - g0)
                for k, rec in enumerate(records):
                    at = (g0 + k // n_levels, k % n_levels)
                    rightmost[at], frames[at] = rec["rightmost"], rec["frames"]
                    completed[at] = rec["completed"]
                    if rec["progress"] is not None:
                        progress[at] = rec["progress"]
        return Evaluation.of_runs(rightmost, frames, completed, progress, self.settings)

    def _play_wave(self, compiled: CompiledPopulation, n_genomes: int) -> list[dict]:
        """Genomes ``compiled`` (n_genomes of them) on every stage at once: run b = g * L + l;
        returns the runs' episode records (``SmbWorlds.records``)."""
        s = self.settings
        n_levels = len(self.stages)
        consoles = {
            stage: iter(self._consoles_for(stage, n_genomes * self.stages.count(stage)))
            for stage in set(self.stages)
        }
        worlds = SmbWorlds(
            [next(consoles[self.stages[b % n_levels]]) for b in range(n_genomes * n_levels)]
        )
        net = BatchedRecurrent(
            compiled, n_levels, device=self.device, backend=self.net_backend, dtype=np.float64
        )
        policy = NeatPolicy(
            net,
            s.activations_per_step,
            frame_skip=s.frame_skip,
            view_radius=s.view_radius,
            encoding=s.encoding,
        )
        Episodes(worlds, policy, rules=s.episode_rules()).run()
        return worlds.records()

    def __call__(self, genomes: Sequence[tuple[int, object]], config: neat.Config) -> None:
        """neat-python's fitness function: sets ``genome.fitness`` for every genome."""
        self.last = assign_fitness(genomes, self.evaluate_local, config)

    def close(self) -> None:
        for consoles in self._consoles.values():
            for console in consoles:
                console.close()
        self._consoles.clear()
