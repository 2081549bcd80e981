"""The overlay drawn into a headless surface: pixels where it matters (the input grid's enemy
cell, lit buttons, LSTM bars), the network layout, and the network export (PNG and SVG from
the same drawing)."""

from __future__ import annotations

import re

import numpy as np
import pygame
import pytest

from agent.neat.inputs import InputEncoding
from agent.rnn.model import ModelConfig, RecurrentPolicy
from agent.rnn.policy import RecurrentAgent
from envs.sim.constants import BTN_A, BTN_RIGHT, BUTTONS
from tests.helpers.champions import neat_agent
from viz.games import WorldGame
from viz.network_layout import input_layout, network_geometry
from viz.network_view import (
    BUTTON_OFF,
    BUTTON_ON,
    EMPTY_COLOR,
    ENEMY_COLOR,
    SOLID_COLOR,
    network_svg,
    render_network,
)
from viz.overlay import Overlay


def lstm_agent() -> RecurrentAgent:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    return RecurrentAgent(RecurrentPolicy(ModelConfig(hidden=32, encoder=32)), name="lstm:test")


def frame_with_enemy(small_level):
    """A game on the small level, its frame, and an observation with an enemy 2 cells right."""
    game = WorldGame(small_level)
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
    frame = game.draw(3)  # the plain game frame
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
    frame = game.draw(2)
    overlay.draw(frame, obs, pressed, agent, "lstm")
    first = pygame.surfarray.array3d(frame).copy()
    assert color_at(frame, overlay.cell_rects[(6, 8)]) == ENEMY_COLOR
    assert color_at(frame, overlay.button_rects["RIGHT"]) == BUTTON_ON
    assert color_at(frame, overlay.button_rects["A"]) == BUTTON_OFF
    for _ in range(3):
        agent.act(obs[None])
    frame = game.draw(2)
    overlay.draw(frame, obs, pressed, agent, "lstm")
    assert not np.array_equal(first, pygame.surfarray.array3d(frame))


def test_human_overlay_has_grid_and_the_buttons_held(small_level):
    """Keyboard play with the overlay: the grid the player sees, and the lamps of the buttons
    held in the frame just played lit (LEFT), the others not."""
    game = WorldGame(small_level)
    game.play({"left"})
    overlay = Overlay()
    frame = game.draw(2, overlay=overlay)
    assert color_at(frame, overlay.button_rects["LEFT"]) == BUTTON_ON
    assert color_at(frame, overlay.button_rects["RIGHT"]) == BUTTON_OFF
    assert color_at(frame, overlay.cell_rects[(7, 6)]) == SOLID_COLOR


def test_layout_keeps_hidden_nodes_between_grid_and_outputs_deterministically():
    """The layout is deterministic, hidden nodes sit between the grid and the outputs inside
    the box, and no two of them coincide."""
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


def svg_rects(svg: str, fill: tuple[int, int, int]) -> list[tuple[float, float, float, float]]:
    pattern = r'<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" fill="rgb'
    pattern += re.escape(f"({fill[0]},{fill[1]},{fill[2]})")
    return [tuple(float(v) for v in m) for m in re.findall(pattern, svg)]


def test_png_and_svg_show_the_same_picture():
    """One drawing makes both exports: every lamp and hidden node the SVG draws has, in the
    PNG, its fill colour at the same place; the SVG has one line per link and every button's
    name; the PNG is a picture (many colours), not a blank."""
    agent = neat_agent()
    size = (800, 400)
    png = pygame.surfarray.array3d(render_network(agent, size)).transpose(1, 0, 2)  # (H, W, 3)
    svg = network_svg(agent, size)
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert svg.count("<line") == len(network_geometry(agent.network, (0, 0, 10, 10)).src)
    assert all(f">{name}</text>" in svg for name in BUTTONS)
    lamps, hidden = svg_rects(svg, BUTTON_OFF), svg_rects(svg, (200, 200, 200))
    assert len(lamps) == len(BUTTONS) and len(hidden) >= 1
    for fill, rects in ((BUTTON_OFF, lamps), ((200, 200, 200), hidden)):
        for x, y, w, h in rects:
            assert tuple(png[int(y + h / 2), int(x + w / 2)]) == fill
    assert len(np.unique(png.reshape(-1, 3), axis=0)) > 10


def test_an_encoded_network_draws_its_inputs_on_the_cells_they_read(small_level):
    """A NEAT agent reading a box of the grid in solid and hazard planes: each input node sits
    on the grid cell it reads (both planes of a cell on the same spot, nothing outside the
    box), and the overlay draws it with the whole grid, the enemy cell in the enemy colour."""
    enc = InputEncoding(box=(1, 6, 4, 3), planes="split")
    agent = neat_agent(encoding=enc)
    geo = network_geometry(agent.network, (0, 0, 400, 260), label_width=50, **input_layout(agent))
    n = enc.num_inputs // 2
    assert geo.grid_size == 13 and np.array_equal(geo.positions[:n], geo.positions[n : 2 * n])
    col = (geo.positions[:n, 0] - geo.grid_origin[0]) // geo.cell
    row = (geo.positions[:n, 1] - geo.grid_origin[1]) // geo.cell
    assert (col.min(), col.max(), row.min(), row.max()) == (5, 12, 2, 9)
    game, obs = frame_with_enemy(small_level)
    agent.act(obs[None])
    overlay = Overlay()
    frame = game.draw(3)
    overlay.draw(frame, obs, np.zeros(6, dtype=np.uint8), agent, "neat:box")
    assert color_at(frame, overlay.cell_rects[(6, 8)]) == ENEMY_COLOR
    with pytest.raises(ValueError, match="do not fit the cells of a 5 x 5 grid"):
        network_geometry(agent.network, (0, 0, 400, 260), input_cells=enc.cells, grid_size=5)
