"""Playing agents headless: one episode's result, and many episodes in one batch.

``episode_result(name, view)`` is the record of one finished episode, used by ``play.py
--headless`` and by the comparison harness alike; ``play_levels(agent, levels, episodes)``
plays every (level, episode) pair at once, one world each, through the ``agent.base.Agent``
interface only (``reset(n)``, batched ``act``, ``frame_skip``, ``view_radius``), and times
the agent's ``act`` calls.

World ``i`` plays ``levels[i % len(levels)]`` (the solver agent maps its worlds to levels the
same way). An agent decides every ``frame_skip`` frames and its buttons are held in between, as
in ``play.py``; episodes end at death, the flag or the level's time limit (or ``max_frames``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from envs.gym.episodes import RewardConfig
from envs.levels.level import Level
from envs.sim.constants import BUTTONS, COMPLETED, DEAD, RUNNING, TILE_PX
from envs.sim.world import LevelBank, World, WorldView

__all__ = [
    "BatchEvaluation",
    "episode_result",
    "play_levels",
    "progress_percent",
    "running_fitness",
]


def progress_percent(view: WorldView) -> float:
    """How far the player got to the flag, in % (100 at the flag)."""
    if view.status == COMPLETED:
        return 100.0
    flag_x = view.level.flag_col * TILE_PX
    return min(100.0, 100.0 * (view.player[0] + view.player_size[0]) / max(flag_x, 1))


def running_fitness(view: WorldView) -> float:
    """MarI/O's fitness so far: ``rightmost - frames / 2``, plus the flag bonus once there."""
    from agent.neat.evaluator import FitnessSettings

    s = FitnessSettings()
    bonus = s.completion_bonus if view.status == COMPLETED else 0.0
    return float(view.rightmost) - s.frame_penalty * view.frames + bonus


def episode_result(agent_name: str, view: WorldView) -> dict[str, Any]:
    """The record of one episode (``play.py --headless --json`` prints these)."""
    return {
        "agent": agent_name,
        "level": view.level.name,
        "completed": view.status == COMPLETED,
        "progress": round(progress_percent(view), 2),
        "frames": view.frames,
        "fitness": round(running_fitness(view), 2),
    }


@dataclass
class BatchEvaluation:
    """Every episode of ``play_levels`` and how long the agent took to decide."""

    episodes: list[dict[str, Any]]  # level-major within each episode index: world i
    act_calls: int  # batched ``act`` calls
    act_seconds: float  # inside ``act`` only
    worlds: int  # the batch size of each call

    @property
    def seconds_per_decision(self) -> float:
        """Inference seconds per world per decision (batched over ``worlds`` worlds)."""
        return self.act_seconds / max(self.act_calls * self.worlds, 1)


def play_levels(
    agent: Any,
    levels: Sequence[Level],
    episodes: int = 1,
    max_frames: int = 0,
    reward: RewardConfig | None = None,
) -> BatchEvaluation:
    """Play ``episodes`` episodes of ``agent`` on each of ``levels`` in one batch of worlds.

    Each result is ``episode_result`` plus ``episode`` (its index), ``rightmost`` (pixels),
    ``frames_to_finish`` (None unless completed), ``dead`` and ``return`` (the Gymnasium
    env's default reward summed over the episode: tiles of progress, +50 flag, -25 death).
    ``max_frames`` (0: none) cuts episodes short; they count as not completed.
    """
    if not levels:
        raise ValueError("play_levels needs at least one level")
    if episodes < 1:
        raise ValueError(f"episodes must be at least 1, got {episodes}")
    levels = list(levels)
    n = len(levels) * episodes
    world = World(LevelBank(levels), n)
    world.reset(np.arange(n, dtype=np.int32) % len(levels))
    start_rightmost = world.rightmost_px().copy()
    agent.reset(n)
    skip = int(agent.frame_skip)
    held = np.zeros((n, len(BUTTONS)), dtype=np.uint8)
    calls, seconds = 0, 0.0
    while True:
        running = world.status() == RUNNING
        if not running.any():
            break
        played = int(world.frames()[running].max())  # the running worlds are in lockstep
        if max_frames and played >= max_frames:
            break
        obs = world.observe(agent.view_radius)
        t0 = time.perf_counter()
        held = np.asarray(agent.act(obs), dtype=np.uint8)
        seconds += time.perf_counter() - t0
        calls += 1
        world.step(held, skip if not max_frames else min(skip, max_frames - played))
    r = reward or RewardConfig()
    gained = (world.rightmost_px() - start_rightmost) / TILE_PX
    out = []
    for i in range(n):
        view = world.view(i)
        res = episode_result(agent.name, view)
        done = view.status == COMPLETED
        dead = view.status == DEAD
        ret = r.progress_per_tile * float(gained[i]) - r.step_penalty * (view.frames / skip)
        ret += r.completion_bonus * done - r.death_penalty * dead
        res.update(
            episode=i // len(levels),
            rightmost=round(float(view.rightmost), 2),
            frames_to_finish=view.frames if done else None,
            dead=dead,
            **{"return": round(ret, 3)},
        )
        out.append(res)
    return BatchEvaluation(out, calls, seconds, n)
