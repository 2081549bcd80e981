"""Prioritised level replay: the scores, the draw weights, and the env drawing by them."""

from __future__ import annotations

import numpy as np
import pytest

from agent.rnn.replay import LevelReplay
from envs.gym.vector import PlatformerVectorEnv


def test_failing_levels_are_drawn_more_and_every_level_keeps_a_chance():
    """Unplayed levels score 1 (uniform draws at first); a level whose episodes finish loses
    weight, one that keeps failing keeps it; the uniform share keeps every weight at least
    (1 - replay) / n, and the weights sum to 1."""
    r = LevelReplay(4, replay=0.5)
    assert np.allclose(r.weights(), 0.25)
    for _ in range(6):
        r.record([0, 1], [False, True])
    w = r.weights()
    assert w.sum() == pytest.approx(1.0)
    assert w[0] < w[2] == pytest.approx(w[3]) and w[2] == pytest.approx(w[1])
    assert w.min() >= 0.5 / 4 - 1e-12
    assert np.allclose(LevelReplay(4, replay=0.0).weights(), 0.25)


def test_scores_round_trip_and_bad_settings_are_refused():
    """``state``/``load`` restore the scores exactly; wrong lengths, non-finite scores and
    out-of-range settings are one-line ValueErrors."""
    r = LevelReplay(3, replay=0.7)
    r.record([2, 2, 1], [True, False, True])
    s = LevelReplay(3, replay=0.7)
    s.load(r.state())
    assert np.array_equal(s.weights(), r.weights())
    with pytest.raises(ValueError, match="expected 3 finite scores"):
        s.load([1.0, 2.0])
    with pytest.raises(ValueError, match="expected 3 finite scores"):
        s.load([1.0, float("nan"), 0.0])
    with pytest.raises(ValueError, match="level_replay must be within"):
        LevelReplay(3, replay=1.5)


def test_env_resets_draw_levels_by_the_weights():
    """With all the weight on one level, every reset of a two-level vector env lands there;
    None restores uniform draws; weights of the wrong length or sum are refused."""
    env = PlatformerVectorEnv(16, ["1-1", "1-2"])
    env.set_level_weights(np.array([0.0, 1.0]))
    _, info = env.reset(seed=0)
    assert set(info["level"]) == {"1-2"}
    env.set_level_weights(None)
    _, info = env.reset(seed=0)
    assert set(info["level"]) == {"1-1", "1-2"}
    with pytest.raises(ValueError, match="expected 2 finite non-negative"):
        env.set_level_weights(np.array([1.0]))
    with pytest.raises(ValueError, match="must sum to 1"):
        env.set_level_weights(np.array([0.2, 0.2]))
