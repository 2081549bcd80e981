"""Metrics read through the shared keys (``agent.study.metrics``): lines with ``trainer`` as they
are, lines written before the shared keys mapped by the documented table, and bad files named."""

from __future__ import annotations

import pytest

from agent.runs import SHARED_KEYS
from agent.study.metrics import read_run_metrics, run_summary, shared_line
from tests.helpers.runs import shared_metrics_line, write_metrics

OLD_NEAT = {"generation": 4, "frames": 900, "frames_simulated": 4500, "wall_seconds": 2.5,
            "completion_rate": 0.25, "best_completed": 1, "levels": 2}  # fmt: skip
OLD_PPO = {"update": 3, "frames": 1920, "wall_seconds": 1.5, "episodes": 4,
           "completion_rate": 0.5, "progress": 0.6, "max_progress": 1.0,
           "first_completion_frames": 1280, "episode_return": 3.0}  # fmt: skip
OLD_BC = {"round": 1, "update": 20, "env_frames": 800, "wall_seconds": 0.7,
          "eval_completion_rate": 0.0, "eval_progress": 0.3}  # fmt: skip


def test_lines_with_a_trainer_are_used_as_written():
    """A line in the shared keys comes back unchanged (its trainer-specific keys too), whatever
    the hint says."""
    line = shared_metrics_line("bc", 7, 1234, 2.0, completion_rate=0.5, loss=0.1)
    assert shared_line(line, hint="neat") == line


@pytest.mark.parametrize(
    ("old", "hint", "expected"),
    [
        (OLD_NEAT, "neat", {"trainer": "neat", "iteration": 5, "frames": 4500,
                            "wall_seconds": 2.5, "completion_rate": 0.25, "progress": None}),
        (OLD_PPO, "ppo-lstm", {"trainer": "ppo", "iteration": 3, "frames": 1920,
                               "episodes": 4, "completion_rate": 0.5, "progress": 0.6,
                               "max_progress": 1.0, "first_completion_frames": 1280}),
        (OLD_BC, "bc-gru", {"trainer": "bc", "iteration": 20, "frames": 800,
                            "completion_rate": 0.0, "progress": 0.3}),
        (OLD_NEAT, None, {"trainer": "neat", "frames": 4500}),  # told by frames_simulated
        (OLD_BC, "rnn-lstm", {"trainer": "bc", "frames": 800}),  # told by env_frames
    ],
)  # fmt: skip
def test_old_lines_are_mapped_onto_the_shared_keys(old, hint, expected):
    """An old line gets every shared key: the ones it held under its trainer's names (NEAT's
    frames_simulated, generation + 1; BC's env_frames, eval_*; PPO's own), None for the rest;
    its trainer from the run's kind, else from its keys."""
    line = shared_line(old, hint)
    assert set(line) == set(SHARED_KEYS)
    assert {k: line[k] for k in expected} == expected


def test_reading_a_run_and_summing_it_up(tmp_path):
    """read_run_metrics gives the shared view of every line (no file: none); run_summary says
    iterations, frames, seconds, the last completion rate and the first completion."""
    assert read_run_metrics(tmp_path) == [] and run_summary(tmp_path) == "no metrics yet"
    new = shared_metrics_line(
        "ppo", 4, 2560, 2.0, completion_rate=1.0, first_completion_frames=1280
    )
    write_metrics(tmp_path, [OLD_PPO, new])
    lines = read_run_metrics(tmp_path, hint="ppo-lstm")
    assert [(m["iteration"], m["frames"]) for m in lines] == [(3, 1920), (4, 2560)]
    assert run_summary(tmp_path, "ppo") == (
        "4 iterations, 2,560 frames, 2.0 s; last completion 100%; first completion after "
        "1,280 frames"
    )


def test_a_line_that_is_not_json_is_named(tmp_path):
    """A broken metrics file raises a one-line ValueError naming the file and the line."""
    (tmp_path / "metrics.jsonl").write_text('{"frames": 1}\n[1, 2]\n')
    with pytest.raises(ValueError, match=r"metrics.jsonl: line 2 is not a JSON object"):
        read_run_metrics(tmp_path)
