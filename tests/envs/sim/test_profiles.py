"""Physics profiles: built-in levels play exactly as before, ``smb:`` levels by the game's tables,
both families in one batch, and the solver plans with the level's own physics."""

import hashlib

import numpy as np

from envs.levels.level import builtin_names, load_level
from envs.sim.constants import COMPLETED, P_TIER, PLAYER_W, PVX, PVY, PX, PY, RUNNING, TILE, UNIT
from envs.sim.physics import _unlagged
from envs.sim.profiles import DEFAULT, LAG_JITTER, SMB, profile_for
from envs.sim.world import LevelBank, World
from envs.solver import SolverConfig, replay, solve
from tests.helpers.levels import buttons, level_from_rows, run

W = 40
ROWS = ["." * W] * 12 + ["..S" + "." * (W - 6) + "F..", "X" * W, "X" * W]

# sha256 of a rollout on every built-in level (random buttons, restarts, observations), taken
# with the physics as it was before profiles existed (commit f3d8606).
BUILTIN_DIGEST = "bd11ca8f09c0de01ba31fa5b0fcd036b604db01f3615defb66e6157b72602d5c"


def _builtin_rollout_digest() -> str:
    names = builtin_names()
    bank = LevelBank([load_level(n) for n in names])
    n = 4 * len(names)
    world = World(bank, n)
    world.reset(np.arange(n) % len(names))
    rng = np.random.default_rng(7)
    h = hashlib.sha256()
    for t in range(600):
        a = rng.integers(0, 2, (n, 6)).astype(np.uint8)
        a[:, 5] |= rng.random(n) < 0.7
        world.step(a, 3)
        done = world.status() != 0
        if t % 50 == 0 and done.any():
            world.reset(np.arange(n) % len(names), done)
        h.update(np.ascontiguousarray(world.P[:, :17]).tobytes())
        h.update(world.E.tobytes())
        h.update(world.D.tobytes())
        h.update(world.observe(6).tobytes())
    return h.hexdigest()


def test_builtin_levels_play_exactly_as_before_profiles():
    """Every built-in level, under random buttons with restarts, gives bit for bit the states,
    enemies, used cells and grids of the physics before profiles (a recorded digest)."""
    assert len(builtin_names()) == 8
    assert _builtin_rollout_digest() == BUILTIN_DIGEST


def test_profile_for_picks_smb_for_the_real_game_stages_only():
    """``smb:`` names get the SMB profile, everything else the default."""
    assert profile_for("smb:1-1") is SMB
    assert profile_for("smb:8-1+plants") is SMB
    assert profile_for("1-1") is DEFAULT
    assert profile_for("gen:easy:3") is DEFAULT


def _pair() -> World:
    """One batch: world 0 on a built-in-style level, world 1 on the same grid named smb:."""
    bank = LevelBank([level_from_rows(*ROWS), level_from_rows(*ROWS, name="smb:flat")])
    world = World(bank, 2)
    world.reset(np.array([0, 1]))
    return world


def _jump_after(world: World, held: tuple[str, ...], frames: int) -> tuple[np.ndarray, ...]:
    """Hold ``held`` for ``frames`` frames, then press A with them: the tier, the first frame's
    rise (px) and the vertical speed after it, per world. The smb: world (1) plays each frame
    by the buttons of the frame before (the game's pad lag), so its take-off is a frame later."""
    run(world, buttons(*held, n=world.n), frames)
    y0 = world.P[:, PY].copy()
    world.step(buttons("A", *held, n=world.n), 1)
    tier, y1, vy = world.P[:, P_TIER].copy(), world.P[:, PY].copy(), world.P[:, PVY].copy()
    y0[1] = world.P[1, PY]
    world.step(buttons("A", *held, n=world.n), 1)
    tier[1], y1[1], vy[1] = world.P[1, P_TIER], world.P[1, PY], world.P[1, PVY]
    return tier, (y0 - y1) / UNIT, vy


def test_smb_level_jumps_by_the_games_five_tiers_in_a_mixed_batch():
    """In one batch, the smb: world takes off by the bundled game's tiers (speed byte below
    $0a/$12/$1d/$22: tiers 0-4, launch $fb.34/$fb.34/$fb.34/$fa/$fa, rising gravity
    $30/$30/$2d/$38/$38), moving by the launch speed on the first frame, while the built-in
    world keeps its three tiers and applies gravity first."""
    world = _pair()
    tier, rise, vy = _jump_after(world, (), 0)  # from standing
    assert tier.tolist() == [0, 0]
    assert rise[1] == (0x500 - 0x34) / UNIT and vy[1] == -(0x500 - 0x34) + 0x30
    assert rise[0] == (1024 - 32) / UNIT

    world = _pair()
    tier, rise, vy = _jump_after(world, ("RIGHT",), 80)  # walking at top speed (byte $1c)
    assert tier.tolist() == [1, 2]
    assert rise[1] == (0x500 - 0x34) / UNIT and vy[1] == -(0x500 - 0x34) + 0x2D

    world = _pair()
    tier, rise, vy = _jump_after(world, ("B", "RIGHT"), 80)  # running (byte $30)
    assert tier.tolist() == [2, 4]
    assert rise[1] == 6.0 and vy[1] == -0x600 + 0x38
    assert rise[0] == (1280 - 40) / UNIT


def test_smb_fall_speed_is_cut_to_five_pixels_as_the_game_cuts_it():
    """Off a high ledge, the smb: world's fall speed is cut back to exactly 5 px/frame on the
    first frame it is past 5 with a sub-speed of $80 or more (the game's MovePlayerVertically:
    it may pass 5 for a frame or two before), and then stays at 5."""
    rows = ["." * W] * 2 + ["..S" + "." * (W - 6) + "F..", "XXXX" + "." * (W - 4)]
    rows += ["." * W] * 10 + ["X" * W]
    world = World(LevelBank([level_from_rows(*rows, name="smb:drop")]), 1)
    world.reset()
    speeds = [int(p[0, PVY]) for p in run(world, buttons("RIGHT"), 70)]
    assert all(not (v >= 5 * UNIT and v & 255 >= 0x80) for v in speeds)
    first = speeds.index(5 * UNIT)
    assert max(speeds[:first]) > 5 * UNIT  # it went past 5 first
    landed = speeds.index(0, first)
    assert set(speeds[first:landed]) == {5 * UNIT}


def test_solver_plans_with_the_level_profile():
    """The solver's plan for an smb: level completes it when replayed under SMB physics (and
    the heuristic's bound is the profile's top speed: 3 px/frame there, 2.5 built in)."""
    pit = ["." * W] * 12 + ["..S" + "." * (W - 6) + "F..", "X" * 18 + "...." + "X" * (W - 22)]
    level = level_from_rows(*(pit + [pit[-1]]), name="smb:pit")
    sol = solve(level, SolverConfig(max_expansions=3000))
    assert sol.completed
    status, _, _ = replay(level, sol.actions)
    assert status == COMPLETED
    assert (SMB.top_speed, DEFAULT.top_speed) == (768, 640)


def test_smb_levels_play_each_frame_by_the_buttons_of_the_frame_before():
    """The game acts on the pad one frame late: on an smb: level a one-frame press of RIGHT
    moves nothing on its own frame and starts the walk on the next; the built-in world moves
    on the frame itself. Nothing is held before the first frame."""
    world = _pair()
    x0 = world.P[:, PX].copy()
    world.step(buttons("RIGHT", n=2), 1)
    assert world.P[0, PVX] > 0 and world.P[1, PVX] == 0 and world.P[1, PX] == x0[1]
    world.step(buttons(n=2), 1)
    assert world.P[1, PVX] > 0


def test_left_of_the_start_smb_levels_read_empty_and_built_in_ones_a_wall():
    """Grid columns left of the map read 0 on an smb: level (the game's buffer holds nothing
    there yet) and 1 on a built-in one (on every row of the map: grid rows 0-8 there)."""
    grids = _pair().observe(6)
    assert (grids[0, :9, 0] == 1).all() and (grids[1, :, 0] == 0).all()
    assert grids[1, :, 6:].any()  # the ground on the map


def test_smb_walls_let_mario_in_and_push_him_out_a_pixel_a_frame():
    """Running right into a wall two tiles high: on an smb: level Mario moves into it (the
    game checks its sides after moving), loses his speed and is pushed out one pixel a frame
    until his box is clear of it; the built-in world stops him at its face."""
    wall = "." * 12 + "##" + "." * (W - 17) + "F.."
    rows = ["." * W] * 11 + [wall, "..S" + wall[3:], "X" * W, "X" * W]
    bank = LevelBank([level_from_rows(*rows), level_from_rows(*rows, name="smb:wall")])
    world = World(bank, 2)
    world.reset(np.array([0, 1]))
    face = 12 * TILE - PLAYER_W  # the box's x when it touches the wall
    xs = np.array([p[:, PX] for p in run(world, buttons("RIGHT", "B", n=2), 90)])
    assert xs[:, 0].max() == face  # the lab: never past the face
    deepest = xs[:, 1].max()
    assert face < deepest <= face + 3 * UNIT  # the game: in by up to his speed (3 px/frame)
    k = int(np.argmax(xs[:, 1]))
    # pushed out a whole pixel on each frame the last pixel of his box is in the wall
    assert xs[k + 1, 1] < deepest and xs[-1, 1] <= face + UNIT - 1


def test_timing_jitter_copies_play_some_frames_without_the_pad_lag():
    """``smb:NAME~K`` is the smb: profile with jitter seed K: about one frame in LAG_JITTER
    plays its own buttons, the same frames in every run; without the mark every frame lags."""
    assert profile_for("smb:flat").lag_jitter == 0 and profile_for("smb:flat~7").lag_jitter == 7
    share = np.mean([_unlagged(f, 7) for f in range(1, 4001)])
    assert abs(share - 1 / LAG_JITTER) < 0.02
    names = ["smb:flat", "smb:flat~7", "smb:flat~7"]
    world = World(LevelBank([level_from_rows(*ROWS, name=n) for n in names]), 3)
    world.reset(np.arange(3))
    rng = np.random.default_rng(3)
    for _ in range(120):  # a new random button set every frame: every lag shows
        world.step(np.repeat(rng.integers(0, 2, (1, 6)).astype(np.uint8), 3, axis=0), 1)
    assert world.P[1, PX] == world.P[2, PX] and world.P[1, PY] == world.P[2, PY]
    assert (world.P[0, PX], world.P[0, PY]) != (world.P[1, PX], world.P[1, PY])


def test_down_on_the_ground_cancels_the_direction_on_smb_levels_only():
    """Holding DOWN with RIGHT on the ground: the smb: world does not walk (the game nullifies
    the directional bits), the built-in world walks as with RIGHT alone."""
    world = _pair()
    run(world, buttons("RIGHT", n=2) | np.array([0, 0, 0, 1, 0, 0], dtype=np.uint8), 30)
    assert world.P[0, PVX] > 0 and world.P[1, PVX] == 0
    run(world, buttons("RIGHT", n=2), 5)
    assert world.P[1, PVX] > 0


def test_smb_flag_needs_the_pole_not_its_base():
    """Walking into a flagpole whose foot is a block: on an smb: level Mario pushes into the
    base (the game's side check) but only the pole above it ends the level, so he does not
    finish on the ground (nor does the built-in world, stopped at the base's face); a jump
    reaches the pole."""
    base = "..S" + "." * (W - 6) + "#.."
    rows = ["." * W] * 4 + ["." * (W - 3) + "F.."] * 8 + [base, "X" * W, "X" * W]
    bank = LevelBank([level_from_rows(*rows), level_from_rows(*rows, name="smb:pole")])
    world = World(bank, 2)
    world.reset(np.array([0, 1]))
    run(world, buttons("RIGHT", n=2), 300)
    assert world.status().tolist() == [RUNNING, RUNNING]  # the lab stops at the base's face
    run(world, buttons("RIGHT", "A", n=2), 40)
    assert world.status()[1] == COMPLETED
