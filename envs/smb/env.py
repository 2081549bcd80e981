"""``SuperMarioBros-Tiles-v0``: the real Super Mario Bros. on the NES emulator, seen as MarI/O's
tile grid.

The game runs in ``nes-py``'s emulator with the ROM bundled by ``gym-super-mario-bros`` (the
optional ``nes`` extra: ``pip install -e ".[nes]"``). Neither package's Gym API is used: with
NumPy 2, nes-py 8.2.1 overflows on the ROM header when an emulator is created and
gym-super-mario-bros 7.4.0 overflows on its RAM arithmetic, and both speak the old 4-value gym
step API. ``envs.smb.console`` drives the emulator itself and ``envs.smb.ram`` reads RAM with
Python integers; this module is the Gymnasium env, interchangeable with ``Platformer-v0``.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs.gym.episodes import RewardConfig, check_play_settings, step_reward
from envs.sim.constants import BUTTONS, COMPLETED, DEAD, FPS, TIMEOUT
from envs.smb.console import Console, SmbRun
from envs.smb.ram import PLAYER_Y, clock, joypad_byte, parse_stage, tile_grid


# --- the Gymnasium environment ---------------------------------------------------------------
class SuperMarioBrosTilesEnv(gym.Env):
    """
    ## Description
    The real Super Mario Bros. (NES) in nes-py's emulator, seen the way MarI/O sees it: the
    13 x 13 tile grid read from RAM. Observation, buttons, ``frame_skip`` and ``info`` are those
    of ``Platformer-v0``, so agents move between the two without conversion. Needs the ``nes``
    extra (``pip install -e ".[nes]"``).

    ## Action Space
    ``MultiBinary(6)``: A, B, UP, DOWN, LEFT, RIGHT, held for ``frame_skip`` frames (default 5).
    LEFT with RIGHT (or UP with DOWN) presses neither, as in MarI/O.

    ## Observation Space
    ``Box(-1, 1, (2r+1, 2r+1), float32)``, ``r = view_radius`` (default 6): ``tile_grid`` of the
    RAM -- 1 for a non-empty metatile, -1 within 8 px of an enemy, 0 otherwise.

    ## Rewards
    As ``Platformer-v0`` (``RewardConfig``): ``progress_per_tile`` per 16 px of new rightmost x,
    ``completion_bonus`` at the flag, minus ``death_penalty`` on losing the life.

    ## Episode End
    Terminated when Mario dies (an enemy, a pit, the clock at 0: one life per episode) or
    reaches the flag. Truncated after ``no_progress_frames`` frames without a new rightmost x
    when that option is set.

    ## Info
    ``x`` and ``rightmost`` (pixels from the level's start, MarI/O's ``marioX``), ``frames``,
    ``completed``, ``dead``, ``level`` (``"1-1"``), ``world``, ``stage``, ``y`` (RAM 0x3B8),
    ``time`` (the game clock), ``frames_since_progress``.

    ## Arguments
    ``world`` and ``stage`` (default 1-1), or ``level="W-S"``; ``frame_skip``, ``view_radius``,
    ``no_progress_frames``, ``reward``, ``render_mode`` (``"rgb_array"``: the NES frame, (240,
    256, 3) uint8; ``"human"``: a window), ``render_scale`` (the window's zoom).
    ``reset(options={"level": "1-2"})`` switches the stage (a new console, cached).
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": FPS}

    def __init__(
        self,
        world: int | None = None,
        stage: int | None = None,
        *,
        level: str | None = None,
        frame_skip: int = 5,
        view_radius: int = 6,
        no_progress_frames: int | None = None,
        reward: RewardConfig | None = None,
        render_mode: str | None = None,
        render_scale: int = 2,
    ):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}"
            )
        if level is not None and (world is not None or stage is not None):
            raise ValueError("give level='W-S' or world= and stage=, not both")
        check_play_settings(frame_skip, view_radius, no_progress_frames)
        if level is not None:
            world, stage = parse_stage(level)
        self.frame_skip = int(frame_skip)
        self.view_radius = int(view_radius)
        self.no_progress_frames = no_progress_frames
        self.reward_config = reward or RewardConfig()
        self.render_mode = render_mode
        self.render_scale = render_scale
        self.metadata = {**self.metadata, "render_fps": FPS / self.frame_skip}
        size = 2 * self.view_radius + 1
        self.observation_space = spaces.Box(-1.0, 1.0, (size, size), dtype=np.float32)
        self.action_space = spaces.MultiBinary(len(BUTTONS))
        self._consoles: dict[tuple[int, int], Console] = {}
        self._stage = parse_stage((world or 1, stage or 1))
        self.run = SmbRun(self._console(self._stage))
        self._obs = np.zeros((size, size), dtype=np.float32)
        self._window = None

    def _console(self, stage: tuple[int, int]) -> Console:
        if stage not in self._consoles:
            self._consoles[stage] = Console(*stage)
        return self._consoles[stage]

    @property
    def console(self) -> Console:
        return self.run.console

    @property
    def level(self) -> str:
        return f"{self._stage[0]}-{self._stage[1]}"

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        # The game is deterministic: the seed only seeds ``np_random`` (for wrappers' use).
        super().reset(seed=seed)
        level = (options or {}).get("level")
        if level is not None:
            self._stage = parse_stage(level)
            self.run.console = self._console(self._stage)
        self.run.reset()
        if self.render_mode == "human":
            self.render()
        return self._observe(), self._info()

    def step(self, action) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        run = self.run
        if not run.running:  # after the end: frozen, like the built-in world
            return self._observe(), 0.0, False, False, self._info()
        before = run.rightmost
        run.advance(joypad_byte(action), self.frame_skip)
        stalled = (
            run.running
            and self.no_progress_frames is not None
            and run.frames_since_progress >= self.no_progress_frames
        )
        if stalled:
            run.status = TIMEOUT
        reward, ended = step_reward(
            self.reward_config,
            (run.rightmost - before) / 16,
            run.status == COMPLETED,
            run.status == DEAD,
            stalled,
        )
        if self.render_mode == "human":
            self.render()
        terminated = bool(ended)
        truncated = run.status == TIMEOUT and not terminated
        return self._observe(), float(reward), terminated, truncated, self._info()

    def _observe(self) -> np.ndarray:
        return tile_grid(self.console.ram, self.view_radius, out=self._obs).copy()

    def _info(self) -> dict[str, Any]:
        run, ram = self.run, self.console.ram
        return {
            "x": run.x,
            "rightmost": run.rightmost,
            "frames": run.frames,
            "completed": run.status == COMPLETED,
            "dead": run.status == DEAD,
            "level": self.level,
            "world": self._stage[0],
            "stage": self._stage[1],
            "y": int(ram[PLAYER_Y]),
            "time": clock(ram),
            "frames_since_progress": run.frames_since_progress,
        }

    def render(self) -> np.ndarray | None:
        if self.render_mode == "rgb_array":
            return self.console.screen.copy()
        if self.render_mode == "human":
            import pygame

            from envs.render.frame import HumanWindow

            if self._window is None:
                self._window = HumanWindow(
                    title=f"Super Mario Bros. {self.level}",
                    fps=int(FPS // self.frame_skip),
                    zoom=self.render_scale,
                )
            surface = pygame.surfarray.make_surface(self.console.screen.swapaxes(0, 1))
            info = self._info()
            self._window.show(surface, [f"{self.level}  x {info['x']}  frame {info['frames']}"])
            self._window.poll()
        return None

    def close(self) -> None:
        if self._window is not None:
            self._window.close()
            self._window = None
        for console in self._consoles.values():
            console.close()
        self._consoles.clear()
