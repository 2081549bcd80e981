"""Fitness of a whole NEAT population at once: every genome on every level, in lockstep.

A generation's genomes are compiled into one ``BatchedRecurrent`` (``agent.neat.network``) with one
network instance per (genome, level) pair, and the same number of worlds advance together in one
``envs.sim.world.World``. Each agent step: observe all grids, one batched network update, press the
buttons whose outputs are positive, hold them for ``frame_skip`` frames. Python loops over
steps, never over genomes or worlds.

Fitness follows MarI/O: ``rightmost - frames / 2``, plus 1000 for reaching the flag. A run also
ends when the player has not set a new rightmost position for ``timeout_frames`` frames plus a
quarter of the frames played so far (MarI/O's ``timeout + currentFrame / 4``), or dies, or runs
out of level time. The timeout is checked at each decision (every ``frame_skip`` frames), so a
run ends at the first decision past the limit: MarI/O checks every frame, which can end a run
up to 4 frames (2 fitness points) earlier. Over several levels the fitness is the mean (or the
minimum) per genome.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import neat
import numpy as np

from agent.neat.network import BatchedRecurrent, compile_population
from agent.neat.policy import NeatPolicy
from agent.neat.rollout import play_compiled
from envs.levels.level import Level
from envs.sim.constants import BUTTONS, COMPLETED, P_STATUS, RUNNING, TIMEOUT
from envs.sim.world import LevelBank, World


class ConfigMismatch(ValueError):
    """A NEAT config whose inputs or outputs do not fit the environment."""


@dataclass(frozen=True)
class FitnessSettings:
    """How genomes are played and scored (MarI/O's choices by default)."""

    frame_skip: int = 5  # the network decides every 5th frame, buttons held in between
    view_radius: int = 6  # a 13 x 13 input grid
    timeout_frames: int = 20  # MarI/O's TimeoutConstant
    timeout_growth: float = 0.25  # the no-progress allowance grows by frames / 4
    completion_bonus: float = 1000.0
    frame_penalty: float = 0.5  # fitness loses frames * 0.5
    aggregate: str = "mean"  # "mean" or "min" over the evaluation levels
    activations_per_step: int = 1  # synchronous network updates per decision

    def __post_init__(self) -> None:
        if self.aggregate not in ("mean", "min"):
            raise ValueError(f"aggregate must be 'mean' or 'min', got {self.aggregate!r}")
        for name in ("frame_skip", "view_radius", "activations_per_step"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")

    @property
    def num_inputs(self) -> int:
        return (2 * self.view_radius + 1) ** 2

    def stall_limit(self, frames: Any) -> Any:
        """MarI/O's no-progress allowance after ``frames`` frames (a number or an array): a run
        ends once it has gone this many frames without a new rightmost position."""
        return self.timeout_frames + self.timeout_growth * frames


@dataclass
class Evaluation:
    """Scores of one population on one level set; rows follow the genome order given."""

    fitness: np.ndarray  # (P,) aggregated over levels
    level_fitness: np.ndarray  # (P, L)
    completed: np.ndarray  # (P, L) bool
    rightmost: np.ndarray  # (P, L) px
    frames: np.ndarray  # (P, L) frames each run lasted
    frames_simulated: int

    @staticmethod
    def concat(parts: Sequence[Evaluation]) -> Evaluation:
        cat = {k: np.concatenate([getattr(p, k) for p in parts]) for k in _PER_GENOME}
        return Evaluation(**cat, frames_simulated=sum(p.frames_simulated for p in parts))


_PER_GENOME = ("fitness", "level_fitness", "completed", "rightmost", "frames")


def check_config_matches(config: neat.Config, view_radius: int = 6) -> None:
    """Raise ConfigMismatch unless the config's inputs and outputs fit the grid and buttons."""
    gc = config.genome_config
    want_in = (2 * view_radius + 1) ** 2
    if gc.num_inputs != want_in:
        raise ConfigMismatch(
            f"the config has num_inputs = {gc.num_inputs}, but the observation grid with "
            f"view radius {view_radius} has {want_in} cells"
        )
    if gc.num_outputs != len(BUTTONS):
        raise ConfigMismatch(
            f"the config has num_outputs = {gc.num_outputs}, but the controller has "
            f"{len(BUTTONS)} buttons ({', '.join(BUTTONS)})"
        )


def fitness_of(
    rightmost_px: np.ndarray, frames: np.ndarray, completed: np.ndarray, s: FitnessSettings
) -> np.ndarray:
    """MarI/O's fitness: rightmost - frames * 0.5, plus the bonus for reaching the flag."""
    return rightmost_px - s.frame_penalty * frames + s.completion_bonus * completed


def stalled(world: World, s: FitnessSettings) -> np.ndarray:
    """Worlds whose no-progress allowance (MarI/O's timeout) has run out."""
    allowance = s.stall_limit(world.frames())
    return (world.status() == RUNNING) & (world.frames_since_progress() >= allowance)


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
        live.P[stalled(live, s), P_STATUS] = TIMEOUT
        running = live.status() == RUNNING
        if per_genome is not None:
            playing = running.reshape(-1, per_genome).any(axis=1)
            if 0 < playing.sum() * 2 < len(playing) and len(playing) >= 8:
                keep_genomes = np.flatnonzero(playing)
                keep = (keep_genomes[:, None] * per_genome + np.arange(per_genome)).ravel()
                world.P[rows] = live.P  # finished worlds keep their final state here
                policy = NeatPolicy(policy.net.select(keep_genomes), policy.activations_per_step)
                live, rows, running = live.take(keep), rows[keep], running[keep]
    if live is not world:
        world.P[rows] = live.P
    return int(world.frames().sum())


def assign_fitness(
    genomes: Sequence[tuple[int, object]],
    evaluate: Callable[[list, neat.Config], Evaluation],
    config: neat.Config,
) -> Evaluation:
    """Evaluate ``genomes`` and set each one's ``fitness``, as neat-python's fitness function
    must; returns the evaluation."""
    genomes = list(genomes)
    result = evaluate(genomes, config)
    for (_, genome), fit in zip(genomes, result.fitness, strict=True):
        genome.fitness = float(fit)
    return result


class PopulationEvaluator:
    """Scores genomes on a fixed level set; usable as neat-python's fitness function.

    ``evaluate_local`` plays the genomes in this process, in one batch; ``net_backend`` and
    ``device`` choose the network math (``"numpy"`` on the CPU, or ``"torch"`` on any device).
    ``workers > 1`` makes ``evaluate`` split the population into that many shards evaluated in
    worker processes (``agent.neat.backends.ProcessBackend``, each running ``evaluate_local`` on its
    shard); the result is identical. ``agent.neat.backends`` also spreads shards over Ray.
    """

    def __init__(
        self,
        levels: Sequence[Level],
        settings: FitnessSettings | None = None,
        *,
        net_backend: str = "numpy",
        device: str = "cpu",
        workers: int = 1,
        compiled_loop: bool = True,
    ):
        self.settings = settings or FitnessSettings()
        self.compiled_loop = compiled_loop
        self.net_backend = net_backend
        self.device = device
        self.workers = workers
        self.last: Evaluation | None = None
        self._pool = None  # agent.neat.backends.ProcessBackend, started on first use
        self.set_levels(levels)

    def set_levels(self, levels: Sequence[Level]) -> None:
        if not levels:
            raise ValueError("evaluation needs at least one level")
        self.levels = list(levels)
        self.bank = LevelBank(self.levels)
        if self._pool is not None:
            self._pool.set_levels(self.levels)  # travels to the workers with the next shards

    def factory(self):
        """An ``agent.neat.backends.EvaluatorFactory`` building this evaluator (without workers)."""
        from agent.neat.backends import EvaluatorFactory

        kwargs = {
            "net_backend": self.net_backend,
            "device": self.device,
            "compiled_loop": self.compiled_loop,
        }
        return EvaluatorFactory(PopulationEvaluator, (self.levels, self.settings), kwargs)

    def evaluate(self, genomes: Sequence[tuple[int, object]], config: neat.Config) -> Evaluation:
        """Play every genome on every level; genomes are not modified."""
        genomes = list(genomes)
        if self.workers > 1 and len(genomes) >= 2 * self.workers:
            if self._pool is None:
                from agent.neat.backends import ProcessBackend

                self._pool = ProcessBackend(self.factory(), self.workers)
            return self._pool.evaluate(genomes, config)
        return self.evaluate_local(genomes, config)

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
            frames_simulated = play_compiled(arrays, world, s)
        else:
            policy = NeatPolicy(net, s.activations_per_step)
            frames_simulated = play_population(policy, world, s, per_genome=n_levels)
        shape = (len(genomes), n_levels)
        completed = (world.status() == COMPLETED).reshape(shape)
        rightmost = world.rightmost_px().reshape(shape)
        frames = world.frames().reshape(shape).copy()
        level_fitness = fitness_of(rightmost, frames, completed, s)
        agg = level_fitness.mean(axis=1) if s.aggregate == "mean" else level_fitness.min(axis=1)
        return Evaluation(agg, level_fitness, completed, rightmost, frames, frames_simulated)

    def __call__(self, genomes: Sequence[tuple[int, object]], config: neat.Config) -> None:
        """neat-python's fitness function: sets ``genome.fitness`` for every genome."""
        self.last = assign_fitness(genomes, self.evaluate, config)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None


def reference_episode(
    net: neat.nn.RecurrentNetwork,
    env: Any,
    s: FitnessSettings,
    is_stalled: Callable[[Any, dict], bool],
    **reset_kwargs: Any,
) -> float:
    """One run scored the way neat-python users write it: ``net`` (reset first) plays the
    single Gymnasium ``env`` from ``env.reset(seed=0, **reset_kwargs)``, pressing the buttons
    whose outputs are positive, until the episode ends or ``is_stalled(env, info)`` (MarI/O's
    timeout); returns MarI/O's fitness of the run."""
    obs, info = env.reset(seed=0, **reset_kwargs)
    net.reset()
    done = False
    while not done:
        for _ in range(s.activations_per_step):
            out = net.activate(obs.ravel().tolist())
        obs, _, terminated, truncated, info = env.step(np.asarray(out) > 0)
        done = terminated or truncated or is_stalled(env, info)
    frames = np.float64(info["frames"])
    return float(fitness_of(np.float64(info["rightmost"]), frames, info["completed"], s))


def aggregate_scores(scores: Sequence[float], s: FitnessSettings) -> float:
    """The fitness over several levels: the mean or the minimum of the per-level scores."""
    return float(np.mean(scores) if s.aggregate == "mean" else np.min(scores))


def reference_fitness(
    genome: object, config: neat.Config, levels: Sequence[Level], settings: FitnessSettings
) -> float:
    """The same fitness computed the way neat-python users write it: one
    ``RecurrentNetwork`` per genome, one single Gymnasium env, one level after another.

    Kept as the yardstick for tests (same values) and benchmarks (speed).
    """
    from envs.gym.platformer import PlatformerEnv

    s = settings
    net = neat.nn.RecurrentNetwork.create(genome, config)
    scores = []
    for level in levels:
        env = PlatformerEnv(level, frame_skip=s.frame_skip, view_radius=s.view_radius)
        scores.append(reference_episode(net, env, s, lambda e, _: bool(stalled(e.world, s)[0])))
    return aggregate_scores(scores, s)
