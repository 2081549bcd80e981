"""Fitness of a NEAT population on the real Super Mario Bros. (``envs.smb.env``), MarI/O's way.

``SmbPopulationEvaluator`` has the contract of ``agent.neat.evaluator.PopulationEvaluator``
(``evaluate_local(genomes, config) -> Evaluation``, ``set_levels(levels)``, ``close()``), so
``agent.neat.backends`` shards it over worker processes or Ray in the same way. Its levels are stage
names (``"1-1"``), not built-in levels.

Inside one process a few emulators (``emulators``, default 4) serve the whole shard: the
genomes are played in waves of that many (genome, level) runs, in lockstep with one batched
network (``agent.neat.network.BatchedRecurrent``, one instance per run), and every emulator
goes back to its post-title-screen snapshot between runs (``Console.restart``). Each emulator
boots once per process (about 0.3 s) and is reused for every later generation. The emulator
costs ~1.4 ms a frame and the network a few microseconds, so the wave size matters little.

Scoring is ``agent.neat.evaluator``'s: ``fitness_of`` (MarI/O's ``rightmost - frames / 2``, plus
1000 for the flag) and the stall rule of ``stalled`` (no new rightmost x for ``timeout_frames``
frames plus a quarter of the frames played, checked at each decision). A run also ends when
Mario loses his life or reaches the flag. ``reference_fitness`` computes the same numbers the
plain way (one ``neat.nn.RecurrentNetwork``, one ``SuperMarioBrosTilesEnv``) for tests.
"""

from __future__ import annotations

from collections.abc import Sequence

import neat
import numpy as np

from agent.neat.evaluator import (
    Evaluation,
    FitnessSettings,
    aggregate_scores,
    assign_fitness,
    fitness_of,
    reference_episode,
)
from agent.neat.network import BatchedRecurrent, compile_population
from agent.neat.policy import NeatPolicy
from envs.sim.constants import COMPLETED, TIMEOUT
from envs.smb.console import Console, SmbRun
from envs.smb.ram import joypad_bytes, parse_stage, tile_grid


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
        s = self.settings
        n_levels = len(self.stages)
        shape = (len(genomes), n_levels)
        rightmost = np.zeros(shape, dtype=np.float64)
        frames = np.zeros(shape, dtype=np.int64)
        completed = np.zeros(shape, dtype=bool)
        if genomes:
            compiled = compile_population(genomes, config)
            per_wave = max(1, self.emulators // n_levels)  # genomes per wave
            for g0 in range(0, len(genomes), per_wave):
                g1 = min(g0 + per_wave, len(genomes))
                runs = self._play_wave(compiled.select(np.arange(g0, g1)), g1 - g0)
                for k, run in enumerate(runs):
                    g, lv = g0 + k // n_levels, k % n_levels
                    rightmost[g, lv] = run.rightmost
                    frames[g, lv] = run.frames
                    completed[g, lv] = run.status == COMPLETED
        level_fitness = fitness_of(rightmost, frames, completed, s)
        if s.aggregate == "mean":
            agg = level_fitness.mean(axis=1)
        else:
            agg = level_fitness.min(axis=1)
        return Evaluation(agg, level_fitness, completed, rightmost, frames, int(frames.sum()))

    def _play_wave(self, compiled, n_genomes: int) -> list[SmbRun]:
        """Genomes ``compiled`` (n_genomes of them) on every stage at once: run b = g * L + l."""
        s = self.settings
        n_levels = len(self.stages)
        consoles = {
            stage: iter(self._consoles_for(stage, n_genomes * self.stages.count(stage)))
            for stage in set(self.stages)
        }
        runs = [
            SmbRun(next(consoles[self.stages[b % n_levels]])) for b in range(n_genomes * n_levels)
        ]
        net = BatchedRecurrent(
            compiled, n_levels, device=self.device, backend=self.net_backend, dtype=np.float64
        )
        policy = NeatPolicy(net, s.activations_per_step)
        size = 2 * s.view_radius + 1
        obs = np.zeros((len(runs), size, size), dtype=np.float32)
        live = list(range(len(runs)))
        while live:
            for b in live:
                tile_grid(runs[b].console.ram, s.view_radius, out=obs[b])
            pads = joypad_bytes(policy.act(obs))
            for b in live:
                run = runs[b]
                run.advance(int(pads[b]), s.frame_skip)
                if run.running and run.frames_since_progress >= s.stall_limit(run.frames):
                    run.status = TIMEOUT
            live = [b for b in live if runs[b].running]
        return runs

    def __call__(self, genomes: Sequence[tuple[int, object]], config: neat.Config) -> None:
        """neat-python's fitness function: sets ``genome.fitness`` for every genome."""
        self.last = assign_fitness(genomes, self.evaluate_local, config)

    def close(self) -> None:
        for consoles in self._consoles.values():
            for console in consoles:
                console.close()
        self._consoles.clear()


def reference_fitness(
    genome: object,
    config: neat.Config,
    levels: Sequence[str],
    settings: FitnessSettings,
    env: object | None = None,
) -> float:
    """The same fitness the way neat-python users write it: one ``RecurrentNetwork``, one
    ``SuperMarioBrosTilesEnv`` (``env``, reused when given), one stage after another (the
    yardstick of the tests)."""
    from envs.smb.env import SuperMarioBrosTilesEnv

    s = settings
    own = env is None
    if env is None:
        env = SuperMarioBrosTilesEnv(frame_skip=s.frame_skip, view_radius=s.view_radius)
    if (env.frame_skip, env.view_radius) != (s.frame_skip, s.view_radius):
        raise ValueError("env: frame_skip and view_radius must be the settings' ones")
    net = neat.nn.RecurrentNetwork.create(genome, config)

    def stalled(_env: object, info: dict) -> bool:
        return info["frames_since_progress"] >= s.stall_limit(info["frames"])

    scores = []
    try:
        for level in levels:
            scores.append(reference_episode(net, env, s, stalled, options={"level": level}))
    finally:
        if own:
            env.close()
    return aggregate_scores(scores, s)
