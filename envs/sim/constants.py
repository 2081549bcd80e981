"""Constants of the platformer world: tile codes, the level legend, physics numbers, state layout.

Positions and speeds are integers in sub-pixel units (``UNIT`` per pixel), as on the NES, so that
every rollout is bit-identical for the same level, seed and buttons. The physics numbers follow
Super Mario Bros. (walk/run speeds, the three jump tiers with their held/released gravities).
"""

from __future__ import annotations

import numpy as np

# --- geometry --------------------------------------------------------------------------------
UNIT = 256  # sub-pixel units per pixel
TILE_PX = 16
TILE = TILE_PX * UNIT  # one tile in units
FPS = 60
SCREEN_TILES = 16  # visible width of the camera, as on the NES (256 px)
SCREEN = SCREEN_TILES * TILE

MIN_ROWS, MAX_ROWS, MIN_COLS = 8, 32, 16

# --- tiles -----------------------------------------------------------------------------------
AIR, GROUND, HARD, BRICK, QUESTION, PIPE_L, PIPE_R, SPIKES, COIN, FLAG, USED = range(11)
TILE_NAMES = (
    "air", "ground", "hard block", "brick", "question block", "pipe (left)", "pipe (right)",
    "spikes", "coin", "flag", "used block",
)  # fmt: skip

# Characters of the level files. ``E`` and ``S`` are spawn markers and leave air behind.
LEGEND = {
    ".": AIR, "X": GROUND, "#": HARD, "B": BRICK, "?": QUESTION, "[": PIPE_L, "]": PIPE_R,
    "^": SPIKES, "C": COIN, "F": FLAG,
}  # fmt: skip
ENEMY_CHAR, START_CHAR, FLAG_CHAR = "E", "S", "F"
LEGEND_CHARS = ".X#B?[]E^CSF"
TILE_CHAR = {code: ch for ch, code in LEGEND.items()}
TILE_CHAR[USED] = "#"
# level metadata: enemies placed off their cell or woken early (``envs.sim.world.enemy_shifts``)
SHIFTS_KEY = "enemy-shifts"

SOLID = np.zeros(16, dtype=np.bool_)
SOLID[[GROUND, HARD, BRICK, QUESTION, PIPE_L, PIPE_R, USED]] = True
# Tiles whose state can change during an episode (a coin is taken, a question block is used).
DYNAMIC = np.zeros(16, dtype=np.bool_)
DYNAMIC[[COIN, QUESTION]] = True

# --- player physics (units per frame, units per frame^2) -------------------------------------
PLAYER_W, PLAYER_H = 12 * UNIT, 16 * UNIT
WALK_MAX = 384  # 1.5 px/frame
RUN_MAX = 640  # 2.5 px/frame
WALK_ACC = 10  # ~0.037 px/frame^2
RUN_ACC = 14  # ~0.056 px/frame^2
RELEASE_DEC = 13  # slowing down with no direction held, or above the current top speed
SKID_DEC = 26  # turning around on the ground
AIR_TURN_DEC = 14  # turning around in the air
# Jump tiers chosen by horizontal speed at take-off: (speed below, initial up speed,
# gravity while rising with A held, gravity otherwise). SMB's values.
JUMP_SPEED_LIMITS = (256, 592)  # tier 0 below 1 px/f, tier 1 below 2.3125 px/f, else tier 2
JUMP_V = (1024, 1024, 1280)  # 4, 4, 5 px/frame
GRAVITY_HOLD = (32, 30, 40)
GRAVITY_FALL = (112, 96, 144)
MAX_FALL = 1024  # 4 px/frame: a quarter tile, so nothing can pass through a tile in one frame
STOMP_BOUNCE = 1024
STOMP_MARGIN = 8 * UNIT  # a stomp needs the player's feet above the enemy's upper half
SPIKE_INSET = 3 * UNIT  # spikes hurt only when the hitbox reaches this far into the tile

# --- enemies ---------------------------------------------------------------------------------
ENEMY_W, ENEMY_H = 14 * UNIT, 16 * UNIT
ENEMY_SPEED = 128  # 0.5 px/frame
ENEMY_GRAVITY = 112
ENEMY_WAKE = SCREEN + 2 * TILE  # enemies start walking when this close to the camera's left

# --- player state: columns of the int32 array P (N, P_COLS) ----------------------------------
(
    PX, PY, PVX, PVY, P_GROUND, P_TIER, P_APREV, P_FRAMES, P_RIGHTMOST, P_STATUS, P_COINS,
    P_STOMPS, P_LEVEL, P_CAMERA, P_LAST_PROGRESS, P_FACING, P_TIME_LIMIT,
    P_MOVEDIR, P_RUNSPEED, P_RUNTIMER, P_FALLDOWN, P_YFRAC, P_PAD,
) = range(23)  # fmt: skip
P_COLS = 23
# P_MOVEDIR .. P_YFRAC serve the real game's rules (envs.sim.profiles.SMB): the direction of the
# last movement, the RunningSpeed flag, the running timer, "the fall gravity is in use", and the
# sub-pixel of y kept from the last landing (the game snaps the pixel, not its fraction), and
# the buttons of the frame before (the game acts on the pad one frame late: ``input_lag``).

# status codes
RUNNING, DEAD, COMPLETED, TIMEOUT = 0, 1, 2, 3

# --- enemy state: last axis of the int32 array E (N, E_MAX, E_COLS) --------------------------
EX, EY, EVX, EVY, E_ALIVE, E_ACTIVE, E_GROUND = range(7)
E_COLS = 7

# --- buttons, in NES controller order --------------------------------------------------------
BUTTONS = ("A", "B", "UP", "DOWN", "LEFT", "RIGHT")
BTN_A, BTN_B, BTN_UP, BTN_DOWN, BTN_LEFT, BTN_RIGHT = range(6)

DEFAULT_TIME_SECONDS = 200
