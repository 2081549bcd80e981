"""Fitness of a whole NEAT population at once: every genome on every level, in lockstep.

A generation's genomes are compiled into one ``BatchedRecurrent`` (``agent.neat.batched``) with
one network instance per (genome, level) pair, and the same number of worlds advance together in
one ``envs.sim.world.World``. Each decision: observe all grids, the networks' synchronous
updates, press the buttons whose outputs are positive, hold them for ``frame_skip`` frames.
The whole loop runs in compiled code (``agent.neat.rollout``) where the population allows it,
else step by step from Python (``play_population``), with the same results.

Scoring is ``agent.neat.fitness``'s (MarI/O's ``rightmost - frames / 2``, plus 1000 for the
flag). A run also ends when the player dies, runs out of level time, or has not set a new
rightmost position for MarI/O's timeout (``envs.sim.rules.out_of_time``: ``timeout_frames`` plus
a quarter of the frames played). The timeout is checked at each decision (every ``frame_skip``
frames), so a run ends at the first decision past the limit: MarI/O checks every frame, which
can end a run up to 4 frames (2 fitness points) earlier. Over several levels the fitness is the
mean (or the minimum) per genome.
"""

from __future__ import annotations

from collections.abc import Sequence

import neat
import numpy as np

from agent.neat.batched import BatchedRecurrent
from agent.neat.fitness import Evaluation, FitnessSettings, assign_fitness
from agent.neat.network import compile_population
from agent.neat.policy import NeatPolicy
from agent.neat.rollout import play_compiled
from envs.levels.level import Level
from envs.sim.constants import COMPLETED, RUNNING
from envs.sim.world import LevelBank, World

__all__ = ["Evaluation", "FitnessSettings", "PopulationEvaluator", "play_population"]


def play_population(
    policy: NeatPolicy, world: World, s: FitnessSettings, per_genome: int | None = None
) -> int:
    """Run every (network, world) pair until all runs end; returns frames simulated.

    Network instance b drives world b; ended worlds are frozen and their buttons released.
    With ``per_genome`` = k (instances b = p*k .. p*k+k-1 belong to genome p), the batch is
    compacted to the genomes still playing whenever fewer than half are: the long tail of a
    generation then costs what its few survivors cost. ``world`` ends up holding every world's
    final state, in the original order.
    """
    n = world.n
    live = world  # the worlds still being stepped (all of them until the first compaction)
    rows = np.arange(n)  # their rows in ``world``
    obs = np.empty((n, 2 * s.view_radius + 1, 2 * s.view_radius + 1), dtype=np.float32)
    running = live.status() == RUNNING
    while running.any():
        view = obs[: live.n]
        live.observe(s.view_radius, out=view)
        buttons = policy.act(view)
        buttons[~running] = 0
        live.step(buttons, s.frame_skip)
        live.time_out(live.out_of_time(s.timeout_frames, s.timeout_growth))
        running = live.status() == RUNNING
        if per_genome is not None:
            playing = running.reshape(-1, per_genome).any(axis=1)
            if 0 < playing.sum() * 2 < len(playing) and len(playing) >= 8:
                keep_genomes = np.flatnonzero(playing)
                keep = (keep_genomes[:, None] * per_genome + np.arange(per_genome)).ravel()
                world.P[rows] = live.P  # finished worlds keep their final state here
                policy = NeatPolicy(
                    policy.net.select(keep_genomes),
                    policy.activations_per_step,
                    encoding=policy.encoding,
                )
                live, rows, running = live.take(keep), rows[keep], running[keep]
    if live is not world:
        world.P[rows] = live.P
    return int(world.frames().sum())


class PopulationEvaluator:
    """Scores genomes on a level set; usable as neat-python's fitness function.

    ``evaluate_local`` plays the genomes in this process, in one batch; ``net_backend`` and
    ``device`` choose the network math (``"numpy"`` on the CPU, or ``"torch"`` on any device);
    ``compiled_loop`` False forces the step-by-step path. ``agent.neat.backends`` shards it over
    worker processes or Ray (with identical results).
    """

    def __init__(
        self,
        levels: Sequence[Level],
        settings: FitnessSettings | None = None,
        *,
        net_backend: str = "numpy",
        device: str = "cpu",
        compiled_loop: bool = True,
    ):
        self.settings = settings or FitnessSettings()
        self.compiled_loop = compiled_loop
        self.net_backend = net_backend
        self.device = device
        self.last: Evaluation | None = None
        self.set_levels(levels)

    def set_levels(self, levels: Sequence[Level]) -> None:
        if not levels:
            raise ValueError("evaluation needs at least one level")
        self.levels = list(levels)
        self.bank = LevelBank(self.levels)

    def evaluate(self, genomes: Sequence[tuple[int, object]], config: neat.Config) -> Evaluation:
        """Play every genome on every level; genomes are not modified."""
        return self.evaluate_local(list(genomes), config)

    def evaluate_local(self, genomes: list, config: neat.Config) -> Evaluation:
        """Play every genome on every level in this process, all in one batch."""
        s = self.settings
        n_levels = len(self.levels)
        compiled = compile_population(genomes, config)
        # float64, as neat-python computes: a button is pressed on the sign of an output, and a
        # float32 rounding near 0 could flip it and change the run.
        net = BatchedRecurrent(
            compiled, n_levels, device=self.device, backend=self.net_backend, dtype=np.float64
        )
        world = World(self.bank, len(genomes) * n_levels)
        world.reset(np.tile(np.arange(n_levels, dtype=np.int32), len(genomes)))
        arrays = net.kernel_arrays() if self.compiled_loop else None
        if arrays is not None:
            play_compiled(arrays, world, s)
        else:
            policy = NeatPolicy(net, s.activations_per_step, encoding=s.encoding)
            play_population(policy, world, s, n_levels)
        shape = (len(genomes), n_levels)
        return Evaluation.of_runs(
            rightmost=world.rightmost_px().reshape(shape),
            frames=world.frames().reshape(shape).copy(),
            completed=(world.status() == COMPLETED).reshape(shape),
            progress=world.progress().reshape(shape),
            s=s,
        )

    def __call__(self, genomes: Sequence[tuple[int, object]], config: neat.Config) -> None:
        """neat-python's fitness function: sets ``genome.fitness`` for every genome."""
        self.last = assign_fitness(genomes, self.evaluate, config)
