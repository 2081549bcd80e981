"""Atomic file writes and bounded file reads: a reader (or a crash) never sees a half-written
file, and a file never makes its reader hang or exhaust memory.

Every saver (champions, models, checkpoints, metrics rewrites, run settings) goes through these
helpers: the data is written to a temporary file in the target's directory, flushed and
fsynced, then renamed over the target with ``os.replace``, which is atomic on POSIX and Windows.
If anything fails before the rename, the temporary file is removed and the previous file, if
any, is left exactly as it was. A process killed mid-write can leave its temporary file behind
(``.NAME.XXXXXXXX.tmp``); ``remove_stale_temps`` clears those from a run directory.

Every loader of a file that may come from elsewhere (champions, models, demos, settings,
metrics) reads it through ``read_bounded`` or ``open_regular``: only a regular file (not a
FIFO, which would block the reader, nor a device such as ``/dev/zero``, which never ends; a
symbolic link counts as what it points to) of at most the loader's size limit, else a one-line
``FileRefused``. ``parse_json`` parses JSON text with a bound on nesting (a deeply nested
file is refused, not a ``RecursionError``) and, unless asked, without ``NaN`` or ``Infinity``.
The guarantees of each loader: ``docs/files.md``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

__all__ = [
    "MAX_JSON_DEPTH",
    "FileRefused",
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_write_with",
    "open_regular",
    "parse_json",
    "read_bounded",
    "remove_stale_temps",
]

#: Nesting deeper than this (objects and lists inside each other) is refused by ``parse_json``.
MAX_JSON_DEPTH = 64

_TEMP = re.compile(r"^\..+\.[0-9a-f]{16}\.tmp$")


def atomic_write_with(path: str | Path, write: Callable[[BinaryIO], object]) -> None:
    """Replace ``path`` atomically with what ``write(file)`` writes to a binary file object.

    ``write`` may stream (``pickle.dump``, several ``file.write`` calls, seeks); if it raises,
    the exception propagates, the temporary file is deleted and ``path`` is untouched. An
    ``OSError`` of a write (a full disk: ENOSPC) is given ``path`` as its ``filename``, so its
    one-line message names the file.
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
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.filename is None:  # a write: name the file
            exc.filename = str(path)
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


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


class FileRefused(ValueError):
    """A file a loader will not read (not a regular file, too large); one line naming it."""


def open_regular(path: str | Path, max_bytes: int, what: str = "file") -> BinaryIO:
    """``path`` opened for binary reading if it is a regular file of at most ``max_bytes``;
    ``FileRefused`` otherwise (``what`` names the file's kind in the message). ``OSError`` (a
    missing or unreadable file) propagates.

    The file is opened without blocking (a FIFO with no writer does not hang the reader) and
    checked on the open descriptor, so what is read is what was checked.
    """
    path = Path(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused(f"{path}: not a regular file ({_kind(info.st_mode)}), not a {what}")
        if info.st_size > max_bytes:
            raise FileRefused(
                f"{path}: {info.st_size:,} bytes, more than a {what} may hold ({max_bytes:,})"
            )
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bounded(path: str | Path, max_bytes: int, what: str = "file") -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``max_bytes`` (``open_regular``);
    a file that grows past the limit while it is read is refused too."""
    with open_regular(path, max_bytes, what) as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FileRefused(f"{path}: grew past {max_bytes:,} bytes while it was read")
    return data


def read_json_file(path: str | Path, max_bytes: int, what: str = "file") -> Any:
    """The JSON value in ``path`` (``read_bounded``, then ``parse_json``). ``FileNotFoundError``
    propagates; any other problem is ``FileRefused`` with one line naming the file: not a
    regular file, too large, unreadable (``cannot read``), or not JSON (``not valid JSON``)."""
    try:
        text = read_bounded(path, max_bytes, what).decode("utf-8")
        return parse_json(text)
    except (FileNotFoundError, FileRefused):
        raise
    except OSError as exc:
        raise FileRefused(f"{path}: cannot read ({exc.strerror or exc})") from None
    except ValueError as exc:  # UnicodeDecodeError, JSONDecodeError and parse_json's refusals
        raise FileRefused(f"{path}: not valid JSON ({exc})") from None


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "a special file"


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not allowed (numbers must be finite)")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # 1e400
        raise ValueError(f"{text[:40]} is not allowed (numbers must be finite)")
    return number


def parse_json(text: str, *, allow_nan: bool = False, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads(text)``, refusing nesting deeper than ``max_depth`` and (unless
    ``allow_nan``) ``NaN``, ``Infinity``, ``-Infinity`` and numbers too large for a float. Raises
    ``json.JSONDecodeError`` for text that is not JSON and ``ValueError`` (one line, without a
    file name) for the rest."""
    try:
        value = (
            json.loads(text)
            if allow_nan
            else json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
        )
    except RecursionError:
        raise ValueError(f"JSON nested more than {max_depth} levels deep") from None
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            if level > max_depth:
                raise ValueError(f"JSON nested more than {max_depth} levels deep")
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children if isinstance(child, dict | list))
    return value
