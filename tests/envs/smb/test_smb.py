"""``SuperMarioBros-Tiles-v0``: MarI/O's RAM grid (pure, on synthetic RAM) and the real game.

The real-game tests need the ``nes`` extra (nes-py, gym-super-mario-bros); without it they are
skipped with that reason. They play about 3,000 emulator frames in all (a few seconds).
"""

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers SuperMarioBros-Tiles-v0)
from envs.smb import console
from envs.smb import ram as smb_ram
from envs.smb.env import SuperMarioBrosTilesEnv
from envs.smb.ram import (
    ENEMY_FLAGS,
    ENEMY_PAGE,
    ENEMY_X,
    ENEMY_Y,
    PLAYER_PAGE,
    PLAYER_X,
    PLAYER_Y,
    TILES,
    joypad_byte,
    joypad_bytes,
    parse_stage,
    stage_area,
    tile_grid,
)

RIGHT = np.array([0, 0, 0, 0, 0, 1])
JUMP_RIGHT = np.array([1, 0, 0, 0, 0, 1])
SKY = (104, 136, 252)
PIPE_GREENS = {(184, 248, 24), (0, 168, 0)}
GOOMBA_BROWN = (228, 92, 16)


# --- the grid from RAM: a pure function ------------------------------------------------------
def ram_with_player(x: int, y: int) -> np.ndarray:
    ram = np.zeros(0x800, dtype=np.uint8)
    ram[PLAYER_PAGE], ram[PLAYER_X], ram[PLAYER_Y] = x // 256, x % 256, y
    return ram


def tile_address(x: int, y: int) -> int:
    """The page-buffer byte holding the metatile at level pixel (x, y), as MarI/O addresses it."""
    return TILES + (x // 256) % 2 * 208 + (y - 32) // 16 * 16 + (x % 256) // 16


def test_grid_reads_the_tile_buffer_like_marios_gettile():
    """A metatile at the sampled point of cell (dx, dy) -- (marioX + 16 dx + 8, ram[0x3B8] +
    16 dy) -- makes that cell 1; everything else stays 0."""
    x, y = 600, 128  # page 2 of the level: buffer page 0; rows 0..12 at dy = -6..6
    for dx, dy in ((0, 0), (2, 1), (-3, -2), (6, 6), (-6, -6)):
        ram = ram_with_player(x, y)
        ram[tile_address(x + 16 * dx + 8, y + 16 * dy)] = 0x54
        grid = tile_grid(ram)
        assert grid.shape == (13, 13) and grid.dtype == np.float32
        assert grid[6 + dy, 6 + dx] == 1 and grid.sum() == 1, (dx, dy)


def test_grid_wraps_between_the_two_pages():
    """Columns right of x = 512 read page 0 again, columns of 256..511 read page 1."""
    ram = ram_with_player(500, 112)
    ram[TILES + 0 * 208 + 5 * 16 + 0] = 1  # page 0, column 0: level x 512..527
    ram[TILES + 1 * 208 + 5 * 16 + 15] = 1  # page 1, column 15: level x 496..511
    grid = tile_grid(ram)
    assert grid[6, 7] == 1  # 500 + 16 + 8 = 524: page 0
    assert grid[6, 6] == 1  # 500 + 8 = 508: page 1
    assert grid.sum() == 2


def test_rows_outside_the_buffer_read_empty():
    """Rows above row 0 or below row 12 of the buffer, or at marioY + dy >= 0x1B0, read 0."""
    ram = ram_with_player(100, 16)  # near the top: rows above the buffer
    ram[TILES : TILES + 2 * 208] = 1  # every metatile solid
    grid = tile_grid(ram)
    assert not grid[:7].any() and grid[7:].all()  # (16 + 16 dy - 32) // 16 < 0 for dy < 1
    ram[PLAYER_Y] = 200  # low: rows below the buffer
    grid = tile_grid(ram)
    assert grid[:9].all() and not grid[9:].any()  # 200 + 16 dy >= 240 from dy = 3 on


def test_enemies_mark_cells_within_8_px():
    """An active enemy slot at (256 page + x, y + 24) marks the cells within 8 px with -1 (over
    solid tiles); inactive slots are ignored."""
    ram = ram_with_player(300, 112)
    ram[TILES : TILES + 2 * 208] = 1
    # slot 2 exactly at cell (dx, dy) = (2, 1): x = 300 + 32, y + 24 = 112 + 16 + 16
    ram[ENEMY_FLAGS + 2] = 1
    ram[ENEMY_PAGE + 2], ram[ENEMY_X + 2], ram[ENEMY_Y + 2] = 1, 332 - 256, 144 - 24
    # slot 4 is far away but switched off
    ram[ENEMY_PAGE + 4], ram[ENEMY_X + 4], ram[ENEMY_Y + 4] = 1, 300 - 256, 128 - 24
    grid = tile_grid(ram)
    assert grid[7, 8] == -1 and (grid == -1).sum() == 1
    ram[ENEMY_X + 2] += 8  # 8 px right: both cells are within 8 px
    grid = tile_grid(ram)
    assert grid[7, 8] == -1 and grid[7, 9] == -1 and (grid == -1).sum() == 2
    ram[ENEMY_FLAGS + 4] = 1  # now on: at (300, 128), Mario's own cell
    assert tile_grid(ram)[6, 6] == -1


def test_ram_facts_are_read_with_integers():
    """Position, clock, death and the flag from RAM, without uint8 wrap-around (NumPy 2)."""
    ram = ram_with_player(3000, 176)
    assert smb_ram.player_x(ram) == 3000 and isinstance(smb_ram.player_x(ram), int)
    ram[smb_ram.CLOCK : smb_ram.CLOCK + 3] = (3, 9, 8)
    assert smb_ram.clock(ram) == 398
    ram[smb_ram.PLAYER_STATE] = 0x08
    assert not smb_ram.is_dying(ram) and not smb_ram.flag_reached(ram)
    ram[smb_ram.Y_VIEWPORT] = 2  # below the screen: falling into a pit
    assert smb_ram.is_dying(ram)
    ram[smb_ram.Y_VIEWPORT] = 1
    ram[smb_ram.PLAYER_STATE] = 0x0B  # hit
    assert smb_ram.is_dying(ram)
    ram[smb_ram.PLAYER_STATE] = 0x08
    ram[smb_ram.ENEMY_TYPES + 3] = smb_ram.FLAGPOLE
    assert not smb_ram.flag_reached(ram)  # the pole is near, Mario is not on it
    ram[smb_ram.PLAYER_FLOAT] = 3  # sliding down it
    assert smb_ram.flag_reached(ram)
    ram[smb_ram.ENEMY_TYPES + 3] = 0
    ram[smb_ram.GAME_MODE] = 2  # the end of a world (after the castle)
    assert smb_ram.flag_reached(ram)


def test_view_radius_sets_the_grid_size():
    """The grid is (2r + 1) x (2r + 1) cells for view radius r."""
    assert tile_grid(ram_with_player(100, 100), view_radius=4).shape == (9, 9)


def test_buttons_map_to_the_nes_joypad():
    """A, B, UP, DOWN, LEFT, RIGHT -> nes-py's bits; opposite directions release both."""
    assert joypad_byte([1, 0, 0, 0, 0, 0]) == 0x01
    assert joypad_byte([0, 1, 0, 0, 0, 1]) == 0x82
    assert joypad_byte([0, 0, 1, 0, 1, 0]) == 0x50
    assert joypad_byte([1, 1, 0, 0, 1, 1]) == 0x03  # LEFT + RIGHT cancel
    assert joypad_byte([0, 0, 1, 1, 0, 0]) == 0x00  # UP + DOWN cancel
    batch = np.array([[1, 0, 0, 0, 0, 1], [0, 0, 0, 1, 1, 1], [1, 1, 1, 1, 1, 1]])
    assert joypad_bytes(batch).tolist() == [0x81, 0x20, 0x03]


def test_stage_names():
    """Stages are W-S with worlds 1-8 and stages 1-4, as text or a pair; others are refused."""
    assert parse_stage("1-1") == (1, 1) and parse_stage("8-4") == (8, 4)
    assert parse_stage((4, 2)) == (4, 2)
    for bad in ("1-5", "9-1", "0-1", "level", "1_1"):
        with pytest.raises(ValueError, match="1-1|worlds 1 to 8"):
            parse_stage(bad)
    # the pipe cut-scene before stage 2 has an area of its own in worlds 1, 2, 4 and 7
    assert [stage_area(1, s) for s in (1, 2, 3, 4)] == [0, 2, 3, 4]
    assert [stage_area(3, s) for s in (1, 2, 3, 4)] == [0, 1, 2, 3]


def test_missing_extra_is_one_clear_error(monkeypatch):
    """Without nes-py the env says how to install it (the project imports fine without it)."""
    real = console.importlib.util.find_spec
    monkeypatch.setattr(
        console.importlib.util,
        "find_spec",
        lambda name, *a: None if name in ("nes_py", "gym_super_mario_bros") else real(name, *a),
    )
    assert not console.nes_available()
    with pytest.raises(console.NesMissing, match=r'pip install -e "\.\[nes\]"'):
        SuperMarioBrosTilesEnv()


# --- the real game ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def env():
    pytest.importorskip(
        "nes_py", reason='the real game needs the nes extra: pip install -e ".[nes]"'
    )
    pytest.importorskip("gym_super_mario_bros", reason="the nes extra brings the ROM")
    env = gym.make("SuperMarioBros-Tiles-v0", render_mode="rgb_array").unwrapped
    yield env
    env.close()


def play(env, buttons, steps):
    """Reset, then ``steps`` steps of ``buttons(i)``; returns the last step's results."""
    env.reset(seed=0)
    out = None
    for i in range(steps):
        out = env.step(buttons(i))
        if out[2] or out[3]:
            break
    return out


def camera_x(ram) -> int:
    return int(ram[0x71A]) * 256 + int(ram[0x71C])


def screen_tile(frame, ram, x: int, y: int) -> np.ndarray:
    """The 16 x 16 pixels of the metatile holding level pixel (x, y), as shown on screen."""
    left = x // 16 * 16 - camera_x(ram)
    top = (y - 32) // 16 * 16 + 32
    assert 0 <= left <= 240 and 0 <= top <= 224, (left, top)
    return frame[top : top + 16, left : left + 16]


def share(pixels: np.ndarray, colors) -> float:
    flat = [tuple(int(c) for c in p) for p in pixels.reshape(-1, 3)]
    return sum(p in colors for p in flat) / len(flat)


def test_reset_skips_the_title_screen(env):
    """After reset the stage is running: game mode 1, world 1-1, Mario standing at x = 40 with
    400 on the clock, the ground two rows under his cell."""
    obs, info = env.reset(seed=0)
    ram = env.console.ram
    assert int(ram[smb_ram.GAME_MODE]) == 1 and int(ram[smb_ram.PLAYER_STATE]) == 0x08
    assert (int(ram[smb_ram.WORLD]), int(ram[smb_ram.STAGE]), int(ram[smb_ram.AREA])) == (0, 0, 0)
    assert info["x"] == info["rightmost"] == 40 and info["time"] == 400
    assert info["frames"] == 0 and info["level"] == "1-1"
    assert obs[8:10, 3:].all() and not obs[:8].any()
    frame = env.render()
    assert frame.shape == (240, 256, 3) and frame.dtype == np.uint8
    assert tuple(frame[120, 128]) == SKY


def test_step_api_and_spaces(env):
    """Platformer-v0's spaces and info keys; a step is frame_skip frames and a 5-tuple."""
    assert env.observation_space == gym.spaces.Box(-1, 1, (13, 13), np.float32)
    assert env.action_space == gym.spaces.MultiBinary(6)
    env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(RIGHT)
    assert obs.shape == (13, 13) and obs.dtype == np.float32 and env.observation_space.contains(obs)
    assert isinstance(reward, float) and terminated is False and truncated is False
    assert {"x", "rightmost", "frames", "completed", "dead", "level"} <= set(info)
    assert info["frames"] == 5
    assert env.step(RIGHT)[4]["x"] > 40  # Mario gathers speed in sub-pixels first


def test_env_checker_passes(env):
    """Gymnasium's own env checker accepts the real-game env (spaces, reset, step)."""
    from gymnasium.utils.env_checker import check_env

    check_env(env, skip_render_check=True)


@pytest.mark.slow
def test_seeds_and_emulation_are_deterministic(env):
    """The game has no randomness of its own: any seed, the same buttons -> the same grids and
    the same RAM, and a second emulator booted apart agrees exactly."""
    rng = np.random.default_rng(0)
    actions = rng.integers(0, 2, (60, 6))
    actions[:, 5] = 1

    def trace(e, seed):
        obs, _ = e.reset(seed=seed)
        grids, rams = [obs], [e.console.ram.copy()]
        for a in actions:
            obs, *_ = e.step(a)
            grids.append(obs)
            rams.append(e.console.ram.copy())
        return np.array(grids), np.array(rams)

    g1, r1 = trace(env, 0)
    g2, r2 = trace(env, 12345)
    other = SuperMarioBrosTilesEnv(world=1, stage=1)
    try:
        g3, r3 = trace(other, None)
    finally:
        other.close()
    assert np.array_equal(g1, g2) and np.array_equal(r1, r2)
    assert np.array_equal(g1, g3) and np.array_equal(r1, r3)
    assert len({g.tobytes() for g in g1}) > 10  # the grid really moved


def test_first_goomba_kills_and_ends_the_episode(env):
    """Holding RIGHT walks into 1-1's first goomba: one life, so the episode terminates there,
    with the death penalty; after the end the env stays frozen."""
    obs, reward, terminated, truncated, info = play(env, lambda i: RIGHT, 100)
    assert terminated and not truncated and info["dead"] and not info["completed"]
    assert 280 <= info["x"] <= 300 and 150 <= info["frames"] <= 165
    assert reward < 0  # -25 for the death, plus at most a tile of progress
    again = env.step(RIGHT)
    assert again[1] == 0.0 and again[4]["frames"] == info["frames"]


def test_grid_shows_the_first_goomba_where_it_is_on_screen(env):
    """150 frames in, the goomba walking at Mario is -1 two cells ahead on his feet row, and the
    screen has it there: 32 px ahead of Mario, on the row above the ground."""
    obs, *_, info = play(env, lambda i: RIGHT, 30)
    ram = env.console.ram
    assert info["x"] == 278 and not info["dead"]
    assert (obs == -1).sum() == 1 and obs[7, 8] == -1
    ex = int(ram[ENEMY_PAGE]) * 256 + int(ram[ENEMY_X])
    ey = int(ram[ENEMY_Y]) + 24
    assert int(ram[ENEMY_FLAGS]) and abs(ex - (info["x"] + 32)) <= 8 and ey == 208
    # On screen (which shows the previous frame, when the camera was a pixel or two to the
    # left), the goomba is the only brown thing on Mario's feet row, at its RAM x.
    frame = env.render()
    brown = np.all(frame[ey - 16 : ey] == GOOMBA_BROWN, axis=2)
    ys, xs = np.nonzero(brown)
    assert len(xs) >= 40 and xs.max() - xs.min() < 16
    assert abs(int(xs.min()) - (ex - camera_x(ram))) <= 3


def test_grid_shows_the_first_pipe_where_it_is_on_screen(env):
    """Jumping the goomba and walking on, Mario stops against 1-1's first pipe (level x 448):
    it fills cells 1 and 2 ahead on his two rows, and those cells' tiles are green on screen;
    the cells right of it are sky."""
    obs, *_, info = play(env, lambda i: JUMP_RIGHT if 28 <= i < 32 else RIGHT, 60)
    ram = env.console.ram
    assert info["x"] == 434 and not info["dead"]
    assert (obs[6:8, 7:9] == 1).all() and (obs[6:8, 9:] == 0).all() and obs[8:10].all()
    frame = env.render()
    x, y = info["x"], int(ram[PLAYER_Y])
    for row in (6, 7):
        for col in (7, 8):
            tile = screen_tile(frame, ram, x + 16 * (col - 6) + 8, y + 16 * (row - 6))
            assert share(tile, PIPE_GREENS) > 0.5, (row, col)
        tile = screen_tile(frame, ram, x + 16 * 3 + 8, y + 16 * (row - 6))
        assert share(tile, {SKY}) == 1.0


def test_no_progress_truncates(env):
    """With no_progress_frames, standing still ends the episode truncated."""
    e = SuperMarioBrosTilesEnv(no_progress_frames=30)
    try:
        e.reset()
        ends = [e.step(np.zeros(6))[2:4] for _ in range(6)]
    finally:
        e.close()
    assert ends[-1] == (False, True) and ends[4] == (False, False)


def test_other_stages_by_name(env):
    """level="1-2" (or reset options) starts 1-2 (area 2, after the cut-scene's area)."""
    obs, info = env.reset(options={"level": "1-2"})
    ram = env.console.ram
    try:
        assert info["level"] == "1-2" and (info["world"], info["stage"]) == (1, 2)
        assert (int(ram[smb_ram.WORLD]), int(ram[smb_ram.STAGE]), int(ram[smb_ram.AREA])) == (
            0,
            1,
            2,
        )
        assert int(ram[smb_ram.GAME_MODE]) == 1
    finally:
        env.reset(options={"level": "1-1"})
    assert env.reset()[1]["level"] == "1-1"
