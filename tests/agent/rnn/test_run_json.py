"""``run.json`` of a run to resume is read within bounds: nested thousands deep, NaN, a FIFO
or an oversized file is a one-line TrainError naming it, never a RecursionError or a hang."""

from __future__ import annotations

import os

import pytest

from agent.rnn import runfiles
from agent.rnn.runfiles import read_run_file
from agent.runs import TrainError


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('{"algo": "ppo", "x": ' + "[" * 5000 + "]" * 5000 + "}", "nested more than"),
        ('{"algo": "ppo", "seed": NaN}', "NaN is not allowed"),
    ],
)
def test_deep_or_nonfinite_run_json(tmp_path, text, match):
    """Deep nesting and non-finite numbers in run.json are named errors."""
    (tmp_path / "run.json").write_text(text)
    with pytest.raises(TrainError, match=match) as info:
        read_run_file(tmp_path, "ppo")
    assert "run.json" in str(info.value) and "\n" not in str(info.value)


def test_special_or_oversized_run_json(tmp_path, monkeypatch):
    """run.json as a FIFO is refused at once; one over the size limit by its size."""
    os.mkfifo(tmp_path / "run.json")
    with pytest.raises(TrainError, match="a FIFO"):
        read_run_file(tmp_path, "ppo")
    (tmp_path / "run.json").unlink()
    (tmp_path / "run.json").write_text('{"algo": "ppo"}')
    assert read_run_file(tmp_path, "ppo") == {"algo": "ppo"}
    monkeypatch.setattr(runfiles, "MAX_RUN_FILE_BYTES", 5)
    with pytest.raises(TrainError, match="more than a run.json may hold"):
        read_run_file(tmp_path, "ppo")
