"""``Platformer-v0``: one SMB-style level as a Gymnasium environment (the N = 1 batch)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs.gym.episodes import EpisodeBatch, LevelSpec
from envs.render.renderer import Renderer
from envs.sim.constants import BUTTONS, FPS


class PlatformerEnv(gym.Env):
    """
    ## Description
    A side-scrolling platformer with Super Mario Bros.-like physics on a grid of 16-px tiles at
    60 frames per second. The player runs right past pits, pipes, spikes and walking enemies to
    the flag. Levels are the built-in ones (``"1-1"`` ... ``"1-8"``), level files, or fresh
    generated levels at every reset (``level=None``).

    ## Action Space
    ``MultiBinary(6)``: the NES controller, held for ``frame_skip`` frames (default 5).

    | index | button | effect |
    |-------|--------|--------|
    | 0 | A | jump (on a new press; held longer, higher) |
    | 1 | B | run |
    | 2 | UP | no effect (kept for the NES layout) |
    | 3 | DOWN | no effect (kept for the NES layout) |
    | 4 | LEFT | walk left |
    | 5 | RIGHT | walk right (LEFT and RIGHT together cancel) |

    ## Observation Space
    ``Box(-1, 1, (2r+1, 2r+1), float32)`` with ``r = view_radius`` (default 6, so 13 x 13): the
    tiles around the player sampled every 16 px from its centre, as in MarI/O.

    | value | meaning |
    |-------|---------|
    | 1 | solid tile, or left/right of the map (at heights inside it) |
    | -1 | enemy or spikes |
    | 0 | anything else, including every cell above or below the map (a pit reads empty) |

    ## Rewards
    ``progress_per_tile`` for each tile of new rightmost progress, ``completion_bonus`` on
    reaching the flag, minus ``death_penalty`` on death (see ``RewardConfig``).

    ## Episode End
    Terminated on death (enemy contact, spikes, falling below the map) or on reaching the flag.
    Truncated when the level's time limit runs out, or after ``no_progress_frames`` frames
    without a new rightmost position when that option is set.

    ## Info
    ``x``, ``rightmost`` and ``flag_x`` in pixels, ``progress`` (rightmost / flag x),
    ``frames``, ``completed``, ``dead``, ``level`` (its name), ``coins``, ``stomps``.

    ## Arguments
    ``level`` (name, path, ``Level``, a list of them, or ``None``), ``render_mode``
    (``"human"`` or ``"rgb_array"``), ``render_scale``, and the episode settings of
    ``envs.gym.episodes.EpisodeBatch``: ``difficulty`` and ``length`` for generated levels,
    ``frame_skip``, ``view_radius``, ``no_progress_frames``, ``reward`` (a ``RewardConfig``),
    ``level_pool`` (draw generated levels from that many seeds, so resets hit the cache).
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": FPS}

    def __init__(
        self,
        level: LevelSpec | Sequence[LevelSpec] | None = "1-1",
        *,
        render_mode: str | None = None,
        render_scale: int = 2,
        **settings: Any,
    ):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}"
            )
        self.batch = EpisodeBatch(1, level, **settings)
        # one render per step, and a step is frame_skip frames
        self.metadata = {**self.metadata, "render_fps": FPS / self.batch.frame_skip}
        self.observation_space = spaces.Box(-1.0, 1.0, self.batch.obs_shape, dtype=np.float32)
        self.action_space = spaces.MultiBinary(len(BUTTONS))
        self.render_mode = render_mode
        self._renderer = Renderer(render_mode, scale=render_scale, fps=FPS // self.batch.frame_skip)
        self._actions = np.zeros((1, len(BUTTONS)), dtype=np.uint8)

    @property
    def world(self):
        """The underlying one-world batch (for cloning, drawing and tests)."""
        return self.batch.world

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        level = (options or {}).get("level")
        self.batch.reset(np.ones(1, dtype=np.bool_), [self.np_random], level=level)
        if self.render_mode == "human":
            self.render()
        return self.batch.observe()[0].copy(), self._info()

    def step(self, action) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        self._actions[0] = np.asarray(action, dtype=np.uint8).reshape(len(BUTTONS))
        reward, terminated, truncated = self.batch.step(self._actions)
        if self.render_mode == "human":
            self.render()
        obs = self.batch.observe()[0].copy()
        return obs, float(reward[0]), bool(terminated[0]), bool(truncated[0]), self._info()

    def _info(self) -> dict[str, Any]:
        return EpisodeBatch.info_at(self.batch.infos(), 0)

    def render(self) -> np.ndarray | None:
        if self.render_mode == "rgb_array":
            return self._renderer.frame(self.world, 0)
        if self.render_mode == "human":
            info = self._info()
            hud = [
                f"{info['level']}  {100 * info['progress']:.0f}%  coins {info['coins']}",
                f"frame {info['frames']}",
            ]
            self._renderer.show(self.world, 0, hud)
        return None

    def close(self) -> None:
        self._renderer.close()
