"""The overlay drawn into a headless surface: pixels where it matters (the input grid's enemy
cell, lit buttons, LSTM bars), the network layout, and the network export."""

from __future__ import annotations

import random

import neat
import numpy as np
import pygame
import pytest
from neat.innovation import InnovationTracker

import play
from agent.neat.champion import config_from_text
from agent.neat.policy import NeatAgent
from agent.rnn.model import ModelConfig, RecurrentPolicy
from agent.rnn.policy import RecurrentAgent
from envs.sim.constants import BTN_A, BTN_RIGHT, BUTTONS
from tests.helpers.neat import tiny_config_text
from viz.network_layout import network_geometry
from viz.overlay import (
    BUTTON_OFF,
    BUTTON_ON,
    EMPTY_COLOR,
    ENEMY_COLOR,
    SOLID_COLOR,
    Overlay,
    network_svg,
    render_network,
)


def neat_agent(seed: int = 3, mutations: int = 60) -> NeatAgent:
    """A NEAT agent whose genome grew hidden nodes and links by neat mutations."""
    config = config_from_text(tiny_config_text(node_add_prob=0.6, conn_add_prob=0.9), "test")
    gc = config.genome_config
    gc.innovation_tracker = InnovationTracker()
    random.seed(seed)
    genome = neat.DefaultGenome(1)
    genome.configure_new(gc)
    for _ in range(mutations):
        genome.mutate(gc)
    return NeatAgent(genome, config, name="neat:test")


def lstm_agent() -> RecurrentAgent:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    return RecurrentAgent(RecurrentPolicy(ModelConfig(hidden=32, encoder=32)), name="lstm:test")


def frame_with_enemy(small_level):
    """A game on the small level, its frame, and an observation with an enemy 2 cells right."""
    game = play.Game.start("small", small_level)
    obs = game.world.observe(6)[0].copy()
    obs[6, 8] = -1.0
    return game, obs


def color_at(surface: pygame.Surface, rect: pygame.Rect) -> tuple[int, int, int]:
    return tuple(surface.get_at(rect.center))[:3]


def test_grid_colours_enemy_solid_empty_and_lit_buttons_for_neat(small_level):
    """NEAT overlay: the enemy cell has the enemy colour, ground solid, sky empty; a pressed
    button's lamp is lit, an unpressed one is not."""
    agent = neat_agent()
    game, obs = frame_with_enemy(small_level)
    agent.act(obs[None])
    pressed = np.zeros(6, dtype=np.uint8)
    pressed[[BTN_A, BTN_RIGHT]] = 1
    overlay = Overlay()
    frame = play.draw_frame(game, agent, pressed, 3)  # the plain game frame
    overlay.draw(frame, obs, pressed, agent, "neat:test small")
    assert color_at(frame, overlay.cell_rects[(6, 8)]) == ENEMY_COLOR
    assert obs[7, 6] == 1.0 and color_at(frame, overlay.cell_rects[(7, 6)]) == SOLID_COLOR
    assert obs[0, 12] == 0.0 and color_at(frame, overlay.cell_rects[(0, 12)]) == EMPTY_COLOR
    assert set(overlay.button_rects) == set(BUTTONS)
    assert color_at(frame, overlay.button_rects["A"]) == BUTTON_ON
    assert color_at(frame, overlay.button_rects["RIGHT"]) == BUTTON_ON
    assert color_at(frame, overlay.button_rects["LEFT"]) == BUTTON_OFF


def test_lstm_overlay_heat_map_changes_and_pressed_bars_lit(small_level):
    """LSTM overlay: the enemy cell in the grid, lit lamps for the buttons pressed, and the
    state heat map differs between steps."""
    agent = lstm_agent()
    game, obs = frame_with_enemy(small_level)
    overlay = Overlay()
    pressed = agent.act(obs[None])[0]
    pressed[BTN_RIGHT], pressed[BTN_A] = 1, 0
    frame = play.draw_frame(game, agent, pressed, 2)
    overlay.draw(frame, obs, pressed, agent, "lstm")
    first = pygame.surfarray.array3d(frame).copy()
    assert color_at(frame, overlay.cell_rects[(6, 8)]) == ENEMY_COLOR
    assert color_at(frame, overlay.button_rects["RIGHT"]) == BUTTON_ON
    assert color_at(frame, overlay.button_rects["A"]) == BUTTON_OFF
    for _ in range(3):
        agent.act(obs[None])
    frame = play.draw_frame(game, agent, pressed, 2)
    overlay.draw(frame, obs, pressed, agent, "lstm")
    assert not np.array_equal(first, pygame.surfarray.array3d(frame))


def test_solver_and_human_overlay_has_grid_and_buttons(small_level):
    game = play.Game.start("small", small_level)
    pressed = np.array([0, 0, 0, 0, 1, 0], dtype=np.uint8)
    overlay = Overlay()
    frame = play.draw_frame(game, None, pressed, 2, overlay=overlay)
    assert color_at(frame, overlay.button_rects["LEFT"]) == BUTTON_ON
    assert color_at(frame, overlay.button_rects["RIGHT"]) == BUTTON_OFF
    assert color_at(frame, overlay.cell_rects[(7, 6)]) == SOLID_COLOR


def test_layout_keeps_hidden_nodes_between_grid_and_outputs_deterministically():
    agent = neat_agent(mutations=150)
    compiled = agent.network
    box = (0, 0, 600, 260)
    geo = network_geometry(compiled, box, label_width=50)
    again = network_geometry(compiled, box, label_width=50)
    assert len(geo.hidden) >= 10
    assert np.array_equal(geo.positions, again.positions, equal_nan=True)
    hid = geo.positions[geo.hidden]
    grid_right = geo.grid_origin[0] + geo.cell * geo.grid_size
    assert (hid[:, 0] > grid_right).all() and (hid[:, 0] < geo.output_x).all()
    assert (hid[:, 1] >= 0).all() and (hid[:, 1] <= 260).all()
    d = np.sqrt(((hid[:, None] - hid[None]) ** 2).sum(-1)) + np.eye(len(hid)) * 1e9
    assert d.min() > 1.0  # no two hidden nodes on top of each other


def test_render_network_and_svg():
    agent = neat_agent()
    surface = render_network(agent, (800, 400))
    pixels = pygame.surfarray.array3d(surface)
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 10
    svg = network_svg(agent)
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert svg.count("<line") == len(network_geometry(agent.network, (0, 0, 10, 10)).src)
    assert all(f">{name}<" in svg for name in BUTTONS)
