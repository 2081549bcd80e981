"""Human play: the headless window, the key mapping, the game loop and ``play.py`` end to end."""

from pathlib import Path

import numpy as np
import pygame

import play
from envs.levels.level import builtin_names
from envs.render.frame import HumanWindow, render_view
from envs.sim.constants import BTN_A, BTN_B, BTN_LEFT, BTN_RIGHT, DEAD, P_STATUS, RUNNING
from tests.helpers.cli import run_play

ROOT = Path(__file__).resolve().parents[2]


def test_human_window_shows_frames_and_reads_keys(small_level):
    """Headless: show() opens a frame-sized window; poll() reports new presses and quit;
    held() follows key down/up events; close() shuts the display."""
    window = HumanWindow(fps=0)
    try:
        frame = render_view(play.Game.start("small", small_level).world.view(0), scale=2)
        window.show(frame, ["small  0%", "60 fps"], message="hello")
        assert pygame.display.get_surface().get_size() == frame.get_size()
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RIGHT))
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_LSHIFT))
        assert window.poll() == {"right", "shift"}
        assert window.held() == {"right", "shift"}
        assert window.poll() == set()  # a press is reported once, the key stays held
        pygame.event.post(pygame.event.Event(pygame.KEYUP, key=pygame.K_RIGHT))
        pygame.event.post(pygame.event.Event(pygame.QUIT))
        assert window.poll() == {"quit"}
        assert window.held() == {"shift"}
    finally:
        window.close()
    assert not pygame.display.get_init()
    assert window.poll() == {"quit"}


def test_keys_map_to_buttons():
    """Arrows give directions, Z/space give A, X/shift give B; other keys give nothing."""
    acts = play.buttons_from_keys({"right", "space", "shift", "w"})
    expected = np.zeros((1, 6), dtype=np.uint8)
    expected[0, [BTN_RIGHT, BTN_A, BTN_B]] = 1
    assert acts.dtype == np.uint8 and np.array_equal(acts, expected)
    assert play.buttons_from_keys({"left", "z", "x"})[0, [BTN_LEFT, BTN_A, BTN_B]].all()
    assert not play.buttons_from_keys(set()).any()


def test_next_builtin_level_wraps():
    """'n' goes through the built-in levels in order, wrapping round; a file goes to the first."""
    names = builtin_names()
    assert play.next_builtin(names[-1]) == names[0]
    assert play.next_builtin("some/file.txt") == names[0]
    if len(names) > 1:
        assert play.next_builtin(names[0]) == names[1]


def test_game_restarts_about_a_second_after_the_end(small_level):
    """After death the world stays frozen for END_PAUSE_FRAMES frames, then restarts."""
    game = play.Game.start("small", small_level)
    game.world.P[0, P_STATUS] = DEAD
    idle = np.zeros((1, 6), dtype=np.uint8)
    for _ in range(play.END_PAUSE_FRAMES):
        game.advance(idle)
        assert int(game.world.status()[0]) == DEAD
    game.advance(idle)
    assert int(game.world.status()[0]) == RUNNING and game.world.view(0).frames == 0


def test_hud_lines_name_progress_coins_time_fps(small_level):
    """The HUD names the level and shows progress %, coins, seconds left and fps."""
    view = play.Game.start("small", small_level).world.view(0)
    text = " ".join(play.hud_lines(view, 59.6))
    assert "small" in text and "coins 0" in text and "60 fps" in text
    assert f"time {small_level.time_seconds}" in text and "%" in text


def test_play_human_runs_headless_and_exits_0():
    """play.py --human --level 1-1 --frames 30 plays 30 frames with SDL's dummy driver, exit 0."""
    result = run_play("--human", "--level", "1-1", "--frames", "30")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


def test_play_with_no_arguments_is_human_play_on_1_1():
    """`python play.py` alone (the README's quick start) plays 1-1 and exits 0 when told to."""
    result = run_play("--frames", "5")
    assert result.returncode == 0, result.stderr


def test_play_unknown_level_exits_2_with_one_line():
    """An unknown level name: exit 2, one stderr line listing the built-in levels, no traceback."""
    result = run_play("--human", "--level", "nope", "--frames", "5")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "nope" in lines[0]
    assert all(name in lines[0] for name in builtin_names())
    assert "Traceback" not in result.stderr


def test_play_broken_level_file_exits_2_with_location(tmp_path):
    """A broken level file: exit 2 with the parser's file:line:column message on one line."""
    rows = ["." * 16] * 7 + ["X" * 16]
    rows[2] = "..S..Z.........F"
    path = tmp_path / "broken.txt"
    path.write_text("; name: broken\n" + "\n".join(rows) + "\n")
    result = run_play("--human", "--level", str(path), "--frames", "5")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{path}:4:6:")
    assert "Traceback" not in result.stderr


def test_play_watches_the_solver_agent():
    """`play.py solver --level 1-1` shows the solver playing, headless, and exits 0."""
    result = run_play("solver", "--level", "1-1", "--frames", "120", "--fps", "0")
    assert result.returncode == 0, result.stderr


def test_play_rejects_a_missing_agent_in_one_line(tmp_path):
    """A champion path that does not exist is one line on stderr and exit status 2."""
    result = run_play(str(tmp_path / "nothing" / "champion.json"), "--frames", "5")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
