"""Invariants of the batched physics: reach, collisions, enemies, hazards, endings, cloning."""

import numpy as np

from envs.sim.constants import (
    COMPLETED,
    DEAD,
    E_ALIVE,
    EX,
    P_COINS,
    P_STOMPS,
    PLAYER_H,
    PVX,
    PVY,
    PX,
    PY,
    RUN_MAX,
    RUNNING,
    TILE,
    TIMEOUT,
    UNIT,
)  # fmt: skip
from envs.sim.world import LevelBank, World
from tests.helpers.levels import buttons, level_from_rows, run, world_for

W = 40
SKY = "." * W
FLOOR = "X" * W


def flat(start_row: str, *extra_top: str) -> list[str]:
    rows = list(extra_top) + [SKY] * (12 - len(extra_top)) + [start_row, FLOOR, FLOOR]
    return rows


def test_standing_jump_rises_at_least_three_tiles():
    """A jump from standing, A held, lifts the feet at least 3 tiles (48 px)."""
    world = world_for(level_from_rows(*flat("..S" + "." * (W - 6) + "F..")))
    y0 = world.P[0, PY]
    trace = run(world, buttons("A"), 60)
    rise = y0 - min(p[0, PY] for p in trace)
    assert rise >= 3 * TILE


def test_running_jump_rises_four_tiles_and_clears_a_four_tile_pit():
    """At run speed a jump rises at least 4 tiles, and a held running jump clears a 4-wide pit."""
    pit = 20
    floor = "X" * pit + "...." + "X" * (W - pit - 4)
    rows = [SKY] * 12 + ["..S" + "." * (W - 6) + "F..", floor, floor]
    world = world_for(level_from_rows(*rows))
    run(world, buttons("B", "RIGHT"), 50)  # take-off speed: full run
    assert world.P[0, PVX] == RUN_MAX
    # Jump from the last ground tile before the pit.
    while world.P[0, PX] + 12 * UNIT < pit * TILE - 2 * UNIT:
        world.step(buttons("B", "RIGHT"), 1)
    y0 = world.P[0, PY]
    trace = run(world, buttons("A", "B", "RIGHT"), 90)
    assert y0 - min(p[0, PY] for p in trace) >= 4 * TILE
    assert world.P[0, PX] > (pit + 4) * TILE
    assert world.status()[0] == RUNNING


def test_standing_jump_lands_on_three_tile_step():
    """Walking up to a wall 3 tiles high and jumping with A held lands on top of it."""
    rows = flat("..S" + "." * 7 + "#" + "." * (W - 14) + "F..")
    rows[10] = rows[11] = "." * 10 + "#" + "." * (W - 11)
    world = world_for(level_from_rows(*rows))
    run(world, buttons("RIGHT"), 120)
    assert world.P[0, PX] < 10 * TILE  # blocked by the wall
    run(world, buttons("A", "RIGHT"), 120)
    assert world.P[0, PX] > 11 * TILE


def test_no_tunnelling_through_walls_at_top_speed():
    """Running at top speed into a 1-tile wall never puts the player past it."""
    wall = 20
    rows = flat("..S" + "." * (wall - 3) + "#" + "." * (W - wall - 4) + "F..")
    for r in range(0, 12):
        rows[r] = "." * wall + "#" + "." * (W - wall - 1)
    world = world_for(level_from_rows(*rows))
    trace = run(world, buttons("B", "RIGHT"), 400)
    assert max(p[0, PX] for p in trace) + 12 * UNIT <= wall * TILE


def test_no_tunnelling_through_floor_at_terminal_speed():
    """A fall from the top of a 32-row map at terminal speed lands on a 1-tile floor."""
    rows = (
        ["..S" + "." * 34 + "F.."] + ["." * W] * 28 + ["." * 5 + "#" * 10 + "." * 25] + [SKY, SKY]
    )
    rows[1] = "XXXX" + "." * 36  # standing ledge for the start
    world = world_for(level_from_rows(*rows))
    run(world, buttons("RIGHT"), 30)
    trace = run(world, np.zeros((1, 6), np.uint8), 300)
    assert world.status()[0] == RUNNING
    assert max(p[0, PVY] for p in trace) == 1024  # reached terminal speed
    assert world.P[0, PY] + PLAYER_H == 29 * TILE  # resting on the floor row


def test_head_bump_stops_rise_and_question_block_pays_a_coin():
    """Jumping under a question block stops at its underside and pays exactly one coin."""
    rows = flat("..S" + "." * (W - 6) + "F..")
    rows[10] = "..?" + "." * (W - 3)
    world = world_for(level_from_rows(*rows))
    trace = run(world, buttons("A"), 40)
    assert min(p[0, PY] for p in trace) >= 11 * TILE
    assert world.P[0, P_COINS] == 1
    run(world, np.zeros((1, 6), np.uint8), 40)
    run(world, buttons("A"), 40)
    assert world.P[0, P_COINS] == 1


def test_coins_are_collected_once():
    """Walking through a row of coins collects each exactly once."""
    world = world_for(level_from_rows(*flat("..S.CCC" + "." * (W - 10) + "F..")))
    run(world, buttons("RIGHT"), 200)
    assert world.P[0, P_COINS] == 3


def test_side_contact_with_enemy_kills():
    """An enemy walking into a standing player kills the player."""
    world = world_for(level_from_rows(*flat("..S.....E" + "." * (W - 12) + "F..")))
    run(world, np.zeros((1, 6), np.uint8), 400)
    assert world.status()[0] == DEAD
    assert world.E[0, 0, E_ALIVE] == 1


def test_stomp_from_above_kills_enemy_and_bounces_player():
    """Falling onto an enemy kills it, bounces the player up and counts a stomp."""
    rows = [SKY] * 5 + ["." * 6 + "S" + "." * (W - 7)] + [SKY] * 6
    rows += ["." * 7 + "E" + "." * (W - 11) + "F..", FLOOR, FLOOR]
    world = world_for(level_from_rows(*rows))
    for _ in range(100):  # the player drops from the sky onto the enemy walking below
        world.step(buttons(), 1)
        if world.P[0, P_STOMPS]:
            break
    assert world.P[0, P_STOMPS] == 1
    assert world.E[0, 0, E_ALIVE] == 0
    assert world.P[0, PVY] < 0
    assert world.status()[0] == RUNNING


def test_landing_on_two_overlapping_enemies_stomps_both():
    """Two enemies in the same spot are both stomped by one landing; the player survives."""
    rows = [SKY] * 5 + ["." * 6 + "S" + "." * (W - 7)] + [SKY] * 6
    rows += ["." * 7 + "E" + "." * (W - 11) + "F..", FLOOR, FLOOR]
    level = level_from_rows(*rows)
    level = type(level)(level.name, level.tiles, level.start, level.enemies * 2)
    world = world_for(level)
    for _ in range(100):
        world.step(buttons(), 1)
        if world.P[0, P_STOMPS]:
            break
    assert world.P[0, P_STOMPS] == 2
    assert world.status()[0] == RUNNING


def test_enemy_turns_at_walls_and_falls_off_ledges():
    """An enemy reverses at a wall; one walking off a ledge falls and dies below the map."""
    row = list("S" + "." * (W - 4) + "F..")
    row[6], row[9], row[17] = "#", "E", "E"
    floor = "X" * 12 + "." * 4 + "X" * (W - 16)
    world = world_for(level_from_rows(*([SKY] * 12 + ["".join(row), floor, floor])))
    x0 = world.E[0, 0, EX]
    trace_x = []
    for _ in range(200):
        world.step(buttons(), 1)
        trace_x.append(world.E[0, 0, EX])
    assert trace_x[0] < x0  # walks left first
    assert min(trace_x) >= 7 * TILE  # stopped by the wall at column 6
    assert trace_x[-1] > min(trace_x)  # and walks back right
    assert world.E[0, 1, E_ALIVE] == 0  # the second enemy fell into the pit at columns 12-15


def test_spikes_kill():
    """Walking into spikes kills."""
    world = world_for(level_from_rows(*flat("..S...^" + "." * (W - 10) + "F..")))
    run(world, buttons("RIGHT"), 200)
    assert world.status()[0] == DEAD


def test_falling_below_the_map_kills():
    """Walking into a pit ends in death once the player leaves the map."""
    rows = flat("..S" + "." * (W - 6) + "F..")
    rows[13] = rows[14] = "X" * 8 + "." * 6 + "X" * (W - 14)
    world = world_for(level_from_rows(*rows))
    run(world, buttons("RIGHT"), 300)
    assert world.status()[0] == DEAD


def test_flag_completes_and_time_limit_ends():
    """Reaching the flag column completes; standing still until the clock runs out times out."""
    world = world_for(level_from_rows(*flat("..S" + "." * 10 + "F" + "." * (W - 14))))
    run(world, buttons("RIGHT"), 600)
    assert world.status()[0] == COMPLETED
    assert world.P[0, PX] + 12 * UNIT > 13 * TILE
    idle = world_for(level_from_rows(*flat("..S" + "." * 10 + "F" + "." * (W - 14)), time=1))
    trace = run(idle, np.zeros((1, 6), np.uint8), 100)
    assert idle.status()[0] == TIMEOUT and len(trace) == 60


def test_same_actions_give_bit_identical_rollouts():
    """Two worlds fed the same random buttons stay identical in every array, frame by frame."""
    from envs.levels.level import load_level

    bank = LevelBank([load_level("1-1")])
    a, b = World(bank, 4), World(bank, 4)
    a.reset()
    b.reset()
    rng = np.random.default_rng(1)
    for _ in range(300):
        act = rng.integers(0, 2, (4, 6)).astype(np.uint8)
        a.step(act, 5)
        b.step(act, 5)
    assert np.array_equal(a.P, b.P) and np.array_equal(a.E, b.E) and np.array_equal(a.D, b.D)


def test_clone_restore_replays_exactly():
    """Restoring a clone and replaying the same buttons reproduces the same future."""
    from envs.levels.level import load_level

    world = World(LevelBank([load_level("1-1")]), 3)
    world.reset()
    rng = np.random.default_rng(2)
    for _ in range(50):
        world.step(rng.integers(0, 2, (3, 6)).astype(np.uint8), 5)
    snap = world.clone()
    acts = rng.integers(0, 2, (80, 3, 6)).astype(np.uint8)
    futures = []
    for _ in range(2):
        world.restore(snap)
        for act in acts:
            world.step(act, 5)
        futures.append((world.P.copy(), world.E.copy(), world.D.copy()))
    for x, y in zip(*futures, strict=True):
        assert np.array_equal(x, y)
    assert not np.array_equal(snap.P, futures[0][0])  # the snapshot itself was not mutated


def test_a_state_saved_before_the_real_game_columns_restores_with_them_zeroed():
    """A world state with the 17 player columns of runs saved before the physics profiles
    restores into today's wider state with the added columns 0 (what a reset sets) and every
    other value kept; a state with more columns than the world has is refused."""
    import pytest

    from envs.levels.level import load_level
    from envs.sim.constants import P_COLS
    from envs.sim.world import WorldState

    world = World(LevelBank([load_level("1-1")]), 2)
    world.reset()
    for _ in range(30):
        world.step(np.array([[0, 0, 0, 1, 1, 1]] * 2, dtype=np.uint8), 5)
    snap = world.clone()
    world.P[:, 17:] = 7  # stale values a restore must clear
    world.restore(WorldState(snap.P[:, :17].copy(), snap.E, snap.D))
    assert np.array_equal(world.P[:, :17], snap.P[:, :17])
    assert not world.P[:, 17:].any()
    wide = np.zeros((2, P_COLS + 1), dtype=snap.P.dtype)
    with pytest.raises(ValueError, match="player columns"):
        world.restore(WorldState(wide, snap.E, snap.D))


def test_batched_worlds_match_worlds_run_alone():
    """Each world of a batch (different levels, different buttons) equals the same world alone."""
    from envs.levels.level import load_level

    levels = [load_level("1-1"), load_level("1-2")]
    bank = LevelBank(levels)
    batch = World(bank, 4)
    batch.reset(np.array([0, 1, 1, 0]))
    singles = [World(bank, 1) for _ in range(4)]
    for i, s in enumerate(singles):
        s.reset([0, 1, 1, 0][i])
    rng = np.random.default_rng(3)
    for _ in range(200):
        act = rng.integers(0, 2, (4, 6)).astype(np.uint8)
        act[:, 5] |= rng.random(4) < 0.5
        batch.step(act, 5)
        for i, s in enumerate(singles):
            s.step(act[i : i + 1], 5)
    for i, s in enumerate(singles):
        assert np.array_equal(batch.P[i], s.P[0])
        assert np.array_equal(batch.E[i], s.E[0])


def test_observation_grid_reads_tiles_enemies_and_edges():
    """The grid has 1 for solid, -1 for an enemy and spikes, 0 below the map, 1 left of it."""
    rows = flat("S..^E" + "." * (W - 8) + "F..")
    rows[13] = rows[14] = "XX" + "." * 3 + "X" * (W - 5)
    world = world_for(level_from_rows(*rows))
    obs = world.observe(6)[0]
    assert obs.shape == (13, 13) and obs.dtype == np.float32
    c = 6
    assert obs[c, c - 1] == 1.0  # left of the map start
    assert obs[c + 1, c] == 1.0  # ground under the player
    assert obs[c + 1, c + 2] == 0.0  # the pit reads empty
    assert obs[c, c + 3] == -1.0  # spikes
    assert obs[c, c + 4] == -1.0  # the enemy
    assert (obs[c + 3 :, :] == 0).all()  # below the map
    assert obs[c, c] == 0.0


def test_observe_fills_any_output_array_and_any_cell_subset():
    """World.observe writes the same grids into a non-contiguous output as into a fresh array,
    and observe_cells on a subset of cells computes exactly those cells of the full grid."""
    from envs.levels.level import load_level
    from envs.sim import view

    world = world_for(load_level("1-1"), n=4)
    rng = np.random.default_rng(1)
    for _ in range(30):
        world.step((rng.random((4, 6)) < 0.5).astype(np.uint8), 5)
    full = world.observe(6)
    strided = np.zeros((4, 13, 26), dtype=np.float32)[:, :, ::2]
    assert np.array_equal(world.observe(6, out=strided), full)
    cells = np.sort(rng.choice(169, size=20, replace=False))
    b = world.bank
    for i in range(4):
        grid = np.full(169, 7.0, dtype=np.float32)
        view.observe_cells(i, world.P, world.E, b.tiles, b.info, 6, cells, grid)
        assert np.array_equal(grid[cells], full[i].reshape(-1)[cells])


def test_player_cannot_leave_the_camera_to_the_left():
    """The camera scrolls right only; walking back left stops at its left edge."""
    world = world_for(level_from_rows(*flat("..S" + "." * (W - 6) + "F..")))
    run(world, buttons("RIGHT"), 150)
    trace = run(world, buttons("LEFT"), 300)
    cam = trace[-1][0, 13]  # P_CAMERA
    assert cam > 0
    assert trace[-1][0, PX] == cam
