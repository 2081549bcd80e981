"""NEAT config files (``--config``) are read within bounds: a FIFO or a device is refused by
name without being read, and so is a file over ``MAX_CONFIG_BYTES``; a missing file is named."""

from __future__ import annotations

import os

import pytest

from agent.neat import config as config_module
from agent.neat.config import ConfigError, read_config_file
from tests.helpers.neat import tiny_config_text


def test_special_missing_and_oversized_config_files(tmp_path, monkeypatch):
    """One-line ConfigErrors: a FIFO (no hang), a link to /dev/zero, a missing file, a file
    over the limit; a good file reads back as its text."""
    fifo = tmp_path / "fifo.ini"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.ini"
    zero.symlink_to("/dev/zero")
    for path, match in (
        (fifo, "a FIFO"),
        (zero, "character device"),
        (tmp_path / "none.ini", "no such config file"),
    ):
        with pytest.raises(ConfigError, match=match) as info:
            read_config_file(path)
        assert str(path) in str(info.value) and "\n" not in str(info.value)
    good = tmp_path / "neat.ini"
    good.write_text(tiny_config_text())
    assert read_config_file(good) == tiny_config_text()
    monkeypatch.setattr(config_module, "MAX_CONFIG_BYTES", 10)
    with pytest.raises(ConfigError, match="more than a NEAT config file may hold"):
        read_config_file(good)
