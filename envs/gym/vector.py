"""The native vector environment: N platformer worlds stepped by one call of the batched core."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from envs.gym.episodes import EpisodeBatch, LevelSpec
from envs.render.renderer import Renderer
from envs.sim.constants import BUTTONS, FPS


class PlatformerVectorEnv(VectorEnv):
    """``num_envs`` independent platformer episodes advanced together.

    Same arguments, spaces, rewards and info as ``PlatformerEnv`` (see its docstring). Autoreset
    follows Gymnasium's ``NEXT_STEP`` mode, like ``SyncVectorEnv``: the step after an episode
    ends resets that world and returns its first observation with reward 0. Sub-environment i
    is seeded with ``seed + i``, so N single envs seeded the same way give the same episodes.
    Info is a dict of arrays of length ``num_envs`` (each with its ``_key`` mask).
    """

    metadata = {
        "render_modes": ["rgb_array"],
        "render_fps": FPS,
        "autoreset_mode": AutoresetMode.NEXT_STEP,
    }

    def __init__(
        self,
        num_envs: int = 8,
        level: LevelSpec | Sequence[LevelSpec] | None = "1-1",
        *,
        render_mode: str | None = None,
        render_scale: int = 2,
        **settings: Any,
    ):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be 'rgb_array' or None, got {render_mode!r}")
        self.batch = EpisodeBatch(num_envs, level, **settings)
        self.num_envs = num_envs
        self.metadata = {**self.metadata, "render_fps": FPS / self.batch.frame_skip}
        self.single_observation_space = spaces.Box(
            -1.0, 1.0, self.batch.obs_shape, dtype=np.float32
        )
        self.single_action_space = spaces.MultiBinary(len(BUTTONS))
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.render_mode = render_mode
        self._renderer = Renderer(render_mode, scale=render_scale)
        self._rngs = [seeding.np_random()[0] for _ in range(num_envs)]
        self._autoreset = np.zeros(num_envs, dtype=np.bool_)

    @property
    def world(self):
        return self.batch.world

    def set_level_weights(self, weights: np.ndarray | None) -> None:
        """Later resets draw level i of the fixed list with probability ``weights[i]`` (None:
        uniformly): ``EpisodeBatch.set_level_weights``."""
        self.batch.set_level_weights(weights)

    def reset(
        self, *, seed: int | Sequence[int | None] | None = None, options: dict | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        if seed is not None:
            seeds = [seed + i for i in range(self.num_envs)] if isinstance(seed, int) else seed
            if len(seeds) != self.num_envs:
                raise ValueError(f"seed: expected {self.num_envs} seeds, got {len(seeds)}")
            self._rngs = [
                self._rngs[i] if s is None else seeding.np_random(s)[0] for i, s in enumerate(seeds)
            ]
        options = options or {}
        mask = options.get("reset_mask")
        mask = np.ones(self.num_envs, np.bool_) if mask is None else np.asarray(mask, np.bool_)
        self.batch.reset(mask, self._rngs, level=options.get("level"))
        self._autoreset[mask] = False
        return self.batch.observe().copy(), self._infos()

    def step(
        self, actions
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        actions = np.asarray(actions, dtype=np.uint8).reshape(self.num_envs, len(BUTTONS))
        reward, terminated, truncated = self.batch.step(actions)
        if self._autoreset.any():
            self.batch.reset(self._autoreset, self._rngs)
            reward[self._autoreset] = 0.0
        self._autoreset = terminated | truncated
        return (
            self.batch.observe().copy(),
            reward,
            terminated,
            truncated,
            self._infos(),
        )

    def _infos(self) -> dict[str, Any]:
        infos: dict[str, Any] = self.batch.infos()
        every = np.ones(self.num_envs, dtype=np.bool_)
        infos.update({f"_{k}": every for k in list(infos)})
        return infos

    def render(self) -> tuple[np.ndarray, ...] | None:
        if self.render_mode != "rgb_array":
            return None
        return tuple(self._renderer.frame(self.world, i) for i in range(self.num_envs))

    def close_extras(self, **kwargs: Any) -> None:
        self._renderer.close()


def make_vec(num_envs: int = 8, **kwargs: Any) -> PlatformerVectorEnv:
    """Entry point used by ``gymnasium.make_vec("Platformer-v0", num_envs=...)``."""
    kwargs.pop("max_episode_steps", None)  # the world has its own time limit
    return PlatformerVectorEnv(num_envs, **kwargs)


__all__ = ["PlatformerVectorEnv", "make_vec"]
