"""Comparison plots (``viz.plots``): PNGs that image readers open, at a readable size, with
something drawn; and the trainers' metrics keys mapped to one curve shape."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest

from viz.plots import completion_bars, curve_series, learning_curves

NEAT = [
    {"frames_simulated": 1000 * g, "wall_seconds": 0.1 * g, "best_completed": g // 2,
     "levels": 2, "champion_fitness": 100.0 * g}
    for g in range(1, 6)
]  # fmt: skip
PPO = [
    {"frames": 640 * u, "wall_seconds": 0.5 * u, "completion_rate": None if u == 2 else u / 10,
     "episode_return": 2.0 * u}
    for u in range(1, 6)
]  # fmt: skip
BC = [
    {"env_frames": 300 * k, "wall_seconds": 0.3 * k, "eval_completion_rate": 0.5,
     "eval_progress": 0.1 * k}
    for k in range(1, 4)
]  # fmt: skip


def _read_png(path) -> np.ndarray:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = iio.imread(path)
    assert image.ndim == 3 and image.shape[2] in (3, 4)
    return image


def test_curve_series_maps_each_trainers_keys():
    """NEAT: frames_simulated / best_completed over levels / champion fitness; PPO: frames /
    completion_rate / episode return; BC: env_frames / eval completion / eval progress."""
    neat = curve_series("neat", NEAT)
    assert neat.frames[:2] == [1000.0, 2000.0] and neat.completion[:3] == [0.0, 0.5, 0.5]
    assert neat.score[-1] == 500.0 and neat.trainer == "neat"
    ppo = curve_series("ppo-lstm", PPO)
    assert ppo.completion[1] is None and ppo.score[0] == 2.0 and ppo.wall[0] == 0.5
    bc = curve_series("bc-gru", BC)
    assert bc.frames == [300.0, 600.0, 900.0] and bc.score[2] == pytest.approx(0.3)
    assert curve_series("mystery", BC).trainer == "bc"  # recognised by its keys


def test_learning_curves_and_bars_are_readable_pngs(tmp_path):
    """Both plots are valid PNGs of at least 500 x 300 pixels with many colours (lines and
    bars drawn, not a blank canvas), and no temporary file is left beside them."""
    curves = tmp_path / "curves.png"
    learning_curves([("n0", "neat", NEAT), ("p0", "ppo-lstm", PPO), ("b0", "bc-lstm", BC)], curves)
    bars = tmp_path / "bars.png"
    rates = {"solver": {"a": 1.0, "b": 1.0}, "neat": {"a": 0.5}, "ppo-lstm": {"b": 0.25}}
    completion_bars(rates, ["a", "b"], "test", bars)
    for path in (curves, bars):
        image = _read_png(path)
        assert image.shape[0] >= 300 and image.shape[1] >= 500
        assert len(np.unique(image.reshape(-1, image.shape[2]), axis=0)) > 20
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bars.png", "curves.png"]


def test_nothing_to_draw_is_an_error_and_writes_no_file(tmp_path):
    """No run with metrics, or no kinds, raise ValueError and leave no file."""
    with pytest.raises(ValueError, match="no run has metrics"):
        learning_curves([("x", "neat", [])], tmp_path / "c.png")
    with pytest.raises(ValueError, match="nothing to draw"):
        completion_bars({}, ["a"], "t", tmp_path / "b.png")
    assert list(tmp_path.iterdir()) == []
