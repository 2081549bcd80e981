"""Atomic file writes: a reader (or a crash) never sees a half-written file.

Every saver in the trainer (champion, checkpoints, metrics rewrites, the run's config copy) goes
through these helpers: the data is written to a temporary file in the target's directory,
flushed and fsynced, then renamed over the target with ``os.replace``, which is atomic on POSIX
and Windows. If anything fails before the rename, the temporary file is removed and the previous
file, if any, is left exactly as it was.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_write_bytes", "atomic_write_text", "atomic_write_with"]


def atomic_write_with(path: str | Path, write: Callable[[BinaryIO], object]) -> None:
    """Replace ``path`` atomically with what ``write(file)`` writes to a binary file object.

    ``write`` may stream (``pickle.dump``, several ``file.write`` calls, seeks); if it raises,
    the exception propagates, the temporary file is deleted and ``path`` is untouched.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes the file private (0600); give it the mode a plain open() would
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Replace ``path`` atomically with ``data``."""
    atomic_write_with(path, lambda f: f.write(data))


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> None:
    """Replace ``path`` atomically with ``text`` (newlines written as given)."""
    atomic_write_bytes(path, text.encode(encoding))


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable where the platform allows it (not on Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
