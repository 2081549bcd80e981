"""The level-info array ``LD`` (levels, LD_COLS): where each level's and profile's numbers sit.

Eight columns of the level (size, flag, start, counts, time), then the physics profile's
(``envs.sim.profiles.PhysicsProfile``, from ``LD_PROFILE`` on), so the compiled kernels of
``envs.sim.physics`` and ``envs.sim.view`` read every number of a world from its level's row.
"""

from __future__ import annotations

from envs.sim.profiles import COLUMNS, N_COLUMNS

LD_H, LD_W, LD_FLAG, LD_SX, LD_SY, LD_NE, LD_ND, LD_TIME = range(8)
LD_PROFILE = 8
LD_COLS = LD_PROFILE + N_COLUMNS

# the profile's columns in LD (see envs.sim.profiles.PhysicsProfile)
LD_HMODE = LD_PROFILE + COLUMNS["horizontal"]
LD_FRAC = LD_PROFILE + COLUMNS["vx_frac_bits"]
LD_STEP = LD_PROFILE + COLUMNS["vx_step"]
LD_WALK_MAX = LD_PROFILE + COLUMNS["walk_max"]
LD_RUN_MAX = LD_PROFILE + COLUMNS["run_max"]
LD_WALK_ACC = LD_PROFILE + COLUMNS["walk_acc"]
LD_RUN_ACC = LD_PROFILE + COLUMNS["run_acc"]
LD_RELEASE = LD_PROFILE + COLUMNS["release_dec"]
LD_RELEASE_FAST = LD_PROFILE + COLUMNS["release_dec_fast"]
LD_SKID = LD_PROFILE + COLUMNS["skid_dec"]
LD_AIR_TURN = LD_PROFILE + COLUMNS["air_turn_dec"]
LD_FAST_SPEED = LD_PROFILE + COLUMNS["fast_speed"]
LD_FAST_RELEASE_MIN = LD_PROFILE + COLUMNS["fast_release_min"]
LD_AIR_RUN_MIN = LD_PROFILE + COLUMNS["air_run_min"]
LD_SKID_STOP = LD_PROFILE + COLUMNS["skid_stop"]
LD_RUN_TIMER = LD_PROFILE + COLUMNS["run_timer"]
LD_JUMP_LIMITS = LD_PROFILE + COLUMNS["jump_limits"]
LD_JUMP_V = LD_PROFILE + COLUMNS["jump_v"]
LD_G_HOLD = LD_PROFILE + COLUMNS["gravity_hold"]
LD_G_FALL = LD_PROFILE + COLUMNS["gravity_fall"]
LD_MOVE_THEN_FALL = LD_PROFILE + COLUMNS["move_then_fall"]
LD_STICKY_FALL = LD_PROFILE + COLUMNS["sticky_fall"]
LD_MAX_FALL = LD_PROFILE + COLUMNS["max_fall"]
LD_FALL_CAP_SUB = LD_PROFILE + COLUMNS["fall_cap_sub"]
LD_KEEP_FRAC = LD_PROFILE + COLUMNS["keep_landing_frac"]
LD_LAND_DEPTH = LD_PROFILE + COLUMNS["land_depth"]
LD_STOMP_BOUNCE = LD_PROFILE + COLUMNS["stomp_bounce"]
LD_ENEMY_SPEED = LD_PROFILE + COLUMNS["enemy_speed"]
LD_ENEMY_GRAVITY = LD_PROFILE + COLUMNS["enemy_gravity"]
LD_ENEMY_WAKE = LD_PROFILE + COLUMNS["enemy_wake"]
LD_CAMERA_X = LD_PROFILE + COLUMNS["camera_x"]
LD_CONTACT_INSET = LD_PROFILE + COLUMNS["contact_inset"]
LD_CONTACT_INSET_Y = LD_PROFILE + COLUMNS["contact_inset_y"]
LD_STOMP_MARGIN = LD_PROFILE + COLUMNS["stomp_margin"]
LD_SIDE_TOP = LD_PROFILE + COLUMNS["side_top"]
LD_SIDE_BOTTOM = LD_PROFILE + COLUMNS["side_bottom"]
LD_FEET_LEFT = LD_PROFILE + COLUMNS["feet_left"]
LD_FEET_RIGHT = LD_PROFILE + COLUMNS["feet_right"]
LD_HEAD_TOP = LD_PROFILE + COLUMNS["head_top"]
LD_HEAD_LEFT = LD_PROFILE + COLUMNS["head_left"]
LD_HEAD_RIGHT = LD_PROFILE + COLUMNS["head_right"]
LD_GRID_DX = LD_PROFILE + COLUMNS["grid_dx"]
LD_GRID_DY = LD_PROFILE + COLUMNS["grid_dy"]
LD_GRID_QBITS = LD_PROFILE + COLUMNS["grid_quantum_bits"]
TILE_BITS = 12  # TILE == 1 << TILE_BITS
LD_E_REF_DX = LD_PROFILE + COLUMNS["enemy_ref_dx"]
LD_E_REF_DY = LD_PROFILE + COLUMNS["enemy_ref_dy"]
LD_P_REF_DX = LD_PROFILE + COLUMNS["player_ref_dx"]
LD_P_REF_DY = LD_PROFILE + COLUMNS["player_ref_dy"]
LD_E_LO = LD_PROFILE + COLUMNS["enemy_lo"]
LD_E_HI = LD_PROFILE + COLUMNS["enemy_hi"]
LD_VIEW_SOLID = LD_PROFILE + COLUMNS["view_solid"]
LD_VIEW_LEFT = LD_PROFILE + COLUMNS["view_left"]
LD_INPUT_LAG = LD_PROFILE + COLUMNS["input_lag"]
LD_LAG_JITTER = LD_PROFILE + COLUMNS["lag_jitter"]
LD_DOWN_HALTS = LD_PROFILE + COLUMNS["down_halts"]
LD_FLAG_PROBE = LD_PROFILE + COLUMNS["flag_probe"]
LD_WALL_PUSH = LD_PROFILE + COLUMNS["wall_push"]
LD_BUMP_STAY = LD_PROFILE + COLUMNS["bump_stay"]
LD_VIEW_HAZARD = LD_PROFILE + COLUMNS["view_hazard"]
