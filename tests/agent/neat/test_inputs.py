"""Input encodings (agent.neat.inputs): which grid cells a NEAT network reads and how, checked
on known grids; saved with a run's fitness settings and read back from a champion file."""

from __future__ import annotations

import numpy as np
import pytest

from agent.neat.fitness import FitnessSettings
from agent.neat.inputs import InputEncoding, parse_box


def test_the_default_encoding_is_the_grid_itself():
    """Without a box (or with the box of the whole grid) and with mixed planes the inputs are
    the flat grid, unchanged, and the settings' files do not mention the encoding (older files
    stay as they were)."""
    enc = InputEncoding()
    assert enc.identity and enc.num_inputs == 169
    grid = np.random.default_rng(0).integers(-1, 2, (3, 13, 13)).astype(np.float32)
    assert np.array_equal(enc.encode(grid), grid.reshape(3, -1))
    d = FitnessSettings().to_dict()
    assert "view_box" not in d and "view_planes" not in d
    assert FitnessSettings(view_box=(6, 6, 6, 6)) == FitnessSettings()  # the whole grid's box


def test_a_box_ahead_reads_the_cells_around_the_player_in_row_major_order():
    """Box (behind 1, ahead 2, above 1, below 0) of a radius-2 grid: the 2 x 4 cells from one
    column behind the player's (centre) cell to two ahead, the row above and the player's row."""
    enc = InputEncoding(radius=2, box=(1, 2, 1, 0))
    grid = np.arange(25, dtype=np.float64).reshape(1, 5, 5)  # value = flat index
    assert enc.box_shape == (2, 4)
    assert enc.encode(grid).tolist() == [[6, 7, 8, 9, 11, 12, 13, 14]]
    assert enc.cells.tolist() == [6, 7, 8, 9, 11, 12, 13, 14]


def test_split_planes_give_a_solid_plane_then_a_hazard_plane():
    """``split``: per box cell first 1 where solid (grid 1), then 1 where an enemy or spikes
    are (grid -1); empty cells are 0 in both."""
    enc = InputEncoding(radius=1, box=(0, 1, 0, 0), planes="split")  # the player's cell, ahead
    grid = np.zeros((3, 3, 3), dtype=np.float32)
    grid[0, 1, 2] = 1.0  # a wall ahead
    grid[1, 1, 2] = -1.0  # an enemy ahead
    grid[2, 1, 1] = -1.0  # on spikes
    assert enc.num_inputs == 4
    assert enc.encode(grid).tolist() == [[0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]]


def test_the_encoding_round_trips_through_a_champions_settings_and_is_checked():
    """The box and planes survive ``to_dict`` -> JSON -> ``from_env_settings`` (a JSON list back
    to a tuple, equal settings); a box outside the grid, a bad plane name, a malformed box or
    a grid of the wrong size is a one-line ValueError."""
    s = FitnessSettings(view_box=(1, 6, 4, 3), view_planes="split")
    d = s.to_dict()
    assert d["view_box"] == [1, 6, 4, 3] and d["view_planes"] == "split"
    back = FitnessSettings.from_env_settings(d)
    assert back == s and back.view_box == (1, 6, 4, 3) and back.num_inputs == 128
    with pytest.raises(ValueError, match="view_box ahead must be from 0 to 6"):
        FitnessSettings(view_box=(1, 7, 4, 3))
    with pytest.raises(ValueError, match="view_planes must be one of mixed, split"):
        FitnessSettings(view_planes="rgb")
    with pytest.raises(ValueError, match="4 whole numbers"):
        FitnessSettings(view_box=[1, 2])
    with pytest.raises(ValueError, match="13 x 13"):
        s.encoding.encode(np.zeros((1, 5, 5)))
    assert parse_box(" 1, 6,4,3") == (1, 6, 4, 3)
    for bad in ("1,6,4", "1,6,4,x", "1,-6,4,3"):
        with pytest.raises(ValueError, match="BEHIND,AHEAD,ABOVE,BELOW"):
            parse_box(bad)
