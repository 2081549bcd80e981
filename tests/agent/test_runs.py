"""The run-directory layer (``agent.runs.RunDir``) under kills, early stops and foreign files:
temporary files of killed writes are cleared, a directory a run left before its first
checkpoint can be used again, and nothing else of a run is ever replaced by a fresh one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from agent.runs import RunDir, TrainError
from tests.helpers.cli import ROOT

KILLED_WRITE = """
import os, signal, sys
from agent.files import atomic_write_with

def write(f):
    f.write(b"half a checkpoint")
    f.flush()
    os.kill(os.getpid(), signal.SIGKILL)

atomic_write_with(sys.argv[1], write)
"""


def killed_write(path: Path) -> Path:
    """Kill (SIGKILL) a process in the middle of ``atomic_write_with(path)``; return the
    temporary file it left behind."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", KILLED_WRITE, str(path)], env=env, timeout=60)
    assert proc.returncode == -signal.SIGKILL
    (tmp,) = [p for p in path.parent.iterdir() if p.name.startswith(f".{path.name}.")]
    return tmp


def test_open_clears_the_temporary_files_of_killed_writes_only(tmp_path):
    """A SIGKILL during an atomic write leaves ``.NAME.HEX.tmp``; opening the run directory
    removes exactly such files, and none that merely look alike (the user's own)."""
    tmp = killed_write(tmp_path / "checkpoint-latest.pkl")
    assert tmp.read_bytes() == b"half a checkpoint"
    assert not (tmp_path / "checkpoint-latest.pkl").exists()  # the target was never replaced
    kept = [".notes.tmp", "draft.tmp", ".x.0123.tmp", ".a.0123456789abcdeg.tmp", "a.tmp.txt"]
    for name in kept:
        (tmp_path / name).write_text("mine")
    (tmp_path / ".d.0123456789abcdef.tmp").mkdir()  # a directory is not a temporary file
    RunDir(tmp_path).open()
    assert not tmp.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*kept, ".d.0123456789abcdef.tmp"])


def test_a_fresh_run_refuses_only_a_directory_with_training_progress(tmp_path):
    """``RunDir.fresh`` refuses a directory holding one of the given progress files (a
    checkpoint, a trained agent) or metrics lines, and a path that is a file; what a run left
    before its first checkpoint (settings, an empty ``metrics.jsonl``, event files) is no run."""
    left = tmp_path / "left"
    left.mkdir()
    for name in ("run.json", "config.ini", "metrics.jsonl", "events.out.tfevents.1.host"):
        (left / name).write_text("")
    assert RunDir.fresh(left, ("checkpoint-latest.pkl", "champion.json")).path == left
    assert RunDir.fresh(tmp_path / "new", ("checkpoint-latest.pkl",)).path == tmp_path / "new"
    for name, text in (("checkpoint-latest.pkl", "x"), ("champion.json", "{}")):
        run = tmp_path / name
        run.mkdir()
        (run / name).write_text(text)
        with pytest.raises(TrainError, match=f"already holds a training run \\({name}\\)"):
            RunDir.fresh(run, ("checkpoint-latest.pkl", "champion.json"))
    (left / "metrics.jsonl").write_text('{"iteration": 1}\n')
    with pytest.raises(TrainError, match=r"already holds a training run \(metrics.jsonl\)"):
        RunDir.fresh(left, ("checkpoint-latest.pkl",))
    (tmp_path / "file").write_text("")
    with pytest.raises(TrainError, match="not a directory"):
        RunDir.fresh(tmp_path / "file", ("checkpoint-latest.pkl",))


def test_resuming_a_run_without_a_checkpoint_says_how_to_start_it_again(tmp_path):
    """``RunDir.resume`` of a directory without the checkpoint: one line that says the run
    stopped before its first checkpoint and that ``--out DIR`` starts it again."""
    with pytest.raises(TrainError) as info:
        RunDir.resume(tmp_path, "checkpoint-latest.pkl")
    message = str(info.value)
    assert "nothing to resume" in message and f"--out {tmp_path}" in message
    assert "\n" not in message
