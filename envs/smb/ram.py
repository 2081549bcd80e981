"""Super Mario Bros.' RAM as MarI/O reads it: addresses, the joypad byte, stage names, and
``tile_grid``, MarI/O's ``getInputs``: the tiles of the two-page buffer at 0x500 and the five
enemy slots (0x0F, 0x6E, 0x87, 0xCF) sampled every 16 px around the player (0x6D, 0x86,
0x3B8), a pure function of a 2 KiB RAM array (no emulator needed).
"""

from __future__ import annotations

import re

import numpy as np

from envs.sim.constants import BUTTONS

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
# right 0x80. Our buttons are A, B, UP, DOWN, LEFT, RIGHT (envs.sim.constants.BUTTONS).
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
