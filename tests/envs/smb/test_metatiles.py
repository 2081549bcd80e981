"""The block buffer's metatiles in the built-in legend: every metatile the game can store has a
tile, and the tile is solid exactly where the real game's player collides."""

from __future__ import annotations

import numpy as np
import pytest

from envs.sim.constants import BRICK, COIN, FLAG, GROUND, HARD, PIPE_L, PIPE_R, QUESTION, SOLID
from envs.smb.metatiles import METATILES, game_solid, in_block_buffer, tiles_of


def test_every_listed_metatile_is_one_the_block_buffer_stores():
    """The table lists only metatiles at or above BlockBuffLowBounds ($10, $51, $88, $C0 per
    palette group), and scenery below those bounds (bushes, hills, castles, tree trunks,
    water) is not in it, so meeting it in a recording is an error."""
    assert all(in_block_buffer(m) for m in METATILES)
    scenery = [0x01, 0x02, 0x0B, 0x0D, 0x45, 0x47, 0x4E, 0x50, 0x80, 0x86, 0x87]
    assert not any(in_block_buffer(m) or m in METATILES for m in scenery)
    with pytest.raises(ValueError, match="metatile 0x47 at"):
        tiles_of(np.array([[0x54, 0x47]]))


def test_built_in_tiles_are_solid_exactly_where_the_game_collides():
    """For every metatile, the built-in tile's solidity equals the game's (coins, hidden
    blocks, the flagpole, the vine's blank and the axe let the player through; everything
    else in the buffer stops him)."""
    ids = np.array(sorted(METATILES))
    assert np.array_equal(SOLID[tiles_of(ids)], game_solid(ids))
    assert not game_solid(np.array([0x00, 0x24, 0x25, 0x26, 0x5F, 0x60, 0x6D, 0xC2])).any()
    assert game_solid(np.array([0x10, 0x15, 0x51, 0x54, 0x61, 0xC0, 0xC4, 0x88])).all()


def test_the_common_metatiles_map_onto_the_legend():
    """Ground, bricks (all eleven kinds), ? blocks, coins, both halves of pipes, hard blocks and
    the flagpole become X, B, ?, C, [ ], # and F."""
    pairs = {
        0x54: GROUND, 0x51: BRICK, 0x52: BRICK, 0x58: BRICK, 0x5E: BRICK, 0xC0: QUESTION,
        0xC1: QUESTION, 0xC2: COIN, 0x10: PIPE_L, 0x12: PIPE_L, 0x14: PIPE_L, 0x11: PIPE_R,
        0x13: PIPE_R, 0x15: PIPE_R, 0x61: HARD, 0xC4: HARD, 0x24: FLAG, 0x25: FLAG,
    }  # fmt: skip
    ids = np.array(list(pairs))
    assert tiles_of(ids).tolist() == list(pairs.values())
