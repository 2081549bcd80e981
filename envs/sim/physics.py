"""The physics of N worlds at once: compiled kernels over the state arrays of ``envs.sim.world``.

This is the only copy of the game rules. Every kernel takes the whole batch (player array ``P``,
enemy array ``E``, dynamic-cell array ``D``) plus the packed levels, and loops over worlds in
compiled code, so Python never iterates over worlds. The single environment is the N = 1 case.
All arithmetic is on integers (sub-pixel units), so rollouts are bit-identical.

Every number of the physics comes from the level's physics profile (``envs.sim.profiles``),
stored in the level's row of the level-info array, so worlds on built-in levels and worlds on
the real game's stages run in one batch through the same code. The horizontal rule has two
forms, chosen by the profile: the lab's simple one (accelerate to the walk or run top speed,
skid when reversing) and the game's own (``_horizontal_smb``: its friction table, facing and
moving directions, running timer and the speed byte/sub-speed pair); jumps, gravity, collisions,
enemies, coins and the view are shared.

The level-info columns (array ``LD``) are ``envs.sim.levelinfo``'s; what an agent sees is
``envs.sim.view``'s.
"""

from __future__ import annotations

from numba import njit

from envs.sim.constants import (
    COIN,
    COMPLETED,
    DEAD,
    E_ACTIVE,
    E_ALIVE,
    E_GROUND,
    ENEMY_H,
    ENEMY_W,
    EVX,
    EVY,
    EX,
    EY,
    FLAG,
    P_APREV,
    P_CAMERA,
    P_COINS,
    P_FACING,
    P_FALLDOWN,
    P_FRAMES,
    P_GROUND,
    P_LAST_PROGRESS,
    P_LEVEL,
    P_MOVEDIR,
    P_PAD,
    P_RIGHTMOST,
    P_RUNSPEED,
    P_RUNTIMER,
    P_STATUS,
    P_STOMPS,
    P_TIER,
    P_TIME_LIMIT,
    P_YFRAC,
    PLAYER_H,
    PLAYER_W,
    PVX,
    PVY,
    PX,
    PY,
    QUESTION,
    RUNNING,
    SCREEN,
    SOLID,
    SPIKE_INSET,
    SPIKES,
    TILE,
    TIMEOUT,
    UNIT,
)
from envs.sim.levelinfo import (
    LD_AIR_RUN_MIN,
    LD_AIR_TURN,
    LD_BUMP_STAY,
    LD_CAMERA_X,
    LD_CONTACT_INSET,
    LD_CONTACT_INSET_Y,
    LD_DOWN_HALTS,
    LD_ENEMY_GRAVITY,
    LD_ENEMY_SPEED,
    LD_ENEMY_WAKE,
    LD_FALL_CAP_SUB,
    LD_FAST_RELEASE_MIN,
    LD_FAST_SPEED,
    LD_FEET_LEFT,
    LD_FEET_RIGHT,
    LD_FLAG,
    LD_FLAG_PROBE,
    LD_FRAC,
    LD_G_FALL,
    LD_G_HOLD,
    LD_H,
    LD_HEAD_LEFT,
    LD_HEAD_RIGHT,
    LD_HEAD_TOP,
    LD_HMODE,
    LD_INPUT_LAG,
    LD_JUMP_LIMITS,
    LD_JUMP_V,
    LD_KEEP_FRAC,
    LD_LAG_JITTER,
    LD_LAND_DEPTH,
    LD_MAX_FALL,
    LD_MOVE_THEN_FALL,
    LD_NE,
    LD_RELEASE,
    LD_RELEASE_FAST,
    LD_RUN_ACC,
    LD_RUN_MAX,
    LD_RUN_TIMER,
    LD_SIDE_BOTTOM,
    LD_SIDE_TOP,
    LD_SKID,
    LD_SKID_STOP,
    LD_STEP,
    LD_STICKY_FALL,
    LD_STOMP_BOUNCE,
    LD_STOMP_MARGIN,
    LD_SX,
    LD_SY,
    LD_TIME,
    LD_W,
    LD_WALK_ACC,
    LD_WALK_MAX,
    LD_WALL_PUSH,
)
from envs.sim.profiles import H_SMB, LAG_JITTER


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
def _impede(tiles, lvl, h, w, x, y, vx, LD):
    """The game's side check (PlayerBGCollision, ImpedePlayerMove), after the vertical move:
    the left probe (the hitbox's first whole pixel), then the right one (its last), on the
    side rows; a hit
    stops the player and pushes him a pixel out, unless he is moving away from it (the left
    probe: a speed byte of 1 or more; the right: below 0). Returns x and vx."""
    speed = vx >> LD[lvl, LD_FRAC]
    px = x - x % UNIT  # the probes are at whole pixels: the box's first and last
    for side in range(2):
        c = px // TILE if side == 0 else (px + PLAYER_W - UNIT) // TILE
        for r in range(
            (y + LD[lvl, LD_SIDE_TOP]) // TILE, (y + LD[lvl, LD_SIDE_BOTTOM]) // TILE + 1
        ):
            if _solid(tiles, lvl, h, w, r, c):  # the speed byte goes, the sub-speed stays
                if side == 0 and speed < 1:
                    return x + UNIT, vx - (speed << LD[lvl, LD_FRAC])
                if side == 1 and speed >= 0:
                    return x - UNIT, vx - (speed << LD[lvl, LD_FRAC])
                return x, vx
    return x, vx


@njit(cache=True, inline="always")
def _horizontal_simple(i, P, LD, lvl, ground, b, d, vx):
    """The lab's rule: accelerate toward the walk or run top speed (B), skid when reversing,
    slow down with no direction held on the ground."""
    top = LD[lvl, LD_RUN_MAX] if b else LD[lvl, LD_WALK_MAX]
    release = LD[lvl, LD_RELEASE]
    if d != 0:
        P[i, P_FACING] = d
        if vx * d < 0:
            vx += d * (LD[lvl, LD_SKID] if ground else LD[lvl, LD_AIR_TURN])
        else:
            speed = abs(vx)
            if speed < top:
                speed = min(speed + (LD[lvl, LD_RUN_ACC] if b else LD[lvl, LD_WALK_ACC]), top)
            elif ground:
                speed = max(speed - release, top)
            vx = d * speed
    elif ground:
        vx = max(vx - release, 0) if vx > 0 else min(vx + release, 0)
    return vx


@njit(cache=True, inline="always")
def _friction(vx, d, f, top, frac):
    """SMB's ImposeFriction: ``f`` toward ``d`` (or toward a stop with no direction), the speed
    byte clamped to the top speed with the sub-speed kept."""
    mask = (1 << frac) - 1
    if d == 0:
        s = vx >> frac
        if s == 0:
            return vx
        d = -1 if s > 0 else 1
    if d > 0:
        vx += f
        if (vx >> frac) >= (top >> frac):
            vx = top + (vx & mask)
    else:
        vx -= f
        if (vx >> frac) < -(top >> frac):
            vx = -top + (vx & mask)
    return vx


@njit(cache=True, inline="always")
def _horizontal_smb(i, P, LD, lvl, ground, b, d, vx):
    """Super Mario Bros.' rule (smbdis.asm X_Physics, GetPlayerAnimSpeed, ImposeFriction): the
    top speed and the one friction number (speeding up and slowing down alike) come from
    running (B held, or within the running timer, toward the moving direction, on the ground;
    in the air from the speed alone), and RunningSpeed (set once fast); the friction doubles
    while facing away from the moving direction (the skid); below ``skid_stop`` a turn stops
    dead. In the air only a held direction changes the speed, and the facing stays."""
    frac = LD[lvl, LD_FRAC]
    speed = abs(vx >> frac)
    moving, facing = P[i, P_MOVEDIR], P[i, P_FACING]
    timer = P[i, P_RUNTIMER]
    if timer > 0:
        timer -= 1
    fast = P[i, P_RUNSPEED] != 0
    if ground:
        run = d != 0 and d == moving and (b or timer > 0)
        if run and b:
            timer = LD[lvl, LD_RUN_TIMER]
        fast = fast or speed >= LD[lvl, LD_FAST_RELEASE_MIN]
    else:
        run = speed >= LD[lvl, LD_AIR_RUN_MIN]
    if run:
        top, f = LD[lvl, LD_RUN_MAX], LD[lvl, LD_RUN_ACC]
    else:
        top = LD[lvl, LD_WALK_MAX]
        f = LD[lvl, LD_RELEASE_FAST] if fast else LD[lvl, LD_WALK_ACC if d != 0 else LD_RELEASE]
    if facing != moving:
        f *= 2
    if ground:
        if speed >= LD[lvl, LD_FAST_SPEED]:
            P[i, P_RUNSPEED] = 1
        elif b or d != 0:
            if d == moving:
                P[i, P_RUNSPEED] = 0
            elif speed < LD[lvl, LD_SKID_STOP]:
                moving = facing
                vx = 0
        if d != 0:
            facing = d
        vx = _friction(vx, d, f, top, frac)
    elif d != 0:
        vx = _friction(vx, d, f, top, frac)
    s = vx >> frac
    if s != 0:
        moving = 1 if s > 0 else -1
    P[i, P_MOVEDIR], P[i, P_FACING], P[i, P_RUNTIMER] = moving, facing, timer
    return vx


@njit(cache=True, inline="always")
def _jump(i, P, LD, lvl, vx):
    """Take off: the tier (height, gravities) is the number of tier limits the speed reaches."""
    speed = abs(vx >> LD[lvl, LD_FRAC])
    tier = 0
    for k in range(4):
        if speed >= LD[lvl, LD_JUMP_LIMITS + k]:
            tier += 1
    P[i, P_TIER] = tier
    P[i, P_FALLDOWN] = 0
    return -LD[lvl, LD_JUMP_V + tier]


@njit(cache=True, inline="always")
def _frame(i, P, E, D, tiles, dyn, LD, a, b, d):
    """Advance world ``i`` by one frame with A, B and direction ``d`` (-1, 0, +1) held."""
    lvl = P[i, P_LEVEL]
    h = LD[lvl, LD_H]
    w = LD[lvl, LD_W]
    x, y, vx, vy = P[i, PX], P[i, PY], P[i, PVX], P[i, PVY]
    ground = P[i, P_GROUND]
    jump = ground and a and P[i, P_APREV] == 0  # a new press of A on the ground

    # Horizontal speed, and the jump on a new press of A (its tier depends on the speed: the
    # game takes it before this frame's friction, the lab after).
    if LD[lvl, LD_HMODE] == H_SMB:
        if jump:
            vy = _jump(i, P, LD, lvl, vx)
            ground = 0
        vx = _horizontal_smb(i, P, LD, lvl, ground, b, d, vx)
    else:
        vx = _horizontal_simple(i, P, LD, lvl, ground, b, d, vx)
        if jump:
            vy = _jump(i, P, LD, lvl, vx)
            ground = 0
    dy = vy  # on the ground vy is 0 (or a landing still to be resolved)
    if not ground:
        # Gravity: the tier's weaker pull while rising with A held, else the stronger one
        # (sticky: once A is let go after take-off, or the apex passed, it stays until landing).
        tier = P[i, P_TIER]
        if LD[lvl, LD_STICKY_FALL]:
            held = vy < 0 and P[i, P_FALLDOWN] == 0 and (jump or (a and P[i, P_APREV] != 0))
            if not held:
                P[i, P_FALLDOWN] = 1
        else:
            held = a and vy < 0
        vnew = vy + (LD[lvl, LD_G_HOLD + tier] if held else LD[lvl, LD_G_FALL + tier])
        if vnew >= LD[lvl, LD_MAX_FALL] and (vnew & 255) >= LD[lvl, LD_FALL_CAP_SUB]:
            vnew = LD[lvl, LD_MAX_FALL]
        dy = vy if LD[lvl, LD_MOVE_THEN_FALL] else vnew
        vy = vnew
        if jump:
            P[i, P_YFRAC] = 0
        else:  # walking off a ledge: the sub-pixel kept from the landing moves too
            dy += P[i, P_YFRAC]
            P[i, P_YFRAC] = 0

    # Move along x, then resolve against the wall on the leading side.
    x += (vx >> LD[lvl, LD_FRAC]) * LD[lvl, LD_STEP]
    cam = P[i, P_CAMERA]
    if x < cam:  # the camera never scrolls back, and the player cannot leave it (as in SMB)
        x = cam
        vx = max(vx, 0)
    x_max = w * TILE - PLAYER_W
    if x > x_max:
        x = x_max
        vx = min(vx, 0)
    push = LD[lvl, LD_WALL_PUSH]  # 0: walls stop the player here; 1: later, a pixel a frame
    r0 = (y + LD[lvl, LD_SIDE_TOP]) // TILE  # the rows the sides meet walls on
    r1 = (y + LD[lvl, LD_SIDE_BOTTOM]) // TILE
    if push:
        pass  # the game checks its sides after the vertical move (``_impede``, below)
    elif vx > 0:
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
    y += dy
    c0 = x // TILE
    c1 = (x + PLAYER_W - 1) // TILE
    f0 = (x + LD[lvl, LD_FEET_LEFT]) // TILE  # the columns the feet stand on
    f1 = (x + LD[lvl, LD_FEET_RIGHT]) // TILE
    # Falling for the floor check: moving down (the lab), or not rising (the game, which also
    # lands at the apex when the feet are already in a block's top).
    if (vy >= 0) if LD[lvl, LD_MOVE_THEN_FALL] else (dy > 0):
        r = (y + PLAYER_H - 1) // TILE
        if _solid(tiles, lvl, h, w, r, f0) or _solid(tiles, lvl, h, w, r, f1):
            if y + PLAYER_H - r * TILE < LD[lvl, LD_LAND_DEPTH]:
                if LD[lvl, LD_KEEP_FRAC]:
                    P[i, P_YFRAC] = y & 255
                y = r * TILE - PLAYER_H
                vy = 0
            elif vx != 0:  # feet too deep for a landing: the game stops him at the side instead
                x -= UNIT if vx > 0 else -UNIT
                vx = 0
                push = 0  # ... and checks no side this frame
    elif dy < 0:
        head = LD[lvl, LD_HEAD_TOP]
        r = (y + head) // TILE
        h0 = (x + LD[lvl, LD_HEAD_LEFT]) // TILE  # the columns the head meets ceilings on
        h1 = (x + LD[lvl, LD_HEAD_RIGHT]) // TILE
        hit0 = _solid(tiles, lvl, h, w, r, h0)
        hit1 = _solid(tiles, lvl, h, w, r, h1)
        if hit0 or hit1:
            if LD[lvl, LD_BUMP_STAY]:  # the game: the head stays in, the speed byte is zeroed
                vy = vy & 255
            else:
                y = (r + 1) * TILE - head
                vy = 0
            cm = (x + PLAYER_W // 2) // TILE
            bc = cm if _solid(tiles, lvl, h, w, r, cm) else (h0 if hit0 else h1)
            if 0 <= r < h and tiles[lvl, r, bc] == QUESTION:
                k = dyn[lvl, r, bc]
                if D[i, k] == 0:
                    D[i, k] = 1
                    P[i, P_COINS] += 1
    feet = y + PLAYER_H
    ground = 0
    if vy >= 0 and feet % TILE == 0:
        fr = feet // TILE
        if _solid(tiles, lvl, h, w, fr, f0) or _solid(tiles, lvl, h, w, fr, f1):
            ground = 1
    if push:
        x, vx = _impede(tiles, lvl, h, w, x, y, vx, LD)

    # Camera: keeps the player at the profile's screen x (the middle by default), right only.
    target = min(x - LD[lvl, LD_CAMERA_X], w * TILE - SCREEN)
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
    wake, e_speed = LD[lvl, LD_ENEMY_WAKE], LD[lvl, LD_ENEMY_SPEED]
    e_gravity, max_fall = LD[lvl, LD_ENEMY_GRAVITY], LD[lvl, LD_MAX_FALL]
    inset = LD[lvl, LD_CONTACT_INSET]  # a contact needs the boxes to overlap this much more
    inset_y = LD[lvl, LD_CONTACT_INSET_Y]
    stomp_margin = LD[lvl, LD_STOMP_MARGIN]
    for k in range(LD[lvl, LD_NE]):
        if E[i, k, E_ALIVE] == 0:
            continue
        if E[i, k, E_ACTIVE] <= 0:  # asleep until the camera is near (its offset nearer)
            if E[i, k, EX] - E[i, k, E_ACTIVE] < cam + wake:
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
                    E[i, k, EVX] = e_speed
                    break
        else:
            c = (ex + ENEMY_W - 1) // TILE
            for r in range(er0, er1 + 1):
                if _enemy_blocked(tiles, lvl, h, w, r, c):
                    ex = c * TILE - ENEMY_W
                    E[i, k, EVX] = -e_speed
                    break
        evy = min(E[i, k, EVY] + e_gravity, max_fall)
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
            and x < ex + ENEMY_W - inset
            and ex < x + PLAYER_W - inset
            and y < ey + ENEMY_H - inset_y
            and ey < y + PLAYER_H - inset_y
        ):
            if falling and y + PLAYER_H <= ey + stomp_margin:
                E[i, k, E_ALIVE] = 0
                vy = -LD[lvl, LD_STOMP_BOUNCE]
                ground = 0
                P[i, P_STOMPS] += 1
            else:
                status = DEAD

    flag = LD[lvl, LD_FLAG]
    if status == RUNNING and x + PLAYER_W > flag * TILE:
        # the game's pole is met by the side probe (its row must hold the flag, not the base)
        pole_row = (y + LD[lvl, LD_SIDE_TOP]) // TILE
        if not LD[lvl, LD_FLAG_PROBE] or (0 <= pole_row < h and tiles[lvl, pole_row, flag] == FLAG):
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
    """World ``i``'s buttons (row ``i`` of an (N, 6) array) as A held, B held, direction
    (-1, 0, +1: LEFT and RIGHT together cancel out) and DOWN alone held (UP and DOWN together
    cancel out)."""
    a = actions[i, 0] != 0
    b = actions[i, 1] != 0
    d = (1 if actions[i, 5] != 0 else 0) - (1 if actions[i, 4] != 0 else 0)
    down = actions[i, 3] != 0 and actions[i, 2] == 0
    return a, b, d, down


@njit(cache=True, inline="always")
def _unlagged(frame, seed):
    """Whether frame ``frame`` of a world with timing jitter ``seed`` plays without the pad lag:
    about one frame in ``LAG_JITTER``, by a hash of the two (the same in every run)."""
    h = (frame * 2654435761 + seed * 40503 + 12345) & 0xFFFFFFFF
    h = ((h >> 16) ^ h) * 73244475 & 0xFFFFFFFF
    return (h >> 16) % LAG_JITTER == 0


@njit(cache=True, inline="always")
def step_world(i, P, E, D, tiles, dyn, LD, a, b, d, down, n_frames):
    """Advance world ``i`` by up to ``n_frames`` frames with A, B and direction ``d`` held; a
    world that ends (or has ended) stays frozen. With the profile's ``input_lag`` each frame
    plays the buttons of the frame before (``P_PAD``; none before the first)."""
    lag = LD[P[i, P_LEVEL], LD_INPUT_LAG]
    jitter = LD[P[i, P_LEVEL], LD_LAG_JITTER]
    pad = (1 if a else 0) | (2 if b else 0) | (4 if d > 0 else 0) | (8 if d < 0 else 0)
    pad |= 16 if down else 0
    for _ in range(n_frames):
        if P[i, P_STATUS] != RUNNING:
            break
        was = pad
        if lag and not (jitter and _unlagged(P[i, P_FRAMES], jitter)):
            was = P[i, P_PAD]  # this frame plays the buttons of the frame before (the pad lag)
        P[i, P_PAD] = pad
        was_d = ((was >> 2) & 1) - ((was >> 3) & 1)
        if (was & 16) and LD[P[i, P_LEVEL], LD_DOWN_HALTS] and P[i, P_GROUND]:
            was_d = 0  # the game: DOWN on the ground cancels LEFT and RIGHT
        _frame(i, P, E, D, tiles, dyn, LD, (was & 1) != 0, (was & 2) != 0, was_d)


@njit(cache=True)
def step(P, E, D, tiles, dyn, LD, actions, n_frames):
    """Advance every running world by ``n_frames`` frames holding ``actions`` (N, 6) buttons.

    Worlds that are dead, complete or out of time stay frozen until they are reset.
    """
    for i in range(P.shape[0]):
        a, b, d, down = controls(actions, i)
        step_world(i, P, E, D, tiles, dyn, LD, a, b, d, down, n_frames)


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
        P[i, P_FACING] = 1  # P_MOVEDIR 0: not moved yet (the game starts it so)
        P[i, P_RIGHTMOST] = x
        P[i, P_TIME_LIMIT] = LD[lvl, LD_TIME]
        P[i, P_CAMERA] = max(0, min(x - LD[lvl, LD_CAMERA_X], LD[lvl, LD_W] * TILE - SCREEN))
        P[i, P_STATUS] = RUNNING
        for k in range(LD[lvl, LD_NE]):
            E[i, k, EX] = spawns[lvl, k, 0]
            E[i, k, EY] = spawns[lvl, k, 1]
            E[i, k, E_ACTIVE] = -spawns[lvl, k, 2]  # asleep (<= 0): minus its wake offset
            E[i, k, EVX] = -LD[lvl, LD_ENEMY_SPEED]
            E[i, k, E_ALIVE] = 1
