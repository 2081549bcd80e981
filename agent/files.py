"""Atomic file writes: a reader (or a crash) never sees a half-written file.

Every saver (champions, models, checkpoints, metrics rewrites, run settings) goes through these
helpers: the data is written to a temporary file in the target's directory, flushed and
fsynced, then renamed over the target with ``os.replace``, which is atomic on POSIX and Windows.
If anything fails before the rename, the temporary file is removed and the previous file, if
any, is left exactly as it was. A process killed mid-write can leave its temporary file behind
(``.NAME.XXXXXXXX.tmp``); ``remove_stale_temps`` clears those from a run directory.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_write_bytes", "atomic_write_text", "atomic_write_with", "remove_stale_temps"]

_TEMP = re.compile(r"^\..+\.[0-9a-f]{16}\.tmp$")


def atomic_write_with(path: str | Path, write: Callable[[BinaryIO], object]) -> None:
    """Replace ``path`` atomically with what ``write(file)`` writes to a binary file object.

    ``write`` may stream (``pickle.dump``, several ``file.write`` calls, seeks); if it raises,
    the exception propagates, the temporary file is deleted and ``path`` is untouched.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    # O_EXCL: never write through someone else's file; mode 0o666 lets the process umask apply,
    # as a plain open() would (without touching the process-wide umask to read it).
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
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


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Replace ``path`` atomically with ``data``."""
    atomic_write_with(path, lambda f: f.write(data))


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> None:
    """Replace ``path`` atomically with ``text`` (newlines written as given)."""
    atomic_write_bytes(path, text.encode(encoding))


def remove_stale_temps(directory: str | Path) -> list[Path]:
    """Delete the temporary files that killed atomic writes left in ``directory``; returns
    them. Call it only where no other process is writing into the directory."""
    removed = []
    directory = Path(directory)
    if not directory.is_dir():
        return removed
    for entry in directory.iterdir():
        if _TEMP.match(entry.name) and entry.is_file():
            with contextlib.suppress(OSError):
                entry.unlink()
                removed.append(entry)
    return removed


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
