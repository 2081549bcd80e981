"""Races (``play.py A B ...``, ``viz.race``): headless JSON per agent per episode, a rendered
race frame with a ghost, agents of different frame_skips, and observation sizes at load."""

from __future__ import annotations

import json
import random

import neat
import numpy as np
import pygame
import pytest
from neat.innovation import InnovationTracker

import play
from agent.base import load_agent
from agent.neat.champion import config_from_text, save_champion
from envs.sim.constants import BTN_RIGHT, RUNNING
from tests.helpers.cli import run_play
from tests.helpers.neat import tiny_config_text
from viz.race import Race, RaceDrawer

KEYS = {"agent", "level", "completed", "progress", "frames", "fitness"}


def make_champion(path, view_radius: int = 6, inputs_radius: int | None = None, frame_skip=5):
    """A champion.json (mutated genome with hidden nodes); ``inputs_radius`` sets the network's
    input count ((2r+1)^2) apart from the ``view_radius`` stored in its env settings."""
    r = view_radius if inputs_radius is None else inputs_radius
    text = tiny_config_text(node_add_prob=0.6, num_inputs=(2 * r + 1) ** 2)
    config = config_from_text(text, "test")
    gc = config.genome_config
    gc.innovation_tracker = InnovationTracker()
    random.seed(5)
    genome = neat.DefaultGenome(1)
    genome.configure_new(gc)
    for _ in range(30):
        genome.mutate(gc)
    genome.fitness = 1.0
    path.parent.mkdir(parents=True, exist_ok=True)
    env = {"frame_skip": frame_skip, "view_radius": view_radius, "levels": ["1-1"]}
    save_champion(path, genome, config, text, fitness=1.0, generation=1, env_settings=env)
    return path


@pytest.fixture(scope="module")
def champion(tmp_path_factory):
    return make_champion(tmp_path_factory.mktemp("race") / "champ" / "champion.json")


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


def test_race_solver_vs_champion_headless_json(champion):
    """solver vs a NEAT champion, --headless --episodes 2 --json: two objects per episode, one
    per agent, named as the agents; the solver finishes 1-1."""
    result = run_play(
        "solver", str(champion), "--level", "1-1", "--headless", "--episodes", "2", "--json"
    )
    assert result.returncode == 0, result.stderr
    objs = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert len(objs) == 4
    assert [o["agent"] for o in objs] == ["solver", "neat:champ"] * 2
    for obj in objs:
        assert set(obj) == KEYS and obj["level"] == "1-1"
    assert objs[0]["completed"] is True and objs[0]["progress"] == 100.0
    assert objs[1]["frames"] > 0


def test_race_frame_shows_two_players(small_level):
    """The leader is drawn opaque and the other player as a translucent ghost: both sprites'
    rects hold player pixels (not sky), the ghost's blended, and a side list is drawn."""
    race = Race([Runner("runner", True), Runner("idler", False)], small_level)
    for _ in range(40):
        race.step()
    views = race.views()
    assert views[0].player[0] > views[1].player[0] + 20  # apart: two sprites, not one
    surface, lead = RaceDrawer().draw(race, scale=2, views=views)
    assert lead == 0
    frame = pygame.surfarray.array3d(surface).transpose(1, 0, 2)  # (H, W, 3)
    sky = frame[2, 2]
    drawer = RaceDrawer()
    drawer.draw(race, scale=2, surface=surface, views=views)
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


def test_race_frame_with_overlay_and_record(tmp_path, small_level):
    """The race's drawing path with the overlay draws the leader's grid and the list."""
    from viz.overlay import Overlay

    race = Race([Runner("a", True), Runner("b", False, frame_skip=3)], small_level)
    held = race.step()
    frame, lead = play.draw_race_frame(race, held, 2, None, Overlay())
    assert frame.get_size() == (16 * 16 * 2, 8 * 16 * 2) and lead in (0, 1)


def test_race_decides_per_world_frame_skip(small_level):
    """Each world asks its own agent every ``frame_skip`` frames, with its own view radius."""
    fast, slow = Runner("fast", True, 1, view_radius=6), Runner("slow", True, 4, view_radius=3)
    race = Race([fast, slow], small_level)
    for _ in range(12):
        race.step()
    assert fast.decisions == 12 and slow.decisions == 3
    assert fast.shapes[0] == (1, 13, 13) and slow.shapes[0] == (1, 7, 7)
    assert (race.world.status() == RUNNING).all()


def test_one_agent_parses_as_before():
    args = play.parse_args(["solver", "--level", "1-2"])
    assert args.agent == "solver" and args.agents == ["solver"]
    args = play.parse_args(["solver", "x/champion.json"])
    assert args.agent == "solver" and args.agents == ["solver", "x/champion.json"]
    assert play.parse_args([]).agent is None


def test_champion_radius_6_plays_another_level(tmp_path):
    """A champion trained with view_radius 6 plays any level (--level 1-2)."""
    champ = make_champion(tmp_path / "r6" / "champion.json")
    result = run_play(str(champ), "--level", "1-2", "--headless", "--json", "--frames", "60")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["level"] == "1-2"


def test_observation_size_mismatch_is_one_line(tmp_path):
    """A champion whose 169 inputs (radius 6) do not fit its view_radius 4 is refused at load:
    exit 2, one line naming both sizes, in a race too."""
    bad = make_champion(tmp_path / "bad" / "champion.json", view_radius=4, inputs_radius=6)
    for args in ([str(bad)], ["solver", str(bad)]):
        result = run_play(*args, "--level", "1-1", "--headless", "--json")
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "169 inputs" in lines[0] and "radius 4" in lines[0]
        assert "Traceback" not in result.stderr


def test_lstm_radius_4_races_a_radius_6_champion(tmp_path, champion):
    """Agents of different observation sizes race together: each world is observed at its own
    agent's radius (an LSTM of view_radius 4 and a 169-input champion)."""
    from agent.rnn.model import ModelConfig, RecurrentPolicy, save_model

    config = ModelConfig(hidden=8, encoder=8, view_radius=4, encoder_type="mlp")
    run = save_model(tmp_path / "lstm4", RecurrentPolicy(config), config, {"frame_skip": 3})
    level = play.load_level("1-1")
    race = Race([load_agent(run, [level]), load_agent(champion, [level])], level)
    for _ in range(30):
        race.step()
    assert race.agents[0].probabilities.shape == (1, 6)


def test_race_window_runs_headless(champion, capsys):
    """The race window loop (SDL dummy driver) plays a few frames and exits 0."""
    argv = [
        "solver",
        str(champion),
        "--level",
        "1-1",
        "--frames",
        "8",
        "--fps",
        "0",
        "--scale",
        "1",
    ]
    assert play.main(argv) == 0
    assert not pygame.display.get_init()  # the window was closed
