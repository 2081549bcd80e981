"""The comparison reads only shared metrics keys that hold what they mean: NaN, Infinity,
1e400, strings or lists where a count, seconds or a share belong are one-line errors naming the
file, the line and the key (not an OverflowError or TypeError later), while NaN in a key of the
trainer's own (a loss, explained variance) is kept as written."""

from __future__ import annotations

import math
import os

import pytest

from agent.runs import TrainError
from agent.study.metrics import read_run_metrics
from tests.helpers.runs import shared_metrics_line, write_metrics

GOOD = shared_metrics_line("ppo", 1, 640, 0.5, episodes=2, completion_rate=0.5)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('"frames": Infinity', "frames must be an integer, got float inf"),
        ('"frames": NaN', "frames must be an integer, got float nan"),
        ('"frames": 1e400', "frames must be an integer, got float inf"),
        ('"frames": "640"', "frames must be an integer, got str '640'"),
        ('"frames": -5', "frames must be at least 0"),
        ('"iteration": [1]', "iteration must be an integer"),
        ('"wall_seconds": "x"', "wall_seconds must be a number"),
        ('"wall_seconds": Infinity', "wall_seconds must be a finite number"),
        ('"completion_rate": NaN', "completion_rate must be a finite number"),
        ('"completion_rate": 1.5', "completion_rate must be from 0 to 1"),
        ('"first_completion_frames": true', "first_completion_frames must be an integer"),
        ('"trainer": 3', "trainer must be a string"),
    ],
)
def test_bad_shared_values_are_named(tmp_path, text, match):
    """A second line whose shared key holds a non-finite or mistyped value is a TrainError of
    one line: ``metrics.jsonl: line 2: KEY must be ...``."""
    key = text.split(":")[0].strip('"')
    write_metrics(tmp_path, [GOOD, GOOD])
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    start = lines[1].index(f'"{key}": ')
    end = lines[1].find(", ", start)
    lines[1] = lines[1][:start] + text + (lines[1][end:] if end >= 0 else "}")
    (tmp_path / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(TrainError, match=f"metrics.jsonl: line 2: {match}") as info:
        read_run_metrics(tmp_path)
    assert "\n" not in str(info.value)


def test_old_lines_are_checked_through_their_mapping(tmp_path):
    """A line written before the shared keys is checked as what it maps onto: an old NEAT
    line with ``frames_simulated: Infinity`` is refused as ``frames``."""
    (tmp_path / "metrics.jsonl").write_text('{"generation": 1, "frames_simulated": Infinity}\n')
    with pytest.raises(TrainError, match="line 1: frames must be an integer"):
        read_run_metrics(tmp_path, hint="neat")


def test_nan_in_a_trainer_key_is_kept(tmp_path):
    """NaN where a trainer writes it (explained variance of a constant return) is no error."""
    write_metrics(tmp_path, [{**GOOD, "explained_variance": float("nan")}])
    (line,) = read_run_metrics(tmp_path)
    assert math.isnan(line["explained_variance"]) and line["frames"] == 640


def test_deep_special_or_oversized_metrics_files(tmp_path, monkeypatch):
    """A metrics line nested thousands deep, a metrics.jsonl that is a FIFO (no hang) and one
    over ``MAX_METRICS_BYTES`` are one-line TrainErrors naming the file."""
    from agent import runs

    (tmp_path / "metrics.jsonl").write_text('{"x": ' + "[" * 5000 + "]" * 5000 + "}\n")
    with pytest.raises(TrainError, match="line 1: JSON nested more than"):
        read_run_metrics(tmp_path)
    (tmp_path / "metrics.jsonl").unlink()
    os.mkfifo(tmp_path / "metrics.jsonl")
    with pytest.raises(TrainError, match="a FIFO"):
        read_run_metrics(tmp_path)
    (tmp_path / "metrics.jsonl").unlink()
    write_metrics(tmp_path, [GOOD])
    monkeypatch.setattr(runs, "MAX_METRICS_BYTES", 10)
    with pytest.raises(TrainError, match="more than a metrics file may hold"):
        read_run_metrics(tmp_path)
