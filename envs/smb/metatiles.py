"""The metatiles of Super Mario Bros.' block buffer (RAM 0x500-0x69F) and what each one is in the
built-in world's legend, plus which of them the real game treats as solid.

A metatile byte holds its palette group in bits 6-7 and its index in bits 0-5; the names below
are those of the disassembly's metatile graphics table (``Palette0_MTiles`` ...). Only metatiles
at or above ``BlockBuffLowBounds`` ($10, $51, $88, $C0 per group) are ever stored in the block
buffer: scenery (bushes, hills, clouds, castles, tree trunks, water) is drawn but never
collides, so the buffer holds exactly what the player can meet.

Solidity follows the player's collision code: every stored metatile blocks except coins
(collected on touch), the hidden 1-up and coin blocks (passable until hit from below), the axe
and the climbable ones (``ClimbMTileUpperExt``: $24, $6D, $8A, $C6 and above per group: the
flagpole, the vine's blank and the residual flag ball).
"""

from __future__ import annotations

import numpy as np

from envs.sim.constants import (
    AIR,
    BRICK,
    COIN,
    FLAG,
    GROUND,
    HARD,
    PIPE_L,
    PIPE_R,
    QUESTION,
    SOLID,
    TILE_NAMES,
)

BLOCK_BUFFER_LOW_BOUNDS = (0x10, 0x51, 0x88, 0xC0)
CLIMB_UPPER_EXT = (0x24, 0x6D, 0x8A, 0xC6)

# metatile -> (name, built-in tile). Every metatile the block buffer can hold is listed.
METATILES: dict[int, tuple[str, int]] = {
    0x00: ("blank", AIR),
    0x10: ("warp pipe end left", PIPE_L), 0x11: ("warp pipe end right", PIPE_R),
    0x12: ("pipe end left", PIPE_L), 0x13: ("pipe end right", PIPE_R),
    0x14: ("pipe shaft left", PIPE_L), 0x15: ("pipe shaft right", PIPE_R),
    0x16: ("tree ledge left edge", GROUND), 0x17: ("tree ledge middle", GROUND),
    0x18: ("tree ledge right edge", GROUND),
    0x19: ("mushroom left edge", GROUND), 0x1A: ("mushroom middle", GROUND),
    0x1B: ("mushroom right edge", GROUND),
    0x1C: ("sideways pipe end top", HARD), 0x1D: ("sideways pipe shaft top", HARD),
    0x1E: ("sideways pipe joint top", HARD), 0x1F: ("sideways pipe end bottom", HARD),
    0x20: ("sideways pipe shaft bottom", HARD), 0x21: ("sideways pipe joint bottom", HARD),
    0x22: ("seaplant", HARD), 0x23: ("blank of a bumped block", HARD),
    0x24: ("flagpole ball", FLAG), 0x25: ("flagpole shaft", FLAG), 0x26: ("vine blank", AIR),
    0x51: ("brick with line", BRICK), 0x52: ("brick", BRICK), 0x53: ("brick (unused)", BRICK),
    0x54: ("ground", GROUND),
    0x55: ("brick with line (power-up)", BRICK), 0x56: ("brick with line (vine)", BRICK),
    0x57: ("brick with line (star)", BRICK), 0x58: ("brick with line (coins)", BRICK),
    0x59: ("brick with line (1-up)", BRICK), 0x5A: ("brick (power-up)", BRICK),
    0x5B: ("brick (vine)", BRICK), 0x5C: ("brick (star)", BRICK), 0x5D: ("brick (coins)", BRICK),
    0x5E: ("brick (1-up)", BRICK),
    0x5F: ("hidden coin block", AIR), 0x60: ("hidden 1-up block", AIR),
    0x61: ("hard block", HARD), 0x62: ("white wall block", HARD), 0x63: ("bridge", HARD),
    0x64: ("bullet bill cannon barrel", HARD), 0x65: ("bullet bill cannon top", HARD),
    0x66: ("bullet bill cannon bottom", HARD), 0x67: ("jumpspring blank", HARD),
    0x68: ("jumpspring half brick", HARD), 0x69: ("green rock", HARD),
    0x6A: ("half brick", HARD), 0x6B: ("water pipe top", HARD), 0x6C: ("water pipe bottom", HARD),
    0x6D: ("flag ball (residual)", AIR),
    0x88: ("cloud ground", GROUND), 0x89: ("bowser's bridge", HARD),
    0xC0: ("question block (coin)", QUESTION), 0xC1: ("question block (power-up)", QUESTION),
    0xC2: ("coin", COIN), 0xC3: ("underwater coin", COIN), 0xC4: ("empty block", HARD),
    0xC5: ("axe", AIR),
}  # fmt: skip

# coins (collected on touch), hidden blocks (passable until hit from below), the axe (touching
# it ends a castle: HandleAxeMetatile runs before any wall check)
PASSABLE = frozenset({0x5F, 0x60, 0xC2, 0xC3, 0xC5})

_TILE = np.full(256, 255, dtype=np.uint8)  # 255: a metatile the block buffer never holds
for _m, (_name, _tile) in METATILES.items():
    _TILE[_m] = _tile


def group(metatile: int) -> int:
    return metatile >> 6


def in_block_buffer(metatile: int) -> bool:
    """Whether the game would store ``metatile`` in the block buffer (``BlockBuffLowBounds``)."""
    return metatile == 0 or metatile >= BLOCK_BUFFER_LOW_BOUNDS[group(metatile)]


def game_solid(metatiles: np.ndarray) -> np.ndarray:
    """Where the real game's player collides: non-blank, not passable, not climbable."""
    m = np.asarray(metatiles).astype(np.int64)
    climb = m >= np.array(CLIMB_UPPER_EXT)[m >> 6]
    passable = np.isin(m, list(PASSABLE))
    return (m != 0) & ~climb & ~passable


def tiles_of(metatiles: np.ndarray) -> np.ndarray:
    """The built-in tile code of each metatile; ``ValueError`` names the first unknown one."""
    m = np.asarray(metatiles).astype(np.int64)
    out = _TILE[m]
    bad = np.argwhere(out == 255)
    if len(bad):
        where = tuple(int(v) for v in bad[0])
        raise ValueError(f"metatile {int(m[where]):#04x} at {where} is not a block-buffer metatile")
    return out


def describe(metatile: int) -> str:
    name, tile = METATILES.get(metatile, ("unknown", AIR))
    return f"{metatile:#04x} {name} -> {TILE_NAMES[tile]}{' (solid)' if SOLID[tile] else ''}"
