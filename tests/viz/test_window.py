"""The one window loop (``viz.window.play_window``) under SDL's dummy driver, on the built-in
world's game: the watching keys, the end pause, R and N; and the level cycle it steps."""

from __future__ import annotations

import pygame

from agent.base import load_agent
from envs.sim.constants import DEAD, P_STATUS, RUNNING
from viz.games import WorldGame
from viz.keys import next_speed
from viz.window import END_PAUSE_FRAMES, Cycle, play_window


def press(*keys: int) -> None:
    pygame.display.init()
    for key in keys:
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key))


def test_pause_step_speed_and_help_keys(small_level):
    """P pauses, '.' steps one frame while paused, O and H toggle without breaking the loop:
    after 6 frames shown, 1 frame was played; the window is closed at the end."""
    game = WorldGame(small_level)
    press(pygame.K_p, pygame.K_PERIOD, pygame.K_o, pygame.K_h)
    assert play_window(game, 1, 0, max_frames=6) == 0
    assert game.world.view(0).frames == 1
    assert not pygame.display.get_init()
    assert next_speed(60, True) == 120 and next_speed(60, False) == 30
    assert next_speed(240, True) == 0 and next_speed(0, True) == 0
    assert next_speed(0, False) == 240 and next_speed(5, False) == 5


def test_space_pauses_only_while_an_agent_plays(small_level):
    """Space is the human's jump, so it pauses only a game watched (agents playing)."""
    human = WorldGame(small_level)
    press(pygame.K_SPACE)
    play_window(human, 1, 0, max_frames=4)
    assert human.world.view(0).frames == 4
    watched = WorldGame(small_level, [load_agent("solver", [small_level])])
    press(pygame.K_SPACE)
    play_window(watched, 1, 0, max_frames=4)
    assert watched.world.view(0).frames == 0


def test_the_end_stays_on_screen_for_the_end_pause_then_restarts(small_level):
    """After death the world stays frozen for END_PAUSE_FRAMES frames shown, then restarts."""
    game = WorldGame(small_level)
    game.world.P[0, P_STATUS] = DEAD
    play_window(game, 1, 0, max_frames=END_PAUSE_FRAMES)
    assert int(game.world.status()[0]) == DEAD
    play_window(game, 1, 0, max_frames=END_PAUSE_FRAMES + 1)
    assert int(game.world.status()[0]) == RUNNING and game.world.view(0).frames == 0


def test_r_restarts_and_escape_quits(small_level):
    """R puts the world back at frame 0 (then it plays on); Esc ends the loop at once."""
    game = WorldGame(small_level)
    for _ in range(30):
        game.play({"right"})
    press(pygame.K_r)
    play_window(game, 1, 0, max_frames=3)
    assert game.world.view(0).frames == 3
    press(pygame.K_ESCAPE)
    play_window(game, 1, 0, max_frames=50)
    assert game.world.view(0).frames == 3


def test_cycle_steps_through_several_and_after_one_to_its_successor():
    """``Cycle.next``: several items wrap round; a single one becomes its successor."""
    seen, cycle = [], Cycle(("a", "b", "c"), lambda x: x + "!")
    for _ in range(4):
        seen.append(cycle.current)
        cycle = cycle.next()
    assert seen == ["a", "b", "c", "a"]
    one = Cycle(("a",), lambda x: x + "!")
    assert one.next().current == "a!" and one.next().next().current == "a!!"
