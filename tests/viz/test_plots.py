"""Comparison plots (``viz.plots``): PNGs that image readers open, at a readable size, with
something drawn; curves read from the shared metrics keys (and from old per-trainer lines)."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest

from tests.helpers.runs import shared_metrics_line
from viz.plots import completion_bars, curve_series, draw_comparison, learning_curves

NEAT = [
    shared_metrics_line("neat", g, 1000 * g, 0.1 * g, completion_rate=g / 10, progress=g / 6)
    for g in range(1, 6)
]
PPO = [
    shared_metrics_line(
        "ppo",
        u,
        640 * u,
        0.5 * u,
        completion_rate=None if u == 2 else u / 10,
        progress=0.1 * u,
        episode_return=2.0 * u,
    )  # fmt: skip
    for u in range(1, 6)
]
BC = [shared_metrics_line("bc", k, 300 * k, 0.3 * k, completion_rate=0.5, progress=0.1 * k)
      for k in range(1, 4)]  # fmt: skip
OLD_NEAT = [{"generation": g, "frames_simulated": 1000 * (g + 1), "wall_seconds": 0.1 * (g + 1),
             "completion_rate": 0.0, "champion_fitness": 10.0} for g in range(3)]  # fmt: skip
OLD_BC = [{"update": 5 * k, "env_frames": 300 * k, "wall_seconds": 0.3 * k,
           "eval_completion_rate": 0.5, "eval_progress": 0.1 * k} for k in range(1, 4)]  # fmt: skip


def _read_png(path) -> np.ndarray:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = iio.imread(path)
    assert image.ndim == 3 and image.shape[2] in (3, 4)
    return image


def test_curve_series_reads_the_shared_keys_of_every_trainer():
    """Every trainer's curve is its lines' frames, wall_seconds, completion_rate and progress,
    and its trainer is the lines' ``trainer`` (not the run's kind)."""
    neat = curve_series("neat", NEAT)
    assert neat.frames[:2] == [1000.0, 2000.0] and neat.completion[:2] == [0.1, 0.2]
    assert neat.progress[-1] == pytest.approx(5 / 6) and neat.trainer == "neat"
    ppo = curve_series("ppo-lstm", PPO)
    assert ppo.completion[1] is None and ppo.wall[0] == 0.5 and ppo.trainer == "ppo"
    assert curve_series("mystery", BC).trainer == "bc"
    assert curve_series("neat", BC).trainer == "bc"  # the lines say who wrote them


def test_old_metrics_files_are_read_through_the_documented_fallback():
    """Lines without ``trainer`` (written before the shared keys) are read by the table of
    ``agent.study.metrics``: NEAT's frames_simulated, BC's env_frames and eval_* keys."""
    neat = curve_series("neat", OLD_NEAT)
    assert neat.trainer == "neat" and neat.frames == [1000.0, 2000.0, 3000.0]
    assert neat.completion == [0.0] * 3 and neat.progress == [None] * 3
    bc = curve_series("bc-gru", OLD_BC)
    assert bc.frames == [300.0, 600.0, 900.0] and bc.progress[2] == pytest.approx(0.3)
    assert curve_series("rnn-lstm", OLD_BC).trainer == "bc"  # told by its keys


@pytest.mark.slow
def test_learning_curves_and_bars_are_readable_pngs(tmp_path):
    """Both plots are valid PNGs of at least 500 x 300 pixels with many colours (lines and
    bars drawn, not a blank canvas), and no temporary file is left beside them."""
    curves = tmp_path / "curves.png"
    runs = [("n0", "neat", NEAT), ("p0", "ppo-lstm", PPO), ("b0", "bc-lstm", BC),
            ("old", "neat", OLD_NEAT)]  # fmt: skip
    learning_curves(runs, curves)
    bars = tmp_path / "bars.png"
    rates = {"solver": {"a": 1.0, "b": 1.0}, "neat": {"a": 0.5}, "ppo-lstm": {"b": 0.25}}
    completion_bars(rates, ["a", "b"], "test", bars)
    for path in (curves, bars):
        image = _read_png(path)
        assert image.shape[0] >= 300 and image.shape[1] >= 500
        assert len(np.unique(image.reshape(-1, image.shape[2]), axis=0)) > 20
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bars.png", "curves.png"]


@pytest.mark.slow
def test_draw_comparison_draws_every_plot_of_a_comparison(tmp_path):
    """``draw_comparison`` writes the learning curves (only when there are curves) and one bar
    chart per level set, and returns their names in that order."""
    results = {
        "level_sets": [{"name": "a", "levels": ["1-1", "1-2"]}, {"name": "b", "levels": ["x"]}],
        "episodes": [
            {"level_set": "a", "kind": "neat", "level": "1-1", "completed": True},
            {"level_set": "a", "kind": "neat", "level": "1-2", "completed": False},
            {"level_set": "b", "kind": "solver", "level": "x", "completed": True},
        ],
    }
    names = draw_comparison(results, [("n0", "neat", NEAT)], tmp_path)
    assert names == ["learning_curves.png", "completion_a.png", "completion_b.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)
    assert draw_comparison(results, [], tmp_path) == ["completion_a.png", "completion_b.png"]


def test_nothing_to_draw_is_an_error_and_writes_no_file(tmp_path):
    """No run with metrics, or no kinds, raise ValueError and leave no file."""
    with pytest.raises(ValueError, match="no run has metrics"):
        learning_curves([("x", "neat", [])], tmp_path / "c.png")
    with pytest.raises(ValueError, match="nothing to draw"):
        completion_bars({}, ["a"], "t", tmp_path / "b.png")
    assert list(tmp_path.iterdir()) == []
