"""What an agent sees: MarI/O's tile grid around each player, compiled over the world batch.

Kept apart from the rules (``envs.sim.physics``): it reads the state and the level, never
changes them. The grid's geometry and which tiles read solid or hazard are the level's physics
profile's (``envs.sim.profiles``), so the built-in world and the real game's stages share it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from envs.sim.constants import E_ALIVE, EX, EY, P_LEVEL, PX, PY, TILE
from envs.sim.levelinfo import (
    LD_E_HI,
    LD_E_LO,
    LD_E_REF_DX,
    LD_E_REF_DY,
    LD_GRID_DX,
    LD_GRID_DY,
    LD_GRID_QBITS,
    LD_H,
    LD_NE,
    LD_P_REF_DX,
    LD_P_REF_DY,
    LD_VIEW_HAZARD,
    LD_VIEW_LEFT,
    LD_VIEW_SOLID,
    LD_W,
    TILE_BITS,
)


@njit(cache=True, inline="always")
def observe_cells(i, P, E, tiles, LD, radius, cells, grid):
    """MarI/O's tile grid around player ``i``: 1 solid, -1 enemy or spikes, 0 otherwise.

    ``grid`` is the flat (2r+1)^2 grid, row-major. Only the cells listed in ``cells`` (flat
    indices) are computed from the tiles, so a caller that reads a few cells pays for those;
    enemies are then marked -1 wherever they are in the grid. The grid is sampled every 16 px
    from the profile's sample point (``grid_dx``, ``grid_dy`` from the hitbox's top left: the
    player's centre by default, MarI/O's point one tile above small Mario for the real game);
    rows above or below the map read 0 (so a pit reads empty), columns right of the map read
    1, left of it the profile's ``view_left`` (a wall by default, the game's empty buffer for
    the real game). Which tiles read 1 or -1 is the profile's (``view_solid``, ``view_hazard``); an
    enemy marks the cells whose offset from it is within the profile's window (one cell by
    default, MarI/O's +-8 px, so one or two, for the real game).
    """
    lvl = P[i, P_LEVEL]
    h = LD[lvl, LD_H]
    w = LD[lvl, LD_W]
    cx = P[i, PX] + LD[lvl, LD_GRID_DX]
    cy = P[i, PY] + LD[lvl, LD_GRID_DY]
    solid, hazard = LD[lvl, LD_VIEW_SOLID], LD[lvl, LD_VIEW_HAZARD]
    size = 2 * radius + 1
    for cell in cells:
        gy, gx = cell // size, cell % size
        v = 0.0
        row = (cy + (gy - radius) * TILE) // TILE
        if 0 <= row < h:
            col = (cx + (gx - radius) * TILE) // TILE
            if col < 0:
                v = float(LD[lvl, LD_VIEW_LEFT])
            elif col >= w:
                v = 1.0
            else:
                t = tiles[lvl, row, col]
                if (solid >> t) & 1:
                    v = 1.0
                elif (hazard >> t) & 1:
                    v = -1.0
        grid[cell] = v
    qb = LD[lvl, LD_GRID_QBITS]  # positions floored to 2**qb units; a tile is 2**tb of those
    tb = TILE_BITS - qb
    lo, hi = LD[lvl, LD_E_LO], LD[lvl, LD_E_HI]
    erx, ery = LD[lvl, LD_E_REF_DX], LD[lvl, LD_E_REF_DY]
    px = (P[i, PX] + LD[lvl, LD_P_REF_DX]) >> qb
    py = (P[i, PY] + LD[lvl, LD_P_REF_DY]) >> qb
    for k in range(LD[lvl, LD_NE]):
        if E[i, k, E_ALIVE] == 0:
            continue
        ex = ((E[i, k, EX] + erx) >> qb) - px
        ey = ((E[i, k, EY] + ery) >> qb) - py
        # the cells d with lo <= e - d * tile <= hi
        for iy in range(max(-((hi - ey) >> tb), -radius), min((ey - lo) >> tb, radius) + 1):
            for ix in range(max(-((hi - ex) >> tb), -radius), min((ex - lo) >> tb, radius) + 1):
                grid[(iy + radius) * size + ix + radius] = -1.0


@njit(cache=True)
def observe(P, E, tiles, LD, radius, out):
    """Every player's whole grid (``observe_cells`` on all cells) into ``out`` (N, 2r+1, 2r+1)."""
    size = 2 * radius + 1
    cells = np.arange(size * size)
    for i in range(P.shape[0]):
        observe_cells(i, P, E, tiles, LD, radius, cells, out[i].reshape(size * size))
