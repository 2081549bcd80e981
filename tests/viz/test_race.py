"""Races (``play.py A B ...``): the race frame (``viz.race``: leader opaque, ghosts, tags, the
side list), agents of different observation sizes, and races through ``play.py``."""

from __future__ import annotations

import json

import numpy as np
import pygame
import pytest

import play
from agent.base import load_agent
from envs.levels.level import load_level
from envs.sim.constants import BTN_RIGHT
from tests.helpers.champions import make_champion
from tests.helpers.cli import run_play
from viz.games import WorldGame
from viz.overlay import Overlay
from viz.race import RaceDrawer, display_names, leader

KEYS = {"agent", "level", "completed", "progress", "frames", "fitness"}


@pytest.fixture(scope="module")
def champion(tmp_path_factory):
    return make_champion(tmp_path_factory.mktemp("race") / "champ" / "champion.json")


class Runner:
    """A scripted agent: holds RIGHT (``right=True``) or nothing, every ``frame_skip`` frames."""

    def __init__(self, name: str, right: bool, frame_skip: int = 1):
        self.name, self.right, self.frame_skip, self.view_radius = name, right, frame_skip, 6

    def reset(self, n: int) -> None:
        pass

    def act(self, obs: np.ndarray) -> np.ndarray:
        out = np.zeros((obs.shape[0], 6), dtype=np.uint8)
        out[:, BTN_RIGHT] = 1 if self.right else 0
        return out


def test_race_frame_shows_two_players(small_level):
    """The leader is drawn opaque and the other player as a translucent ghost: both sprites'
    rects hold player pixels (not sky), the ghost's blended, and a side list is drawn."""
    race = WorldGame(small_level, [Runner("runner", True), Runner("idler", False)])
    for _ in range(40):
        race.play()
    views = race.views()
    assert views[0].player[0] > views[1].player[0] + 20  # apart: two sprites, not one
    drawer = RaceDrawer()
    surface, lead = drawer.draw(views, race.names, scale=2)
    assert lead == leader(views) == 0
    frame = pygame.surfarray.array3d(surface).transpose(1, 0, 2)  # (H, W, 3)
    sky = frame[2, 2]
    lead_rect, ghost_rect = drawer.player_rects
    assert not lead_rect.colliderect(ghost_rect)

    def patch(rect):
        return frame[rect.top : rect.bottom, rect.left : rect.right].reshape(-1, 3)

    def not_sky(pixels):
        return int((np.abs(pixels.astype(int) - sky.astype(int)).sum(axis=1) > 30).sum())

    lead_px, ghost_px = patch(lead_rect), patch(ghost_rect)
    assert not_sky(lead_px) > 50 and not_sky(ghost_px) > 50  # two player sprites
    red = np.array([220, 40, 16])  # the sprite's red, exact only where opaque
    assert (np.abs(lead_px.astype(int) - red).sum(axis=1) == 0).any()
    assert not (np.abs(ghost_px.astype(int) - red).sum(axis=1) == 0).any()  # translucent
    assert drawer.list_rect is not None


def test_race_frame_with_overlay_puts_the_list_under_the_panel(small_level):
    """With the overlay the race's list moves under the overlay's panel; the frame keeps the
    level's size."""
    race = WorldGame(small_level, [Runner("a", True), Runner("b", False, frame_skip=3)])
    race.play()
    frame = race.draw(2, overlay=Overlay())
    assert frame.get_size() == (16 * 16 * 2, 8 * 16 * 2)
    assert race.drawer.list_rect.top == Overlay.panel_rect(frame.get_size()).bottom + 4


def test_display_names_are_unique():
    """Agents of one name are told apart in the list and the records: solver, solver#2."""
    assert display_names(["solver", "neat", "solver"]) == ["solver", "neat", "solver#2"]


def test_lstm_radius_4_races_a_radius_6_champion(tmp_path, champion):
    """Agents of different observation sizes race together: each world is observed at its own
    agent's radius (an LSTM of view_radius 4 and a 169-input champion)."""
    from agent.rnn.model import ModelConfig, RecurrentPolicy, save_model

    config = ModelConfig(hidden=8, encoder=8, view_radius=4, encoder_type="mlp")
    run = save_model(tmp_path / "lstm4", RecurrentPolicy(config), config, {"frame_skip": 3})
    level = load_level("1-1")
    race = WorldGame(level, [load_agent(run, [level]), load_agent(champion, [level])])
    for _ in range(30):
        race.play()
    assert race.agents[0].probabilities.shape == (1, 6)
    assert race.observation(0).shape == (9, 9) and race.observation(1).shape == (13, 13)


def test_race_window_runs_and_closes(champion, capsys):
    """The race in the (dummy) window plays a few frames and exits 0, the window closed."""
    argv = ["solver", str(champion), "--max-frames", "8", "--fps", "0", "--scale", "1"]
    assert play.main(argv) == 0
    assert not pygame.display.get_init()
    assert "P/space pause" in capsys.readouterr().out


def test_observation_size_mismatch_is_one_line(tmp_path, capsys):
    """A champion whose 169 inputs (radius 6) do not fit its view_radius 4 is refused at load:
    exit 2, one line naming both sizes, in a race too."""
    bad = make_champion(tmp_path / "bad" / "champion.json", view_radius=4, inputs_radius=6)
    for argv in ([str(bad)], ["solver", str(bad)]):
        assert play.main([*argv, "--headless", "--json"]) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and "169 inputs" in lines[0] and "radius 4" in lines[0]


@pytest.mark.slow
def test_race_solver_vs_champion_headless_json(champion):
    """solver vs a NEAT champion, --headless --episodes 2 --json: two objects per episode, one
    per agent, named as the agents; the solver finishes 1-1."""
    result = run_play(
        "solver", str(champion), "--level", "1-1", "--headless", "--episodes", "2", "--json"
    )
    assert result.returncode == 0, result.stderr
    objs = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert [o["agent"] for o in objs] == ["solver", "neat:champ"] * 2
    assert all(set(o) == KEYS and o["level"] == "1-1" for o in objs)
    assert objs[0]["completed"] is True and objs[0]["progress"] == 100.0
    assert objs[1]["frames"] > 0


@pytest.mark.slow
def test_champion_radius_6_plays_another_level(tmp_path):
    """A champion trained with view_radius 6 plays any level (--level 1-2)."""
    champ = make_champion(tmp_path / "r6" / "champion.json")
    result = run_play(str(champ), "--level", "1-2", "--headless", "--json", "--max-frames", "60")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["level"] == "1-2"
