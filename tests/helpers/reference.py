"""Yardsticks of the NEAT evaluators: fitness computed the way neat-python users write it.

One ``neat.nn.RecurrentNetwork`` per genome, one single Gymnasium env (the built-in world's
``PlatformerEnv`` or the real game's ``SuperMarioBrosTilesEnv``), one level after another, with
MarI/O's timeout (``envs.sim.rules.out_of_time``) checked after every step. The batched
evaluators must give exactly these numbers (tests) and beat their speed (benchmarks, which run
from the repository root and import this module).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import neat
import numpy as np

from agent.neat.fitness import FitnessSettings, fitness_of
from envs.levels.level import Level
from envs.sim.rules import out_of_time

__all__ = ["aggregate_scores", "reference_episode", "reference_fitness", "smb_reference_fitness"]


def reference_episode(
    net: neat.nn.RecurrentNetwork,
    env: Any,
    s: FitnessSettings,
    is_stalled: Callable[[Any, dict], bool],
    **reset_kwargs: Any,
) -> float:
    """One run: ``net`` (reset first) plays the Gymnasium ``env`` from ``env.reset(seed=0,
    **reset_kwargs)``, reading the grid through ``s``'s input encoding, pressing the buttons
    whose outputs are positive, until the episode ends or ``is_stalled(env, info)`` (MarI/O's
    timeout); returns MarI/O's fitness of the run."""
    obs, info = env.reset(seed=0, **reset_kwargs)
    net.reset()
    done = False
    while not done:
        for _ in range(s.activations_per_step):
            out = net.activate(s.encoding.encode(obs[None])[0].tolist())
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
    """A genome's fitness on built-in levels, one ``PlatformerEnv`` after another."""
    from envs.gym.platformer import PlatformerEnv

    s = settings

    def stalled(env: Any, _info: dict) -> bool:
        return bool(env.world.out_of_time(s.timeout_frames, s.timeout_growth)[0])

    net = neat.nn.RecurrentNetwork.create(genome, config)
    scores = []
    for level in levels:
        env = PlatformerEnv(level, frame_skip=s.frame_skip, view_radius=s.view_radius)
        scores.append(reference_episode(net, env, s, stalled))
    return aggregate_scores(scores, s)


def smb_reference_fitness(
    genome: object,
    config: neat.Config,
    levels: Sequence[str],
    settings: FitnessSettings,
    env: Any | None = None,
) -> float:
    """A genome's fitness on Super Mario Bros. stages, one ``SuperMarioBrosTilesEnv`` (``env``,
    reused when given) playing one stage after another."""
    from envs.smb.env import SuperMarioBrosTilesEnv

    s = settings
    own = env is None
    if env is None:
        env = SuperMarioBrosTilesEnv(frame_skip=s.frame_skip, view_radius=s.view_radius)
    if (env.frame_skip, env.view_radius) != (s.frame_skip, s.view_radius):
        raise ValueError("env: frame_skip and view_radius must be the settings' ones")
    net = neat.nn.RecurrentNetwork.create(genome, config)

    def stalled(_env: Any, info: dict) -> bool:
        since = info["frames_since_progress"]
        return bool(out_of_time(info["frames"], since, s.timeout_frames, s.timeout_growth))

    scores = []
    try:
        for level in levels:
            scores.append(reference_episode(net, env, s, stalled, options={"level": level}))
    finally:
        if own:
            env.close()
    return aggregate_scores(scores, s)
