"""The built-in world's game (``viz.games``): keyboard, demo recording, agents and races all
played through the one episode loop, what N does, and what a watcher reads (HUD, messages)."""

from __future__ import annotations

import numpy as np
import pytest

from agent.base import load_agent
from agent.episodes import EpisodeRules, play_levels
from envs.levels.level import builtin_names, load_level
from envs.sim.constants import BTN_A, BTN_B, BTN_LEFT, BTN_RIGHT, DEAD, P_STATUS, RUNNING
from tests.helpers.levels import level_from_rows
from viz import games
from viz.games import WorldGame, buttons_from_keys, level_cycle, next_builtin
from viz.headless import play_episodes


class Runner:
    """A scripted agent: holds RIGHT (``right=True``) or nothing, deciding every ``frame_skip``."""

    def __init__(self, name: str, right: bool, frame_skip: int = 1, view_radius: int = 6):
        self.name, self.right = name, right
        self.frame_skip, self.view_radius = frame_skip, view_radius
        self.decisions = 0
        self.shapes: list[tuple[int, ...]] = []

    def reset(self, n: int) -> None:
        pass

    def act(self, obs: np.ndarray) -> np.ndarray:
        self.decisions += 1
        self.shapes.append(obs.shape)
        out = np.zeros((obs.shape[0], 6), dtype=np.uint8)
        out[:, BTN_RIGHT] = 1 if self.right else 0
        return out


def test_keys_map_to_buttons():
    """Arrows give directions, Z/space give A, X/shift give B; other keys give nothing."""
    acts = buttons_from_keys({"right", "space", "shift", "w"})
    expected = np.zeros((1, 6), dtype=np.uint8)
    expected[0, [BTN_RIGHT, BTN_A, BTN_B]] = 1
    assert acts.dtype == np.uint8 and np.array_equal(acts, expected)
    assert buttons_from_keys({"left", "z", "x"})[0, [BTN_LEFT, BTN_A, BTN_B]].all()
    assert not buttons_from_keys(set()).any()


def test_keyboard_play_presses_the_keys_held_each_frame(small_level):
    """With no agent the keyboard plays: each frame holds the buttons of the keys held then,
    so holding right moves the player right and letting go stops pressing."""
    game = WorldGame(small_level)
    x0 = game.world.view(0).player[0]
    for _ in range(20):
        held = game.play({"right"})
        assert held[0, BTN_RIGHT] == 1
    assert game.world.view(0).player[0] > x0 + 5
    assert not game.play(set()).any()
    assert not game.watching and game.names == ["human"]


def test_demo_recording_keeps_every_fifth_frame(small_level, tmp_path):
    """--record-demo: the grid and buttons at frames 0, 5, 10, ... of keyboard play, the first
    step of each episode marked; saving writes them, and nothing recorded writes nothing."""
    recording = games.DemoRecording()
    empty = tmp_path / "empty.npz"
    with pytest.raises(ValueError, match="nothing recorded"):
        recording.save(empty)
    assert not empty.exists()
    game = WorldGame(small_level, recording=recording)
    for _ in range(12):
        game.play({"right"})
    game.restart()
    for _ in range(3):
        game.play(set())
    demos = recording.recorder.demos()
    assert len(demos) == 3 + 1  # frames 0, 5, 10, then 0 again
    assert demos.episode_starts.tolist() == [True, False, False, True]
    assert demos.actions[:3, BTN_RIGHT].all() and not demos.actions[3].any()
    assert demos.obs.shape[1:] == (13, 13)
    assert recording.save(tmp_path / "demo.npz") == 4 and (tmp_path / "demo.npz").is_file()


def test_race_decides_per_world_frame_skip(small_level):
    """Each world asks its own agent every ``frame_skip`` frames, with its own view radius."""
    fast, slow = Runner("fast", True, 1, view_radius=6), Runner("slow", True, 4, view_radius=3)
    race = WorldGame(small_level, [fast, slow])
    for _ in range(12):
        race.play()
    assert fast.decisions == 12 and slow.decisions == 3
    assert fast.shapes[0] == (1, 13, 13) and slow.shapes[0] == (1, 7, 7)
    assert (race.world.status() == RUNNING).all()


def test_one_world_game_plays_what_the_batch_evaluation_plays():
    """A game's headless episodes equal ``play_levels``' records for the same agent and level
    (the same loop), for the solver on 1-1 and on a level that must be planned anew."""
    rows = ["." * 20] * 5 + ["." * 19 + "F", "..S" + "." * 16 + "F", "X" * 20]
    other = level_from_rows(*rows, name="other")
    level = load_level("1-1")
    for lvl in (level, other):
        (records,) = play_episodes(WorldGame(lvl, [load_agent("solver", [level])]))
        (batch,) = play_levels(load_agent("solver", [lvl]), [lvl]).episodes
        assert records == [{k: batch[k] for k in records[0]}]
        assert records[0]["completed"]


def test_max_frames_caps_each_headless_episode(small_level):
    """EpisodeRules(max_frames=F): every episode stops after F frames, not completed."""
    game = WorldGame(small_level, [Runner("idle", False)], rules=EpisodeRules(max_frames=17))
    for (record,) in play_episodes(game, 2):
        assert record["frames"] == 17 and not record["completed"]


def test_next_level_steps_through_given_levels_then_builtins(small_level):
    """N: with several levels given, the next of them (wrapping); with one, the next built-in
    level (a file or generated level: the first built-in)."""
    names = builtin_names()
    assert next_builtin(names[-1]) == names[0]
    assert next_builtin("some/file.txt") == names[0]
    assert next_builtin(names[0]) == names[1]
    first, second = load_level(names[0]), load_level(names[2])
    game = WorldGame(level_cycle([first, second]))
    assert [game.level.name, game.next_level().level.name] == [names[0], names[2]]
    assert game.next_level().next_level().level.name == names[0]
    alone = WorldGame(small_level).next_level()
    assert alone.level.name == names[0] and alone.next_level().level.name == names[1]


def test_next_level_plans_the_solver_anew_and_keeps_other_agents(small_level):
    """After N the solver plays a plan for the new level; other agents are the same objects."""
    runner = Runner("r", True)
    game = WorldGame(small_level, [load_agent("solver", [small_level]), runner])
    nxt = game.next_level()
    assert nxt.agents[0].levels == [nxt.level] and nxt.agents[1] is runner
    assert nxt.names == ["solver", "r"] and nxt.title == "MarI/O lab - race: solver vs r"


def test_end_messages_and_hud(small_level):
    """One player: the end message says how it ended; a race says who won once all ended.
    The HUD names the level and shows progress %, coins and seconds left."""
    game = WorldGame(small_level)
    assert game.end_message() is None
    text = " ".join(game.hud())
    assert "small" in text and "coins 0" in text and "%" in text
    assert f"time {small_level.time_seconds}" in text
    game.world.P[0, P_STATUS] = DEAD
    assert game.done and game.end_message() == "Ouch! Try again"
    race = WorldGame(small_level, [Runner("a", True), Runner("b", False)])
    race.world.P[0, P_STATUS] = DEAD
    assert not race.done and race.end_message() is None
    race.world.P[1, P_STATUS] = DEAD
    assert race.end_message() == "Race over"
