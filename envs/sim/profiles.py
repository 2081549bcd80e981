"""Physics profiles: the numbers (and the few rules) of the physics, one set per level family.

The built-in levels play by ``DEFAULT`` (the lab's physics, ``envs.sim.constants``); the real
game's stages (``smb:`` levels) play by ``SMB``, whose numbers come from the game's own tables
(doppelganger's SMB disassembly, ``smbdis.asm``) and whose rules follow its player code, so a
button sequence moves Mario in the fast world as it does on the NES (``docs/smb.md``, and the
fidelity test in ``tests/envs/sim/test_fidelity.py``).

A profile is stored per level in the level bank's info array (``PhysicsProfile.row``: one int32
column per field, ``COLUMNS``), so one batch can mix families while the kernels in
``envs.sim.physics`` stay written once: they read every number from the level's row.

Units. Positions are world units (``UNIT`` = 256 per pixel). The horizontal speed ``vx`` is in
``vx_unit`` units per pixel per frame: ``DEFAULT`` keeps world units (``x += vx``); ``SMB`` keeps
the game's speed byte and its sub-speed byte (Player_X_Speed in 1/16 px, Player_X_MoveForce in
1/256 of that), 4096 per pixel, and moves by the speed byte only: ``x += (vx >> 8) * 16``, as
MoveObjectHorizontally does. Speed thresholds of the SMB rules (jump tiers, running) compare the
speed byte (``vx >> vx_frac_bits``), as the game compares Player_XSpeedAbsolute. Vertical speeds
and gravities are in world units per frame (the game's Player_Y_Speed/Y_MoveForce are the same
1/256 px).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from envs.sim import constants as C

H_SIMPLE, H_SMB = 0, 1  # the two forms of the horizontal rule (see envs.sim.physics)
NO_LIMIT = 1 << 30  # a speed threshold that is never reached


def tile_mask(*codes: int) -> int:
    """A bit mask over tile codes (bit ``c`` set for every code ``c``)."""
    return sum(1 << int(c) for c in set(codes))


@dataclass(frozen=True)
class PhysicsProfile:
    """Every number of the physics and of the grid view, in kernel units (module docstring)."""

    name: str
    # --- horizontal ---------------------------------------------------------------------------
    horizontal: int = H_SIMPLE  # H_SIMPLE: the lab's rule; H_SMB: the game's (physics.py)
    vx_frac_bits: int = 0  # low bits of vx that are sub-speed (do not move the player)
    vx_step: int = 1  # world units moved per step of vx >> vx_frac_bits
    walk_max: int = C.WALK_MAX  # top speeds (vx units; SMB: speed byte << 8)
    run_max: int = C.RUN_MAX
    walk_acc: int = C.WALK_ACC  # per frame while holding a direction (SMB: the friction table)
    run_acc: int = C.RUN_ACC
    release_dec: int = C.RELEASE_DEC  # on the ground with no direction held
    release_dec_fast: int = C.RELEASE_DEC  # SMB: the same after running (RunningSpeed set)
    skid_dec: int = C.SKID_DEC  # H_SIMPLE: turning around on the ground
    air_turn_dec: int = C.AIR_TURN_DEC  # H_SIMPLE: turning around in the air
    # H_SMB only, speed-byte thresholds (Player_XSpeedAbsolute) and the running timer:
    fast_speed: int = NO_LIMIT  # at or above: RunningSpeed is set ($1c)
    fast_release_min: int = NO_LIMIT  # at or above: the fast friction even without it ($21)
    air_run_min: int = NO_LIMIT  # in the air, the run top speed and friction from here ($19)
    skid_stop: int = 0  # below this, turning around on the ground stops dead ($0b)
    run_timer: int = 0  # frames the run top speed outlives the B button (RunningTimer $0a)
    # --- jumps: tier from the take-off speed (|vx >> vx_frac_bits| against the limits) -------
    jump_limits: tuple[int, int, int, int] = C.JUMP_SPEED_LIMITS + (NO_LIMIT, NO_LIMIT)
    jump_v: tuple[int, int, int, int, int] = C.JUMP_V + (C.JUMP_V[-1],) * 2
    gravity_hold: tuple[int, int, int, int, int] = C.GRAVITY_HOLD + (C.GRAVITY_HOLD[-1],) * 2
    gravity_fall: tuple[int, int, int, int, int] = C.GRAVITY_FALL + (C.GRAVITY_FALL[-1],) * 2
    move_then_fall: int = 0  # 1: y moves by the old speed, then gravity (the game's order)
    sticky_fall: int = 0  # 1: once A is let go (or the apex passed) the fall gravity stays
    max_fall: int = C.MAX_FALL
    fall_cap_sub: int = 0  # the speed is cut to max_fall once past it with this sub-speed
    keep_landing_frac: int = 0  # 1: a landing keeps y's sub-pixel for the next walk-off
    stomp_bounce: int = C.STOMP_BOUNCE
    stomp_margin: int = C.STOMP_MARGIN  # a stomp needs the feet at most this far into the enemy
    # --- where the player's box meets tiles (offsets into the hitbox) -----------------------
    side_top: int = 0  # walls are met on the rows from side_top to side_bottom below the top
    side_bottom: int = C.PLAYER_H - 1
    feet_left: int = 0  # floors are stood on from feet_left to feet_right
    feet_right: int = C.PLAYER_W - 1
    land_depth: int = C.TILE + 1  # a floor lands feet less than this deep in it (else: a wall)
    flag_probe: int = 0  # 1: the flag is reached by the side probe in a flag cell (the game's
    # pole), not by the box passing the flag column's edge (standing at the base does not)
    wall_push: int = 0  # 0: a wall stops the player at its face as he moves; 1: the game's
    # side check after the vertical move, a pixel a frame out of it (ImpedePlayerMove)
    head_top: int = 0  # ceilings are met this far below the top, from head_left to head_right
    head_left: int = 0
    head_right: int = C.PLAYER_W - 1
    bump_stay: int = 0  # 0: a ceiling puts the head under it and stops the rise; 1: the
    # game's bump: the head stays where it got to, the speed byte is zeroed (the sub-speed kept)
    # --- enemies ------------------------------------------------------------------------------
    enemy_speed: int = C.ENEMY_SPEED
    enemy_gravity: int = C.ENEMY_GRAVITY
    enemy_wake: int = C.ENEMY_WAKE  # enemies start walking this far right of the camera's left
    contact_inset: int = 0  # player and enemy touch only when their boxes overlap more in x
    contact_inset_y: int = 0  # ... and in y
    # --- the pad: 1 plays each frame by the buttons of the frame before (the game's lag) ---
    input_lag: int = 0
    down_halts: int = 0  # 1: DOWN held on the ground cancels LEFT and RIGHT (the game's rule)
    lag_jitter: int = 0  # with input_lag: a seed (0: none) by which 1 frame in LAG_JITTER plays
    # its own buttons (the game's player code sometimes runs inside the emulator's frame)
    # --- the camera: it scrolls right (only) to keep the player's left edge this far in -------
    camera_x: int = C.SCREEN // 2 - C.PLAYER_W // 2
    # --- the start ----------------------------------------------------------------------------
    start_dx: int = 0  # added to the start x (the player's left edge (TILE - PLAYER_W) / 2 in)
    # --- the grid view (observe_cells) --------------------------------------------------------
    grid_dx: int = C.PLAYER_W // 2  # the centre cell's sample point, from the hitbox's top left
    grid_dy: int = C.PLAYER_H // 2
    # An enemy marks every cell (dx, dy) with lo <= e - p - d * TILE <= hi on both axes, where
    # e and p are the enemy's and the player's reference points (offsets from the hitboxes' top
    # left), all floored to 2 ** ``grid_quantum_bits`` units first (8: whole pixels, as MarI/O
    # reads); lo and hi are in those.
    grid_quantum_bits: int = 0
    enemy_ref_dx: int = C.ENEMY_W // 2
    enemy_ref_dy: int = C.ENEMY_H // 2
    player_ref_dx: int = C.PLAYER_W // 2
    player_ref_dy: int = C.PLAYER_H // 2
    enemy_lo: int = -C.TILE // 2
    enemy_hi: int = C.TILE // 2 - 1
    view_solid: int = tile_mask(*np.flatnonzero(C.SOLID))  # tiles that read 1
    view_hazard: int = tile_mask(C.SPIKES)  # tiles that read -1
    view_left: int = 1  # what columns left of the map read (DEFAULT: a wall)

    @property
    def vx_unit(self) -> int:
        """vx units per pixel per frame."""
        return (C.UNIT << self.vx_frac_bits) // self.vx_step

    @property
    def top_speed(self) -> int:
        """The fastest the player ever moves, in world units per frame (the solver's bound)."""
        return (self.run_max >> self.vx_frac_bits) * self.vx_step

    def row(self) -> np.ndarray:
        """The profile as the int32 columns of the level-info array (``COLUMNS`` order)."""
        values: list[int] = []
        for f in dataclasses.fields(self)[1:]:
            v = getattr(self, f.name)
            values.extend(v if isinstance(v, tuple) else (v,))
        return np.array(values, dtype=np.int32)


def _columns() -> dict[str, int]:
    """Column of each field in ``PhysicsProfile.row`` (tuple fields: their first element)."""
    out, k = {}, 0
    probe = PhysicsProfile("probe")
    for f in dataclasses.fields(PhysicsProfile)[1:]:
        out[f.name] = k
        v = getattr(probe, f.name)
        k += len(v) if isinstance(v, tuple) else 1
    return out


COLUMNS = _columns()
N_COLUMNS = len(PhysicsProfile("probe").row())

DEFAULT = PhysicsProfile("default")

# Super Mario Bros. as gym-super-mario-bros bundles it, small Mario on land. That ROM is the PAL
# release (sha256 ec299b99...): its tables are faster and stronger than the NTSC ones that the
# disassembly lists (in brackets), to make up for 50 frames a second. Read from the ROM (PRG
# offsets 0x3424-0x3449 and the code of ProcJumping, X_Physics, GetPlayerAnimSpeed and
# MovePlayerVertically); smbdis.asm names.
# Horizontal (vx in 1/4096 px): MaxRightXSpdData $30 run, $1c walk [$28, $18]; the friction is
# $100 + FrictionData $c0 (running), $00 (walking), $80 (after running) [$e4, $98, $d0 with no
# $100], doubled while facing away from the moving direction (the skid). Thresholds on the speed
# byte: RunningSpeed from $20 [$1c], the fast friction from $27 [$21], the run top speed in the
# air from $1d [$19], a turn stops dead below $0d [$0b]; the running timer is $0a frames.
# Jumps: tiers from the speed byte below $0a, $12, $1d, $22 [$09, $10, $19, $1c]; launch speed
# PlayerYSpdData $fb,$fb,$fb,$fa,$fa with InitMForceData $34,$34,$34,0,0 (-4.80, -4.80, -4.80,
# -6, -6 px/frame) [$fc,$fc,$fc,$fb,$fb with 0: -4, -4, -4, -5, -5]; JumpMForceData
# $30,$30,$2d,$38,$38 (gravity with A held while rising) [$20,$20,$1e,$28,$28]; FallMForceData
# $a8,$a8,$90,$d0,$d0 [$70,$70,$60,$90,$90]. Falling is capped at 5 px/frame [4], and only on a
# frame whose sub-speed is $80 or more (so for a frame or two it passes 5). A landing snaps the
# pixel and keeps its fraction, which a walk-off then carries. The game acts on the pad one frame
# late (fidelity.py allows for it).
# The grid is MarI/O's: tiles sampled at (marioX + 8, marioY - 16) + 16 * (dx, dy), with marioX
# the sprite's left (2 px left of the 12 px hitbox) and marioY the top of small Mario; an enemy
# (sprite left, Enemy_Y_Position + 24) marks the cells within 8 px of (marioX, marioY) + 16 *
# (dx, dy); any non-empty metatile reads 1 (coins and the flagpole too); left of the start, 0.
SMB = PhysicsProfile(
    "smb",
    horizontal=H_SMB,
    vx_frac_bits=8,
    vx_step=16,
    walk_max=0x1C << 8,
    run_max=0x30 << 8,
    walk_acc=0x100,
    run_acc=0x1C0,
    release_dec=0x100,
    release_dec_fast=0x180,
    skid_dec=0,
    air_turn_dec=0,
    fast_speed=0x20,
    fast_release_min=0x27,
    air_run_min=0x1D,
    skid_stop=0x0D,
    run_timer=0x0A,
    jump_limits=(0x0A, 0x12, 0x1D, 0x22),
    jump_v=(0x500 - 0x34, 0x500 - 0x34, 0x500 - 0x34, 0x600, 0x600),
    gravity_hold=(0x30, 0x30, 0x2D, 0x38, 0x38),
    gravity_fall=(0xA8, 0xA8, 0x90, 0xD0, 0xD0),
    move_then_fall=1,
    sticky_fall=1,
    max_fall=5 * C.UNIT,
    fall_cap_sub=0x80,
    keep_landing_frac=1,
    stomp_bounce=4 * C.UNIT,
    # small Mario's collision points (BlockBuffer_X/Y_Adder): the sides only at 8 px below his
    # top, the feet at 1 and 10 px into the 12 px box (the sprite's x + 3 and x + 12), the head
    # at one point 2 px below his top in the box's middle (the sprite's x + 8)
    side_top=8 * C.UNIT,
    side_bottom=8 * C.UNIT,
    feet_left=1 * C.UNIT,
    feet_right=10 * C.UNIT,
    land_depth=6 * C.UNIT,  # ChkFootMTile: lands only with the feet less than 6 px in [5]
    flag_probe=1,
    wall_push=1,  # Mario runs up to his speed into a wall, lands on its top corner from there
    head_top=2 * C.UNIT,
    head_left=6 * C.UNIT,
    head_right=6 * C.UNIT,
    bump_stay=1,
    enemy_speed=0x0A * 16,  # goombas walk at speed byte $0a [NTSC $08]: 0.625 px/frame
    enemy_gravity=C.ENEMY_GRAVITY,
    enemy_wake=C.SCREEN + 3 * C.TILE,  # enemies load 48 px past the screen's right edge
    # the game's boxes (small Mario's, a goomba's) are smaller than their sprites: running
    # into a goomba kills at 4 px between the sprites' left edges, not at 7; landing on one
    # stomps with the feet 8 px into it, not at 3 (measured on the fidelity sequences)
    contact_inset=7 * C.UNIT,
    contact_inset_y=4 * C.UNIT,
    stomp_margin=9 * C.UNIT - 1,  # 8 px, in whole pixels as the game compares them
    down_halts=1,  # PlayerCtrlRoutine: down on the ground nullifies the directional bits
    input_lag=1,  # the game reads the pad in one frame's interrupt and moves Mario in the next
    camera_x=(112 + 2) * C.UNIT,  # the game holds a walking Mario's sprite near x 112
    start_dx=8 * C.UNIT,
    grid_dx=6 * C.UNIT,
    grid_dy=-16 * C.UNIT,
    grid_quantum_bits=8,
    enemy_ref_dx=-1 * C.UNIT,
    enemy_ref_dy=16 * C.UNIT,
    player_ref_dx=-2 * C.UNIT,
    player_ref_dy=0,
    enemy_lo=-8,
    enemy_hi=8,
    view_solid=tile_mask(*[c for c in range(11) if c not in (C.AIR, C.SPIKES)]),
    view_hazard=tile_mask(C.SPIKES),
    # left of the stage's start the game's two-page buffer holds columns 32 ahead, which its
    # parser (24 columns ahead at the start) has not written yet while Mario can see there: 0
    view_left=0,
)

PROFILES = {p.name: p for p in (DEFAULT, SMB)}
SMB_PREFIX = "smb:"
#: ``smb:1-1~K`` (K = 1..JITTER_SEEDS): the stage with timing jitter seed K (``lag_jitter``)
#: and a start (K * 5 mod 16) / 16 px further right.
JITTER_MARK = "~"
JITTER_SEEDS = 999
#: With a jitter seed, about one frame in this many plays without the pad lag.
LAG_JITTER = 16


def jitter_seed(level_name: str) -> int:
    """K of a level named ``...~K`` (0 without the mark); ValueError for a bad K."""
    base, mark, k = str(level_name).rpartition(JITTER_MARK)
    if not mark or not base:
        return 0
    if not k.isdigit() or not 1 <= int(k) <= JITTER_SEEDS:
        raise ValueError(f"{level_name}: a timing jitter seed is 1..{JITTER_SEEDS}, got {k!r}")
    return int(k)


def profile_for(level_name: str) -> PhysicsProfile:
    """The physics of a level: ``SMB`` for the real game's stages (``smb:``), else ``DEFAULT``;
    ``smb:W-S~K`` is ``SMB`` with timing jitter seed K."""
    if not str(level_name).startswith(SMB_PREFIX):
        return DEFAULT
    k = jitter_seed(level_name)
    return SMB if k == 0 else _jittered(k)


_JITTERED: dict[int, PhysicsProfile] = {}


def _jittered(k: int) -> PhysicsProfile:
    if k not in _JITTERED:
        # ... and a start 0..15/16 px further right: other sub-pixels all along the run
        frac = (k * 5 % 16) * (C.UNIT // 16)
        _JITTERED[k] = dataclasses.replace(
            SMB, name=f"smb{JITTER_MARK}{k}", lag_jitter=k, start_dx=SMB.start_dx + frac
        )
    return _JITTERED[k]
