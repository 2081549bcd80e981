"""``SuperMarioBros-Tiles-v0``: the real Super Mario Bros. on the NES emulator, seen as MarI/O's
tile grid.

The game runs in ``nes-py``'s emulator with the ROM bundled by ``gym-super-mario-bros`` (the
optional ``nes`` extra: ``pip install -e ".[nes]"``). Neither package's Gym API is used: with
NumPy 2, nes-py 8.2.1 overflows on the ROM header when an emulator is created and
gym-super-mario-bros 7.4.0 overflows on its RAM arithmetic, and both speak the old 4-value gym
step API. This module drives the emulator itself (``_frame_advance``, ``_backup``,
``_restore``, ``ram``, ``screen``, present in nes-py 8 and 9), patches the ROM header reader
of nes-py 8 to integers (``_int_header_rom``, in this process only), and reads RAM with Python
integers.

* ``tile_grid(ram)`` is MarI/O's ``getInputs`` for Super Mario Bros., a pure function of a
  2 KiB RAM array: the tiles of the two-page buffer at 0x500 and the five enemy slots
  (0x0F, 0x6E, 0x87, 0xCF) sampled every 16 px around the player (0x6D, 0x86, 0x3B8).
* ``Console`` is one emulator at the start of a stage: the title screen skipped once (the way
  gym-super-mario-bros does it, with the stage written to RAM), then a snapshot that every
  ``restart`` restores, so one console plays any number of episodes.
* ``SmbRun`` follows one episode on a console: frames, rightmost x, death, the flag.
* ``SuperMarioBrosTilesEnv`` is the Gymnasium env, interchangeable with ``Platformer-v0``.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs.constants import BUTTONS, COMPLETED, DEAD, FPS, RUNNING, TIMEOUT
from envs.episodes import RewardConfig, check_play_settings

NES_EXTRA_HINT = 'the real game needs the nes extra: pip install -e ".[nes]"'

# --- RAM addresses (Super Mario Bros., NTSC) --------------------------------------------------
RAM_SIZE = 0x800
TILES = 0x500  # two pages of 13 rows x 16 columns of metatiles
PAGE_TILES = 13 * 16
PLAYER_PAGE, PLAYER_X, PLAYER_Y = 0x6D, 0x86, 0x3B8
ENEMY_FLAGS, ENEMY_PAGE, ENEMY_X, ENEMY_Y = 0x0F, 0x6E, 0x87, 0xCF
ENEMY_SLOTS = 5
ENEMY_TYPES = 0x16  # five bytes: the type of each enemy slot
PLAYER_STATE = 0x0E  # 0x0B dying, 0x06 dead, 0x08 normal
PLAYER_FLOAT = 0x1D  # 0x03: sliding down the flagpole
Y_VIEWPORT = 0xB5  # > 1: below the screen (fell into a pit)
WORLD, STAGE, AREA = 0x75F, 0x75C, 0x760
LIVES = 0x75A
GAME_MODE = 0x770  # 0 title/demo, 1 playing, 2 end of world
PRELEVEL_TIMER = 0x7A0
CLOCK = 0x7F8  # three decimal digits
STATE_DYING, STATE_DEAD = 0x0B, 0x06
FLAGPOLE, BOWSER = 0x31, 0x2D

# --- the controller --------------------------------------------------------------------------
# nes-py's joypad byte: A 0x01, B 0x02, select 0x04, start 0x08, up 0x10, down 0x20, left 0x40,
# right 0x80. Our buttons are A, B, UP, DOWN, LEFT, RIGHT (envs.constants.BUTTONS).
BUTTON_BITS = (0x01, 0x02, 0x10, 0x20, 0x40, 0x80)
START = 0x08
_BIT_WEIGHTS = np.array(BUTTON_BITS, dtype=np.int64)

#: MarI/O's end of 1-1 (its fitness bonus threshold); the env ends on the flag itself.
END_X_1_1 = 3186


def joypad_byte(buttons) -> int:
    """The NES joypad byte for ``MultiBinary(6)`` buttons (A, B, UP, DOWN, LEFT, RIGHT).

    As in MarI/O, LEFT with RIGHT (and UP with DOWN) release both: the real pad cannot press
    opposite directions, and the game misbehaves when it sees them together.
    """
    b = np.asarray(buttons).reshape(len(BUTTONS)) != 0
    if b[4] and b[5]:
        b[4] = b[5] = False
    if b[2] and b[3]:
        b[2] = b[3] = False
    return int(_BIT_WEIGHTS[b].sum())


def joypad_bytes(buttons: np.ndarray) -> np.ndarray:
    """``joypad_byte`` for each row of an (N, 6) button array."""
    b = np.asarray(buttons).reshape(-1, len(BUTTONS)) != 0
    b = b.copy()
    lr = b[:, 4] & b[:, 5]
    ud = b[:, 2] & b[:, 3]
    b[lr, 4:6] = False
    b[ud, 2:4] = False
    return b.astype(np.int64) @ _BIT_WEIGHTS


# --- levels ----------------------------------------------------------------------------------
def parse_stage(level: str | tuple[int, int]) -> tuple[int, int]:
    """``"1-1"`` (or ``(1, 1)``) -> (world, stage), checked: worlds 1..8, stages 1..4."""
    if isinstance(level, tuple):
        world, stage = level
    else:
        m = re.fullmatch(r"\s*(\d+)-(\d+)\s*", str(level))
        if m is None:
            raise ValueError(
                f"{level!r}: not a Super Mario Bros. level (expected WORLD-STAGE, e.g. 1-1)"
            )
        world, stage = int(m.group(1)), int(m.group(2))
    if not (1 <= world <= 8 and 1 <= stage <= 4):
        raise ValueError(f"{world}-{stage}: Super Mario Bros. has worlds 1 to 8 and stages 1 to 4")
    return int(world), int(stage)


def stage_area(world: int, stage: int) -> int:
    """The area number (0-based, RAM 0x760) of a stage: in worlds 1, 2, 4 and 7 the pipe
    cut-scene before stage 2 takes an area of its own, so stages 2..4 come one later."""
    return stage - 1 + (1 if world in (1, 2, 4, 7) and stage >= 2 else 0)


# --- reading RAM (Python integers: no uint8 overflow) ----------------------------------------
def player_x(ram: np.ndarray) -> int:
    """Mario's x in the level, in pixels (MarI/O's ``marioX``)."""
    return int(ram[PLAYER_PAGE]) * 256 + int(ram[PLAYER_X])


def clock(ram: np.ndarray) -> int:
    """The game clock (0..999)."""
    return int(ram[CLOCK]) * 100 + int(ram[CLOCK + 1]) * 10 + int(ram[CLOCK + 2])


def is_dying(ram: np.ndarray) -> bool:
    """Hit by an enemy, out of time, or below the screen in a pit (or already dead)."""
    state = int(ram[PLAYER_STATE])
    return state in (STATE_DYING, STATE_DEAD) or int(ram[Y_VIEWPORT]) > 1


def flag_reached(ram: np.ndarray) -> bool:
    """Sliding down the flagpole (or at Bowser's axe), or the world's end: gym-super-mario-bros'
    ``flag_get``."""
    if int(ram[GAME_MODE]) == 2:
        return True
    for slot in range(ENEMY_SLOTS):
        if int(ram[ENEMY_TYPES + slot]) in (FLAGPOLE, BOWSER):
            return int(ram[PLAYER_FLOAT]) == 3
    return False


def tile_grid(ram: np.ndarray, view_radius: int = 6, out: np.ndarray | None = None) -> np.ndarray:
    """MarI/O's input grid for Super Mario Bros. from a RAM array: (2r+1, 2r+1) float32.

    Rows go top to bottom (dy = -r..r tiles), columns left to right (dx = -r..r). A cell is 1
    when the metatile under it is not empty, -1 when an enemy is within 8 px of it, else 0 -- as
    ``getInputs``/``getTile``/``getSprites`` compute it: with ``marioX = 256 * ram[0x6D] +
    ram[0x86]`` and ``marioY = ram[0x3B8] + 16``, cell (dx, dy) reads the tile at
    ``(marioX + dx + 8, marioY + dy - 16)`` of the page buffer at 0x500 (rows outside 0..12
    read empty, and only where ``marioY + dy < 0x1B0``), and enemy slot i (active when
    ``ram[0x0F + i]`` is not 0) sits at ``(256 * ram[0x6E + i] + ram[0x87 + i], ram[0xCF + i]
    + 24)``.
    """
    r = int(view_radius)
    size = 2 * r + 1
    if out is None:
        out = np.empty((size, size), dtype=np.float32)
    ram = np.asarray(ram)
    mx = int(ram[PLAYER_PAGE]) * 256 + int(ram[PLAYER_X])
    my = int(ram[PLAYER_Y]) + 16
    d = np.arange(-r, r + 1, dtype=np.int64) * 16
    # tiles: columns (x) and rows (y) of every cell, then one gather from the page buffer
    x = mx + d + 8
    y = my + d - 16
    page = (x // 256) % 2
    subx = (x % 256) // 16
    suby = (y - 32) // 16
    rows_ok = (suby >= 0) & (suby < 13) & (my + d < 0x1B0)
    addr = TILES + page[None, :] * PAGE_TILES + np.clip(suby, 0, 12)[:, None] * 16 + subx[None, :]
    solid = (ram[addr] != 0) & rows_ok[:, None]
    out[...] = solid
    # enemies: any cell within 8 px of an active enemy on both axes
    for i in range(ENEMY_SLOTS):
        if int(ram[ENEMY_FLAGS + i]) == 0:
            continue
        ex = int(ram[ENEMY_PAGE + i]) * 256 + int(ram[ENEMY_X + i])
        ey = int(ram[ENEMY_Y + i]) + 24
        near_x = np.abs(ex - (mx + d)) <= 8
        near_y = np.abs(ey - (my + d)) <= 8
        out[np.ix_(near_y, near_x)] = -1.0
    return out


# --- the emulator ----------------------------------------------------------------------------
class NesMissing(ImportError):
    """The ``nes`` extra (nes-py, gym-super-mario-bros) is not installed."""


def nes_available() -> bool:
    """Whether the ``nes`` extra is installed (without importing it)."""
    return all(importlib.util.find_spec(m) is not None for m in ("nes_py", "gym_super_mario_bros"))


def rom_path() -> str:
    """The Super Mario Bros. ROM bundled with gym-super-mario-bros (found without importing
    the package, which would register old-gym environments)."""
    spec = importlib.util.find_spec("gym_super_mario_bros")
    if spec is None or not spec.submodule_search_locations:
        raise NesMissing(NES_EXTRA_HINT)
    path = Path(list(spec.submodule_search_locations)[0]) / "_roms" / "super-mario-bros.nes"
    if not path.is_file():
        raise NesMissing(f"{path}: the ROM is missing from gym-super-mario-bros; reinstall it")
    return str(path)


def _nes_env_class():
    """nes-py's ``NESEnv``, with nes-py 8's ROM header read as integers (in this process)."""
    if importlib.util.find_spec("nes_py") is None:
        raise NesMissing(NES_EXTRA_HINT)
    import contextlib
    import io
    import warnings

    # nes-py 8 imports the old gym, which prints a notice about NumPy 2 to stderr on import
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        import nes_py.nes_env as nes_env
    rom_class = getattr(nes_env, "ROM", None)
    # nes-py 8.x: ``16 * header[4]`` stays uint8 under NumPy 2 and ``* 2**10`` overflows.
    # nes-py 9 reads header bytes through ``_header_byte`` (ints) and needs nothing.
    if rom_class is not None and not hasattr(rom_class, "_header_byte"):
        if not getattr(rom_class, "_int_header", False):
            nes_env.ROM = _int_header_rom(rom_class)
    return nes_env.NESEnv


def _int_header_rom(base: type) -> type:
    class IntHeaderROM(base):  # type: ignore[misc, valid-type]
        """nes-py's ROM with the 16 header bytes as int64, so size arithmetic cannot wrap."""

        _int_header = True

        @property
        def header(self):
            return self.raw_data[:16].astype(np.int64)

    return IntHeaderROM


class Console:
    """One NES running Super Mario Bros. at the start of ``world``-``stage``.

    Creating it boots the ROM, skips the title screen with the stage written into RAM (as
    gym-super-mario-bros does: press start until the clock runs, with the pre-level timer run
    out), waits for the clock's first tick, and snapshots that moment; ``restart`` restores the
    snapshot. Emulation is deterministic: the same buttons from a restart give the same RAM and
    screen.
    """

    def __init__(self, world: int = 1, stage: int = 1):
        self.world, self.stage = parse_stage((world, stage))
        self.area = stage_area(self.world, self.stage)
        NESEnv = _nes_env_class()
        self._nes = NESEnv(rom_path())
        self._nes.reset()  # a power-on reset (there is no backup yet)
        self._skip_title()
        self._nes._backup()
        self.start_x = player_x(self.ram)

    @property
    def ram(self) -> np.ndarray:
        """The 2 KiB of work RAM (a live, writable view)."""
        return self._nes.ram

    @property
    def screen(self) -> np.ndarray:
        """The current frame, (240, 256, 3) uint8 RGB (a live view: copy to keep it)."""
        return self._nes.screen

    def frame(self, joypad: int = 0) -> None:
        """Emulate one frame with the joypad byte ``joypad`` held."""
        self._nes._frame_advance(joypad)

    def restart(self) -> None:
        """Back to the snapshot at the start of the stage."""
        self._nes._restore()

    def _write_stage(self) -> None:
        ram = self.ram
        ram[WORLD], ram[STAGE], ram[AREA] = self.world - 1, self.stage - 1, self.area

    def _skip_title(self) -> None:
        ram = self.ram
        self.frame(START)
        self.frame(0)
        while clock(ram) == 0:  # press start until the level's clock is set
            self.frame(START)
            self._write_stage()
            self.frame(0)
            ram[PRELEVEL_TIMER] = 0  # skip the "WORLD 1-1" card
        last = clock(ram)
        while clock(ram) >= last:  # until the clock ticks: the level is running
            last = clock(ram)
            self.frame(START)
            self.frame(0)

    def close(self) -> None:
        if getattr(self, "_nes", None) is not None:
            self._nes.close()
            self._nes = None

    def __del__(self) -> None:  # emulators hold C++ memory; free it with the console
        try:
            self.close()
        except Exception:  # noqa: BLE001 - never raise from a finaliser
            pass


# --- one episode on a console ----------------------------------------------------------------
class SmbRun:
    """One episode on a ``Console``: frames played, x, rightmost x, the frame of the last new
    rightmost, and the status (``envs.constants``: RUNNING, DEAD, COMPLETED, TIMEOUT).

    ``advance`` holds a joypad byte for up to ``frames`` frames and stops at the frame the run
    ends (death, the flag), so ``frames`` counts exactly the frames played, as in the built-in
    world. Death is one life lost: the episode ends there.
    """

    def __init__(self, console: Console):
        self.console = console
        self.reset()

    def reset(self) -> None:
        self.console.restart()
        self.frames = 0
        self.x = self.rightmost = player_x(self.console.ram)
        self.last_progress = 0
        self.status = RUNNING

    @property
    def running(self) -> bool:
        return self.status == RUNNING

    @property
    def frames_since_progress(self) -> int:
        return self.frames - self.last_progress

    def advance(self, joypad: int, frames: int) -> None:
        console, ram = self.console, self.console.ram
        for _ in range(frames):
            if self.status != RUNNING:
                return
            console.frame(joypad)
            self.frames += 1
            x = int(ram[PLAYER_PAGE]) * 256 + int(ram[PLAYER_X])
            self.x = x
            if x > self.rightmost:
                self.rightmost = x
                self.last_progress = self.frames
            if is_dying(ram):
                self.status = DEAD
            elif flag_reached(ram):
                self.status = COMPLETED


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
        if (
            run.running
            and self.no_progress_frames is not None
            and run.frames_since_progress >= self.no_progress_frames
        ):
            run.status = TIMEOUT
        r = self.reward_config
        reward = r.progress_per_tile * (run.rightmost - before) / 16 - r.step_penalty
        if run.status == COMPLETED:
            reward += r.completion_bonus
        elif run.status == DEAD:
            reward -= r.death_penalty
        if self.render_mode == "human":
            self.render()
        terminated = run.status in (DEAD, COMPLETED)
        truncated = run.status == TIMEOUT
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

            from viz.world import HumanWindow

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
