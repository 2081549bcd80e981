"""The entry points from the tests: end to end in a subprocess (``run_cli``, ``run_script``,
``run_play``), and argument errors in-process (``error_line``)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_script(script: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python SCRIPT ARGS`` in the repository root (headless pygame), output captured."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
    return subprocess.run(
        [sys.executable, script, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """``python train.py ARGS``."""
    return run_script("train.py", *args, timeout=120)


def run_play(*args: str) -> subprocess.CompletedProcess:
    """``python play.py ARGS``."""
    return run_script("play.py", *args, timeout=120)


def error_line(capsys, main: Callable[[Sequence[str]], int], *args: str) -> str:
    """Run an entry point's ``main(args)`` in-process: it must return 2 with exactly one line on
    stderr (``PROG: error: ...``, no traceback), which is returned."""
    code = main(list(args))
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert ": error: " in lines[0], lines[0]
    return lines[0]


def make_read_only(monkeypatch, directory: Path) -> None:
    """Make ``directory`` refuse new files, as a read-only folder does: its mode drops to
    r-x, and (since root ignores modes) creating a file in it by ``os.open`` fails with
    EACCES as the kernel would for anyone else."""
    import errno

    directory.chmod(0o555)
    monkeypatch.setattr(os, "open", _refusing(os.open, directory.resolve(), errno.EACCES))


def make_full(monkeypatch, directory: Path) -> None:
    """Make creating a file in ``directory`` by ``os.open`` fail with ENOSPC, as on a full
    disk."""
    import errno

    monkeypatch.setattr(os, "open", _refusing(os.open, directory.resolve(), errno.ENOSPC))


def _refusing(real_open, directory: Path, code: int):
    def refusing_open(path, flags, *args, **kwargs):
        if flags & os.O_CREAT and Path(path).resolve().parent == directory:
            raise OSError(code, os.strerror(code), str(path))
        return real_open(path, flags, *args, **kwargs)

    return refusing_open
