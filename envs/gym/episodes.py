"""Episodes over a batch of worlds: level choice at reset, rewards, endings and ``info``.

``EpisodeBatch`` is the one piece behind both Gymnasium environments: the single env is the
N = 1 case and the vector env uses it directly, so rewards and endings are defined once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from envs.checks import MAX_FRAME_SKIP, MAX_VIEW_RADIUS, check_int
from envs.levels.level import Level, load_level
from envs.sim.constants import (
    COMPLETED,
    DEAD,
    P_COINS,
    P_LEVEL,
    P_RIGHTMOST,
    P_STATUS,
    P_STOMPS,
    PLAYER_W,
    RUNNING,
    TILE,
    TIMEOUT,
    UNIT,
)
from envs.sim.world import LevelBank, World

LevelSpec = str | Path | Level
PLAYER_W_PX = PLAYER_W // UNIT


@dataclass(frozen=True)
class RewardConfig:
    """Reward for learners: progress to the right, a bonus for the flag, a penalty for dying."""

    progress_per_tile: float = 1.0  # paid for each tile of new rightmost progress
    completion_bonus: float = 50.0
    death_penalty: float = 25.0
    step_penalty: float = 0.0  # paid every step, to favour quick runs
    # None: an episode cut for making no progress (``no_progress_frames``) is truncated, and a
    # learner bootstraps it, so standing still in front of a hard obstacle costs nothing and
    # becomes a safe choice; a number: that cut ends the episode as a failure paying this much
    stall_penalty: float | None = None


def step_reward(
    r: RewardConfig, gain_tiles, completed, dead, stalled
) -> tuple[np.ndarray, np.ndarray]:
    """One agent step's reward and whether it ends the episode, from the tiles of new progress
    and how the step ended (arrays or scalars): the rule both envs (the built-in world's and the
    real game's) pay by."""
    reward = r.progress_per_tile * np.asarray(gain_tiles, dtype=np.float64) - r.step_penalty
    reward = reward + np.where(completed, r.completion_bonus, 0.0)
    reward = reward - np.where(dead, r.death_penalty, 0.0)
    terminated = np.logical_or(completed, dead)
    if r.stall_penalty is not None:
        reward = reward - np.where(stalled, r.stall_penalty, 0.0)
        terminated = terminated | np.asarray(stalled, dtype=np.bool_)
    return reward, terminated


def resolve_levels(level: LevelSpec | Sequence[LevelSpec] | None) -> list[Level] | None:
    """Turn a level argument into a list of levels (``None`` means freshly generated ones)."""
    if level is None:
        return None
    specs = [level] if isinstance(level, str | Path | Level) else list(level)
    if not specs:
        raise ValueError("level: an empty list of levels")
    return [s if isinstance(s, Level) else load_level(s) for s in specs]


def check_play_settings(frame_skip: int, view_radius: int, no_progress_frames: int | None) -> None:
    """The settings every env of this project takes (the built-in world's and the real game's);
    a one-line ``ValueError`` naming the bad one (types and bounds: ``envs.checks``)."""
    check_int("frame_skip", frame_skip, 1, MAX_FRAME_SKIP)
    check_int("view_radius", view_radius, 1, MAX_VIEW_RADIUS)
    if no_progress_frames is not None:
        check_int("no_progress_frames", no_progress_frames, 1)


class EpisodeBatch:
    """N episodes in lockstep on fixed levels or on fresh generated ones.

    With a list of levels each reset draws one at random for that world; with ``level=None``
    each reset generates a new level from ``difficulty`` and ``length``. Generating includes
    the solver's proof of completability (about 0.07 s a level); ``level_pool=K`` draws level
    seeds from ``range(K)`` instead, so after the first K levels resets reuse cached ones.
    """

    def __init__(
        self,
        n: int,
        level: LevelSpec | Sequence[LevelSpec] | None = "1-1",
        *,
        difficulty: float = 0.5,
        length: int = 150,
        frame_skip: int = 5,
        view_radius: int = 6,
        no_progress_frames: int | None = None,
        reward: RewardConfig | None = None,
        level_pool: int | None = None,
    ):
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        check_play_settings(frame_skip, view_radius, no_progress_frames)
        if level_pool is not None and not 1 <= level_pool <= 512:
            raise ValueError(f"level_pool must be from 1 to 512 (the cache size), got {level_pool}")
        if not 0.0 <= difficulty <= 1.0:
            raise ValueError(f"difficulty must be within [0, 1], got {difficulty}")
        self.n = n
        self.levels = resolve_levels(level)
        self.difficulty = float(difficulty)
        self.length = int(length)
        self.frame_skip = frame_skip
        self.view_radius = view_radius
        self.no_progress_frames = no_progress_frames
        self.reward = reward or RewardConfig()
        self.level_pool = level_pool
        # How resets draw among ``levels`` (None: uniformly); see ``set_level_weights``.
        self.level_weights: np.ndarray | None = None
        if self.levels is None:
            # One slot per world, refilled with a new generated level at each of its resets.
            bank = LevelBank([self._generate(0)] * n)
        else:
            bank = LevelBank(self.levels)
        self.world = World(bank, n)
        self.world.reset(0)
        self._obs = np.zeros((n, 2 * view_radius + 1, 2 * view_radius + 1), dtype=np.float32)

    def _generate(self, seed: int) -> Level:
        from envs.levels.generator import generate_level  # the generator pulls in the solver

        return generate_level(seed, self.difficulty, self.length)

    @property
    def obs_shape(self) -> tuple[int, int]:
        size = 2 * self.view_radius + 1
        return (size, size)

    def reset(
        self,
        mask: np.ndarray,
        rngs: Sequence[np.random.Generator],
        level: LevelSpec | None = None,
    ) -> None:
        """Restart the worlds in ``mask``; ``rngs[i]`` draws world i's level when there is a choice.

        ``level`` forces one level for those worlds (a reset option).
        """
        idx = np.flatnonzero(mask)
        slots = self.world.P[:, P_LEVEL].copy()
        if level is not None:
            forced = level if isinstance(level, Level) else load_level(level)
            for i in idx:
                slot = i if self.levels is None else self._slot_for(forced)
                slots[i] = slot
                if self.levels is None:
                    self.world.bank.set(i, forced)
        elif self.levels is None:
            for i in idx:
                seed = int(rngs[i].integers(self.level_pool or 2**31))
                self.world.bank.set(i, self._generate(seed))
                slots[i] = i
        elif len(self.levels) > 1:
            for i in idx:
                if self.level_weights is None:
                    slots[i] = rngs[i].integers(len(self.levels))
                else:
                    slots[i] = rngs[i].choice(len(self.levels), p=self.level_weights)
        else:
            slots[idx] = 0
        self.world.reset(slots, mask)

    def set_level_weights(self, weights: np.ndarray | None) -> None:
        """Make later resets draw level i with probability ``weights[i]`` (one per level of
        the fixed list, non-negative, summing to 1; None: uniformly again)."""
        if weights is None:
            self.level_weights = None
            return
        if self.levels is None:
            raise ValueError("level weights need a fixed list of levels, not generated ones")
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (len(self.levels),) or not np.isfinite(w).all() or (w < 0).any():
            raise ValueError(
                f"level weights: expected {len(self.levels)} finite non-negative numbers"
            )
        if not np.isclose(w.sum(), 1.0):
            raise ValueError(f"level weights must sum to 1, got {w.sum():.6g}")
        self.level_weights = w / w.sum()

    def _slot_for(self, level: Level) -> int:
        """The bank slot holding ``level``, added to the bank if new."""
        for slot, known in enumerate(self.world.bank.levels):
            if known == level:
                return slot
        return self.world.bank.add(level)

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Advance all running worlds one agent step; returns (reward, terminated, truncated)."""
        P = self.world.P
        running = P[:, P_STATUS] == RUNNING
        before = P[:, P_RIGHTMOST].copy()
        self.world.step(actions, self.frame_skip)
        status = P[:, P_STATUS]
        stalled = np.zeros(len(P), dtype=np.bool_)
        if self.no_progress_frames is not None:
            stalled = running & (status == RUNNING)
            stalled &= self.world.frames_since_progress() >= self.no_progress_frames
            P[stalled, P_STATUS] = TIMEOUT  # freeze the world: its episode is over
        gain = (P[:, P_RIGHTMOST] - before) / TILE
        reward, ended = step_reward(self.reward, gain, status == COMPLETED, status == DEAD, stalled)
        reward = np.where(running, reward, 0.0)
        terminated = running & ended
        truncated = running & (status == TIMEOUT) & ~terminated
        return reward, terminated, truncated

    def observe(self) -> np.ndarray:
        return self.world.observe(self.view_radius, out=self._obs)

    def infos(self) -> dict[str, np.ndarray]:
        """Per-world facts as arrays: position, progress, endings, level names."""
        w = self.world
        P = w.P
        flag = w.flag_px()
        rightmost = w.rightmost_px()
        completed = P[:, P_STATUS] == COMPLETED
        names = w.bank.names[P[:, P_LEVEL]]
        return {
            "x": w.x_px(),
            "rightmost": rightmost,
            "frames": w.frames().copy(),
            "completed": completed,
            "dead": P[:, P_STATUS] == DEAD,
            "level": names,
            # the flag is reached when the player's right edge enters its column
            "progress": np.where(
                completed, 1.0, np.minimum((rightmost + PLAYER_W_PX) / np.maximum(flag, 1), 1.0)
            ),
            "flag_x": flag.astype(np.float64),
            "coins": P[:, P_COINS].copy(),
            "stomps": P[:, P_STOMPS].copy(),
        }

    @staticmethod
    def info_at(infos: dict[str, Any], i: int) -> dict[str, Any]:
        """One world's info as plain Python values."""
        return {k: (v[i].item() if hasattr(v[i], "item") else v[i]) for k, v in infos.items()}
