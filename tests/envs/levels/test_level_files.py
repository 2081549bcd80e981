"""Level files are read within bounds: a FIFO (which would block the reader) or a link to a
device is refused by name without being read, and so is a file over ``MAX_LEVEL_BYTES``."""

from __future__ import annotations

import os

import pytest

from envs.levels import level as level_module
from envs.levels.level import LevelError, load_level


def test_special_files_are_refused_unread(tmp_path):
    """A level path that is a FIFO or a link to /dev/zero is a one-line LevelError (no hang)."""
    fifo = tmp_path / "fifo.txt"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.txt"
    zero.symlink_to("/dev/zero")
    for path in (fifo, zero):
        with pytest.raises(LevelError, match="not a regular file") as info:
            load_level(path)
        assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_an_oversized_level_file_is_refused_by_its_size(tmp_path, monkeypatch):
    """A file larger than ``MAX_LEVEL_BYTES`` is refused before it is read."""
    path = tmp_path / "big.txt"
    path.write_text("; name: big\n" + ("." * 40 + "\n") * 7 + "S" + "X" * 39 + "\n")
    monkeypatch.setattr(level_module, "MAX_LEVEL_BYTES", 100)
    with pytest.raises(LevelError, match="more than a level file may hold"):
        load_level(path)
