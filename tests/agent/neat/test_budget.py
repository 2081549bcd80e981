"""The NEAT trainer's frame budget (``TrainSettings.max_frames``), used by ``compare.py --train``
to give NEAT and PPO the same number of environment frames."""

from __future__ import annotations

import pytest

from agent.neat.trainer import TrainError, train
from tests.helpers.neat import read_metrics, settings_for


@pytest.mark.slow
def test_training_stops_at_the_generation_that_crosses_the_frame_budget(tmp_path):
    """With ``max_frames`` the run ends after the first generation whose cumulative simulated
    frames reach the budget: every earlier generation is under it, the last one at or over it,
    and the run stops well before its generation limit."""
    free = train(settings_for(tmp_path, "free", generations=4), progress=False)
    per_gen = [m["frames"] for m in free.metrics]
    budget = per_gen[1] + 1  # more than two generations' frames, less than three
    assert budget <= per_gen[2]
    result = train(
        settings_for(tmp_path, "budget", generations=50, max_frames=budget), progress=False
    )
    metrics = read_metrics(tmp_path / "budget")
    assert result.generations == len(metrics) == 3
    assert all(m["frames"] < budget for m in metrics[:-1])
    assert metrics[-1]["frames"] >= budget
    assert result.frames_simulated == metrics[-1]["frames"]


def test_a_bad_frame_budget_is_refused_before_any_write(tmp_path):
    """``max_frames`` below 1 is a one-line ``TrainError`` and creates no run directory."""
    with pytest.raises(TrainError, match="max_frames must be at least 1"):
        train(settings_for(tmp_path, "bad", max_frames=0), progress=False)
    assert not (tmp_path / "bad").exists()
