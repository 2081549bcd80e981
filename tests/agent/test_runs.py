"""The run-directory layer (``agent.runs.RunDir``) under kills, early stops and foreign files:
temporary files of killed writes are cleared, a directory a run left before its first
checkpoint can be used again, and nothing else of a run is ever replaced by a fresh one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from agent.runs import RunDir
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
