"""The real game's stages as built-in levels, checked against the emulator: the level's tiles
equal the game's block buffer column for column while a bot plays and while the screen
scrolls, the enemies the game spawns are in the level, and the solver finishes the stages the
built-in world can finish. Needs the ``nes`` extra (skipped with the reason otherwise); levels
are made once per module into a temporary cache (about 5 s a stage).
"""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers Platformer-v0)
from envs.levels.level import Level, load_level
from envs.sim.constants import PIPE_L, SOLID
from envs.smb import recorder
from envs.smb.console import NES_EXTRA_HINT, Console
from envs.smb.levels import CACHE_ENV, HUD_ROWS, WALKERS, load_rom, stage_source
from envs.smb.metatiles import game_solid, tiles_of
from envs.smb.ram import flag_reached, is_dying, parse_stage, player_x, tile_grid
from envs.smb.rom import PIRANHA_PLANT
from envs.solver import solve
from tests.helpers.cli import run_cli, run_play
from tests.helpers.neat import tiny_config_text

STAGES = ("1-1", "1-2", "2-1", "3-1", "4-1", "5-1", "6-1", "7-1", "8-1")
STAR_TIMER = 0x79F  # StarInvincibleTimer: the bot plays invincible, so enemies cannot stop it
EMPTY_BLOCK = 0xC4  # what a hidden block becomes when hit from below


@pytest.fixture(scope="module", autouse=True)
def stage_cache(tmp_path_factory):
    pytest.importorskip("nes_py", reason=NES_EXTRA_HINT)
    pytest.importorskip("gym_super_mario_bros", reason="the nes extra brings the ROM")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(CACHE_ENV, str(tmp_path_factory.mktemp("smb-cache")))
        yield


def console_at(stage: str) -> tuple[Console, int]:
    """A console at the stage's start (in its outdoor part where it has one) and the area
    column where its level starts."""
    src = stage_source(load_rom(), *parse_stage(stage))
    console = recorder.stage_console(src.world, src.stage)
    if src.outdoor:
        recorder.enter_area(console, src.pointer, src.page)
    recorder.settle(console)
    return console, src.page * 16


def window(ram) -> range:
    """The area columns the block buffer holds now: the 31 before the parser's next column."""
    done = recorder.parser_column(ram)
    return range(max(0, done - 31), done)


def bot_buttons(ram, state: dict) -> int:
    """Run right (B held) and jump, holding A for 24 frames, whenever a wall is one or two
    cells ahead or the ground ends there, reading MarI/O's grid from RAM (``tile_grid``)."""
    grid = tile_grid(ram)
    on_ground = int(ram[0x1D]) == 0
    if on_ground and state["hold"] == 0:
        wall = grid[5:8, 7:9].any()
        pit = not grid[8:, 7:9].any()
        press = (wall or pit) and not state["a"]
        state["hold"] = 24 if press else 0
    else:
        press = state["hold"] > 0
        state["hold"] = max(state["hold"] - 1, 0)
    state["a"] = press
    return 0x80 | 0x02 | (0x01 if press else 0)


@pytest.mark.slow
@pytest.mark.parametrize("stage", STAGES)
def test_solid_tiles_match_the_block_buffer_while_a_bot_plays(stage):
    """While an invincible bot plays the stage on the emulator (jumping walls and pits as the
    RAM grid shows them), every 8 frames every column the block buffer holds is solid in the
    same cells as the level's column (after the level's first column). A hidden block the bot
    hits (it becomes an empty block) is the only difference allowed."""
    level = load_level(f"smb:{stage}")
    console, first = console_at(stage)
    ram, state = console.ram, {"hold": 0, "a": False}
    compared = revealed = best = stuck = 0
    try:
        for frame in range(3000):
            ram[STAR_TIMER] = 0x20
            console.frame(bot_buttons(ram, state))
            best, stuck = (player_x(ram), 0) if player_x(ram) > best else (best, stuck + 1)
            if is_dying(ram) or flag_reached(ram) or stuck > 240:  # 4 s without progress
                break
            if frame % 8:
                continue
            for col in window(ram):
                c = col - first
                if not 0 <= c < level.width:
                    continue
                game = recorder.buffer_column(ram, col)
                ours = SOLID[level.tiles[HUD_ROWS:, c]]
                differ = game_solid(game) != ours
                allowed = (game == EMPTY_BLOCK) & ~ours
                assert not (differ & ~allowed).any(), (stage, frame, c, game.tolist())
                revealed += int(allowed.sum())
                compared += 1
        reached = (player_x(ram) - first * 16) // 16
    finally:
        console.close()
    assert compared >= 10 * level.width and revealed <= 2
    assert reached >= min(level.flag_col, 180) - 2, reached  # 2-1's wall, 8-1's pit stop it


def float_through(stage: str, speed: int = 0x20):
    """Scroll through the stage above the screen (as the reader does, but slower) and return
    the level, its (column, row) mismatches with the buffer, the number of columns compared,
    the enemy slots' spawns (frame, id, x, y) and the level's first area column."""
    level = load_level(f"smb:{stage}")
    console, first = console_at(stage)
    bad, compared = [], 0

    def check(ram) -> None:
        nonlocal compared
        if int(ram[0x09]) % 8:  # every 8th frame (the frame counter)
            return
        for col in window(ram):
            c = col - first
            if 0 <= c < level.width:
                ours = level.tiles[HUD_ROWS:, c]
                theirs = tiles_of(recorder.buffer_column(ram, col))
                bad.extend((c, int(r)) for r in np.flatnonzero(ours != theirs))
                compared += 1

    try:
        rec = recorder.record_area(
            console, until=lambda cols: cols.shape[1] >= level.width, speed=speed, on_frame=check
        )
    finally:
        console.close()
    return level, bad, compared, rec.spawns, first


@pytest.fixture(scope="module")
def floated():
    """``float_through`` once per stage for the tests of this module."""
    runs: dict[str, tuple] = {}

    def get(stage: str) -> tuple:
        if stage not in runs:
            runs[stage] = float_through(stage)
        return runs[stage]

    return get


@pytest.mark.slow
@pytest.mark.parametrize("stage", STAGES)
def test_tiles_match_the_block_buffer_at_every_scroll_position(stage, floated):
    """Scrolling through the stage at 2 px a frame, every 8th frame each column the buffer
    holds maps (``tiles_of``) onto exactly the level's column: every tile, not just solidity,
    at every ring position, with the outdoor parts' column offset."""
    level, bad, compared, _, _ = floated(stage)
    assert not bad, bad[:10]
    assert compared >= 5 * level.width


@pytest.mark.slow
@pytest.mark.parametrize("stage", ("1-1", "3-1", "5-1", "8-1"))
def test_the_enemies_the_game_spawns_are_in_the_level(stage, floated):
    """Every goomba or koopa the game puts in an enemy slot while the screen scrolls starts in a
    level cell with an enemy (within a column for group members, placed from the screen's
    edge); every piranha plant the game spawns sits in a pipe of the level."""
    level, _, _, spawns, first = floated(stage)
    enemies = set(level.enemies)
    walkers = plants = 0
    for _, kind, x, y in spawns:
        col, row = (x - first * 16 + 8) // 16, (y + 8) // 16
        if kind in WALKERS and col < level.width:
            near = {(r, c) for r in (row - 1, row) for c in (col - 1, col, col + 1)}
            assert near & enemies, (kind, x, y, col, row)
            walkers += 1
        elif kind == PIRANHA_PLANT:
            assert level.tiles[y // 16, (x - 8) // 16 - first] == PIPE_L, (x, y)
            plants += 1
    assert walkers >= 10
    assert (plants > 0) == (stage != "1-1")


@pytest.mark.slow
def test_1_1_is_the_real_1_1():
    """Real 1-1 as the level holds it: 15 rows, the flagpole at column 198, the start on the
    ground at column 2, pipes at 28, 38, 46 and 57 (2, 3, 4 and 4 high), pits at 69-70, 86-88
    and 153-154, 16 goombas and a koopa, 160 s (400 ticks of the clock)."""
    level = load_level("smb:1-1")
    assert (level.height, level.flag_col, level.start) == (15, 198, (12, 2))
    tops = {c: int(np.flatnonzero(level.tiles[:, c] == PIPE_L)[0]) for c in (28, 38, 46, 57)}
    assert {c: 13 - r for c, r in tops.items()} == {28: 2, 38: 3, 46: 4, 57: 4}
    pits = np.flatnonzero(~SOLID[level.tiles[-1]])
    assert pits.tolist() == [69, 70, 86, 87, 88, 153, 154]
    assert len(level.enemies) == 17 and level.time_seconds == 160
    assert level.meta["enemies"] == "16 goombas, 1 koopa"


@pytest.mark.slow
@pytest.mark.parametrize("stage", ("1-1", "1-2", "3-1", "4-1", "5-1", "6-1", "7-1", "8-1"))
def test_the_solver_finishes_the_stage(stage):
    """The built-in world's solver finishes the stage, and its plan replays to the flag."""
    assert solve(load_level(f"smb:{stage}")).completed


@pytest.mark.slow
def test_2_1_needs_the_springboard_the_built_in_world_lacks():
    """2-1 ends with a wall 9 blocks high that the game's springboard lifts the player over;
    here the springboard is a plain block. Under the game's side check (the SMB profile's
    wall_push: Mario gets a few pixels into a wall and can land on a block's top corner there)
    the solver climbs the wall by wall jumps instead, so it finishes, past the wall."""
    level = load_level("smb:2-1")
    assert "springboard" in level.meta["left-out"]
    assert level.tiles[3:13, 190].all() and level.tiles[3:13, 191].all()  # the wall
    solution = solve(level)
    assert solution.completed and solution.best_x / 16 > 191


@pytest.mark.slow
def test_platformer_env_plays_a_real_stage():
    """``gym.make("Platformer-v0", level="smb:1-1")`` plays the stage: 13 x 13 observations,
    the level's name in ``info``."""
    env = gym.make("Platformer-v0", level="smb:1-1")
    obs, info = env.reset(seed=0)
    assert obs.shape == (13, 13) and info["level"] == "smb:1-1"
    obs, _, terminated, truncated, info = env.step(np.array([0, 1, 0, 0, 0, 1], dtype=np.int8))
    assert not (terminated or truncated) and info["x"] > 0
    env.close()


@pytest.mark.slow
def test_train_and_play_take_a_real_stage(tmp_path):
    """``train.py neat --level smb:1-2`` trains a generation on it and ``play.py solver --level
    smb:1-2 --headless --json`` finishes it (both through the shared level plumbing)."""
    load_level("smb:1-2")  # into the cache the subprocesses share
    config = tmp_path / "tiny.ini"
    config.write_text(tiny_config_text())
    out = tmp_path / "run"
    proc = run_cli(
        "neat", "--level", "smb:1-2", "--config", str(config), "--generations", "1",
        "--out", str(out), "--quiet",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (out / "champion.json").is_file()
    proc = run_play("solver", "--level", "smb:1-2", "--headless", "--json")
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout.strip().splitlines()[-1])
    assert record["level"] == "smb:1-2" and record["completed"] is True


@pytest.mark.slow
def test_levels_come_from_the_cache_the_second_time(monkeypatch):
    """Once made, a stage's level is read from the cache: the emulator is not started again,
    and the level is the same."""
    first: Level = load_level("smb:1-2")

    def no_emulator(*args, **kw):
        raise AssertionError("the emulator was started")

    monkeypatch.setattr(recorder, "stage_console", no_emulator)
    assert load_level("smb:1-2") == first
