"""The physics of N worlds at once: compiled kernels over the state arrays of ``envs.sim.world``.

This is the only copy of the game rules. Every kernel takes the whole batch (player array ``P``,
enemy array ``E``, dynamic-cell array ``D``) plus the packed levels, and loops over worlds in
compiled code, so Python never iterates over worlds. The single environment is the N = 1 case.
All arithmetic is on integers (sub-pixel units), so rollouts are bit-identical.

Level-info columns (array ``LD`` of shape (levels, LD_COLS)) are defined here because only the
kernels and ``LevelBank`` use them.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from envs.sim.constants import (
    AIR_TURN_DEC,
    COIN,
    COMPLETED,
    DEAD,
    E_ACTIVE,
    E_ALIVE,
    E_GROUND,
    ENEMY_GRAVITY,
    ENEMY_H,
    ENEMY_SPEED,
    ENEMY_W,
    ENEMY_WAKE,
    EVX,
    EVY,
    EX,
    EY,
    GRAVITY_FALL,
    GRAVITY_HOLD,
    JUMP_SPEED_LIMITS,
    JUMP_V,
    MAX_FALL,
    P_APREV,
    P_CAMERA,
    P_COINS,
    P_FACING,
    P_FRAMES,
    P_GROUND,
    P_LAST_PROGRESS,
    P_LEVEL,
    P_RIGHTMOST,
    P_STATUS,
    P_STOMPS,
    P_TIER,
    P_TIME_LIMIT,
    PLAYER_H,
    PLAYER_W,
    PVX,
    PVY,
    PX,
    PY,
    QUESTION,
    RELEASE_DEC,
    RUN_ACC,
    RUN_MAX,
    RUNNING,
    SCREEN,
    SKID_DEC,
    SOLID,
    SPIKE_INSET,
    SPIKES,
    STOMP_BOUNCE,
    STOMP_MARGIN,
    TILE,
    TIMEOUT,
    WALK_ACC,
    WALK_MAX,
)

LD_H, LD_W, LD_FLAG, LD_SX, LD_SY, LD_NE, LD_ND, LD_TIME = range(8)
LD_COLS = 8

_J0, _J1 = JUMP_SPEED_LIMITS
_JV0, _JV1, _JV2 = JUMP_V
_GH0, _GH1, _GH2 = GRAVITY_HOLD
_GF0, _GF1, _GF2 = GRAVITY_FALL


@njit(cache=True, inline="always")
def _solid(tiles, lvl, h, w, row, col):
    """Solidity of a cell: left/right of the map is wall, above/below it is open air."""
    if col < 0 or col >= w:
        return True
    if row < 0 or row >= h:
        return False
    return SOLID[tiles[lvl, row, col]]


@njit(cache=True, inline="always")
def _enemy_blocked(tiles, lvl, h, w, row, col):
    """Enemies turn at solid tiles and at spikes."""
    if col < 0 or col >= w:
        return True
    if row < 0 or row >= h:
        return False
    t = tiles[lvl, row, col]
    return SOLID[t] or t == SPIKES


@njit(cache=True, inline="always")
def _gravity(tier, rising_held):
    if rising_held:
        return _GH0 if tier == 0 else (_GH1 if tier == 1 else _GH2)
    return _GF0 if tier == 0 else (_GF1 if tier == 1 else _GF2)


@njit(cache=True, inline="always")
def _frame(i, P, E, D, tiles, dyn, LD, a, b, d):
    """Advance world ``i`` by one frame with A, B and direction ``d`` (-1, 0, +1) held."""
    lvl = P[i, P_LEVEL]
    h = LD[lvl, LD_H]
    w = LD[lvl, LD_W]
    x, y, vx, vy = P[i, PX], P[i, PY], P[i, PVX], P[i, PVY]
    ground = P[i, P_GROUND]

    # Horizontal speed: accelerate toward the walk or run top speed, skid when reversing.
    top = RUN_MAX if b else WALK_MAX
    if d != 0:
        P[i, P_FACING] = d
        if vx * d < 0:
            vx += d * (SKID_DEC if ground else AIR_TURN_DEC)
        else:
            speed = abs(vx)
            if speed < top:
                speed = min(speed + (RUN_ACC if b else WALK_ACC), top)
            elif ground:
                speed = max(speed - RELEASE_DEC, top)
            vx = d * speed
    elif ground:
        vx = max(vx - RELEASE_DEC, 0) if vx > 0 else min(vx + RELEASE_DEC, 0)

    # Jump on a new press of A; the tier (height, gravity) depends on the take-off speed.
    if ground and a and P[i, P_APREV] == 0:
        speed = abs(vx)
        tier = 0 if speed < _J0 else (1 if speed < _J1 else 2)
        vy = -(_JV0 if tier == 0 else (_JV1 if tier == 1 else _JV2))
        P[i, P_TIER] = tier
        ground = 0
    if not ground:
        vy = min(vy + _gravity(P[i, P_TIER], a and vy < 0), MAX_FALL)

    # Move along x, then resolve against the wall on the leading side.
    x += vx
    cam = P[i, P_CAMERA]
    if x < cam:  # the camera never scrolls back, and the player cannot leave it (as in SMB)
        x = cam
        vx = max(vx, 0)
    x_max = w * TILE - PLAYER_W
    if x > x_max:
        x = x_max
        vx = min(vx, 0)
    r0 = y // TILE
    r1 = (y + PLAYER_H - 1) // TILE
    if vx > 0:
        c = (x + PLAYER_W - 1) // TILE
        for r in range(r0, r1 + 1):
            if _solid(tiles, lvl, h, w, r, c):
                x = c * TILE - PLAYER_W
                vx = 0
                break
    elif vx < 0:
        c = x // TILE
        for r in range(r0, r1 + 1):
            if _solid(tiles, lvl, h, w, r, c):
                x = (c + 1) * TILE
                vx = 0
                break

    # Move along y: land on floors, bump heads on ceilings (a question block gives a coin).
    y += vy
    c0 = x // TILE
    c1 = (x + PLAYER_W - 1) // TILE
    if vy > 0:
        r = (y + PLAYER_H - 1) // TILE
        if _solid(tiles, lvl, h, w, r, c0) or _solid(tiles, lvl, h, w, r, c1):
            y = r * TILE - PLAYER_H
            vy = 0
    elif vy < 0:
        r = y // TILE
        hit0 = _solid(tiles, lvl, h, w, r, c0)
        hit1 = _solid(tiles, lvl, h, w, r, c1)
        if hit0 or hit1:
            y = (r + 1) * TILE
            vy = 0
            cm = (x + PLAYER_W // 2) // TILE
            bc = cm if _solid(tiles, lvl, h, w, r, cm) else (c0 if hit0 else c1)
            if 0 <= r < h and tiles[lvl, r, bc] == QUESTION:
                k = dyn[lvl, r, bc]
                if D[i, k] == 0:
                    D[i, k] = 1
                    P[i, P_COINS] += 1
    feet = y + PLAYER_H
    ground = 0
    if vy >= 0 and feet % TILE == 0:
        fr = feet // TILE
        if _solid(tiles, lvl, h, w, fr, c0) or _solid(tiles, lvl, h, w, fr, c1):
            ground = 1

    # Camera: keeps the player at the screen's middle, scrolls right only.
    target = min(x + PLAYER_W // 2 - SCREEN // 2, w * TILE - SCREEN)
    if target > cam:
        P[i, P_CAMERA] = target

    # Tiles the player overlaps: coins are taken, spikes kill.
    status = RUNNING
    for r in range(max(y // TILE, 0), min((y + PLAYER_H - 1) // TILE, h - 1) + 1):
        for c in range(c0, c1 + 1):
            t = tiles[lvl, r, c]
            if t == COIN:
                k = dyn[lvl, r, c]
                if D[i, k] == 0:
                    D[i, k] = 1
                    P[i, P_COINS] += 1
            elif t == SPIKES:
                if (
                    x + PLAYER_W > c * TILE + SPIKE_INSET
                    and x < (c + 1) * TILE - SPIKE_INSET
                    and y + PLAYER_H > r * TILE + SPIKE_INSET
                ):
                    status = DEAD
    if y > h * TILE:
        status = DEAD

    # Enemies: wake near the camera, walk, turn at walls, fall; contact stomps or kills.
    # Every contact this frame is judged by the fall speed before any stomp, so landing on two
    # overlapping enemies stomps both instead of the bounce turning the second into a side hit.
    cam = P[i, P_CAMERA]
    falling = vy > 0
    for k in range(LD[lvl, LD_NE]):
        if E[i, k, E_ALIVE] == 0:
            continue
        if E[i, k, E_ACTIVE] == 0:
            if E[i, k, EX] < cam + ENEMY_WAKE:
                E[i, k, E_ACTIVE] = 1
            else:
                continue
        ex = E[i, k, EX] + E[i, k, EVX]
        ey = E[i, k, EY]
        er0 = ey // TILE
        er1 = (ey + ENEMY_H - 1) // TILE
        if E[i, k, EVX] < 0:
            c = ex // TILE
            for r in range(er0, er1 + 1):
                if _enemy_blocked(tiles, lvl, h, w, r, c):
                    ex = (c + 1) * TILE
                    E[i, k, EVX] = ENEMY_SPEED
                    break
        else:
            c = (ex + ENEMY_W - 1) // TILE
            for r in range(er0, er1 + 1):
                if _enemy_blocked(tiles, lvl, h, w, r, c):
                    ex = c * TILE - ENEMY_W
                    E[i, k, EVX] = -ENEMY_SPEED
                    break
        evy = min(E[i, k, EVY] + ENEMY_GRAVITY, MAX_FALL)
        ey += evy
        ec0 = ex // TILE
        ec1 = (ex + ENEMY_W - 1) // TILE
        r = (ey + ENEMY_H - 1) // TILE
        E[i, k, E_GROUND] = 0
        if _solid(tiles, lvl, h, w, r, ec0) or _solid(tiles, lvl, h, w, r, ec1):
            ey = r * TILE - ENEMY_H
            evy = 0
            E[i, k, E_GROUND] = 1
        E[i, k, EX] = ex
        E[i, k, EY] = ey
        E[i, k, EVY] = evy
        if ey > h * TILE:
            E[i, k, E_ALIVE] = 0
            continue
        if (
            status == RUNNING
            and x < ex + ENEMY_W
            and ex < x + PLAYER_W
            and y < ey + ENEMY_H
            and ey < y + PLAYER_H
        ):
            if falling and y + PLAYER_H <= ey + STOMP_MARGIN:
                E[i, k, E_ALIVE] = 0
                vy = -STOMP_BOUNCE
                ground = 0
                P[i, P_STOMPS] += 1
            else:
                status = DEAD

    if status == RUNNING and x + PLAYER_W > LD[lvl, LD_FLAG] * TILE:
        status = COMPLETED
    frames = P[i, P_FRAMES] + 1
    if x > P[i, P_RIGHTMOST]:
        P[i, P_RIGHTMOST] = x
        P[i, P_LAST_PROGRESS] = frames
    if status == RUNNING and frames >= P[i, P_TIME_LIMIT]:
        status = TIMEOUT
    P[i, PX], P[i, PY], P[i, PVX], P[i, PVY] = x, y, vx, vy
    P[i, P_GROUND] = ground
    P[i, P_FRAMES] = frames
    P[i, P_STATUS] = status
    P[i, P_APREV] = 1 if a else 0


@njit(cache=True, inline="always")
def controls(actions, i):
    """World ``i``'s buttons (row ``i`` of an (N, 6) array) as A held, B held and direction
    (-1, 0, +1): LEFT and RIGHT together cancel out."""
    a = actions[i, 0] != 0
    b = actions[i, 1] != 0
    d = (1 if actions[i, 5] != 0 else 0) - (1 if actions[i, 4] != 0 else 0)
    return a, b, d


@njit(cache=True, inline="always")
def step_world(i, P, E, D, tiles, dyn, LD, a, b, d, n_frames):
    """Advance world ``i`` by up to ``n_frames`` frames with A, B and direction ``d`` held; a
    world that ends (or has ended) stays frozen."""
    for _ in range(n_frames):
        if P[i, P_STATUS] != RUNNING:
            break
        _frame(i, P, E, D, tiles, dyn, LD, a, b, d)


@njit(cache=True)
def step(P, E, D, tiles, dyn, LD, actions, n_frames):
    """Advance every running world by ``n_frames`` frames holding ``actions`` (N, 6) buttons.

    Worlds that are dead, complete or out of time stay frozen until they are reset.
    """
    for i in range(P.shape[0]):
        a, b, d = controls(actions, i)
        step_world(i, P, E, D, tiles, dyn, LD, a, b, d, n_frames)


@njit(cache=True)
def reset(P, E, D, LD, spawns, mask, levels):
    """Put the worlds where ``mask`` is set at the start of level slot ``levels[i]``."""
    for i in range(P.shape[0]):
        if not mask[i]:
            continue
        lvl = levels[i]
        P[i, :] = 0
        E[i, :, :] = 0
        D[i, :] = 0
        x = LD[lvl, LD_SX]
        P[i, P_LEVEL] = lvl
        P[i, PX] = x
        P[i, PY] = LD[lvl, LD_SY]
        P[i, P_GROUND] = 1
        P[i, P_FACING] = 1
        P[i, P_RIGHTMOST] = x
        P[i, P_TIME_LIMIT] = LD[lvl, LD_TIME]
        P[i, P_CAMERA] = max(0, min(x + PLAYER_W // 2 - SCREEN // 2, LD[lvl, LD_W] * TILE - SCREEN))
        P[i, P_STATUS] = RUNNING
        for k in range(LD[lvl, LD_NE]):
            E[i, k, EX] = spawns[lvl, k, 0]
            E[i, k, EY] = spawns[lvl, k, 1]
            E[i, k, EVX] = -ENEMY_SPEED
            E[i, k, E_ALIVE] = 1


@njit(cache=True, inline="always")
def observe_cells(i, P, E, tiles, LD, radius, cells, grid):
    """MarI/O's tile grid around player ``i``: 1 solid, -1 enemy or spikes, 0 otherwise.

    ``grid`` is the flat (2r+1)^2 grid, row-major. Only the cells listed in ``cells`` (flat
    indices) are computed from the tiles, so a caller that reads a few cells pays for those;
    enemies are then marked -1 wherever they are in the grid. The grid is sampled every 16 px
    from the player's centre; rows above or below the map read 0 (so a pit reads empty), columns
    left or right of the map read 1.
    """
    lvl = P[i, P_LEVEL]
    h = LD[lvl, LD_H]
    w = LD[lvl, LD_W]
    cx = P[i, PX] + PLAYER_W // 2
    cy = P[i, PY] + PLAYER_H // 2
    size = 2 * radius + 1
    for cell in cells:
        gy, gx = cell // size, cell % size
        v = 0.0
        row = (cy + (gy - radius) * TILE) // TILE
        if 0 <= row < h:
            col = (cx + (gx - radius) * TILE) // TILE
            if col < 0 or col >= w:
                v = 1.0
            else:
                t = tiles[lvl, row, col]
                if SOLID[t]:
                    v = 1.0
                elif t == SPIKES:
                    v = -1.0
        grid[cell] = v
    for k in range(LD[lvl, LD_NE]):
        if E[i, k, E_ALIVE] == 0:
            continue
        ix = (E[i, k, EX] + ENEMY_W // 2 - cx + TILE // 2) // TILE
        iy = (E[i, k, EY] + ENEMY_H // 2 - cy + TILE // 2) // TILE
        if -radius <= ix <= radius and -radius <= iy <= radius:
            grid[(iy + radius) * size + ix + radius] = -1.0


@njit(cache=True)
def observe(P, E, tiles, LD, radius, out):
    """Every player's whole grid (``observe_cells`` on all cells) into ``out`` (N, 2r+1, 2r+1)."""
    size = 2 * radius + 1
    cells = np.arange(size * size)
    for i in range(P.shape[0]):
        observe_cells(i, P, E, tiles, LD, radius, cells, out[i].reshape(size * size))
