"""``agent.files.read_json_file``: the one bounded JSON reader behind model.json and the
PPO/BC settings files."""

from __future__ import annotations

import os

import pytest

from agent.files import FileRefused, read_json_file


def test_read_json_file_reads_json_and_refuses_everything_else_in_one_line(tmp_path):
    """A small JSON file is read as its value; a missing file raises FileNotFoundError; bad
    JSON, NaN, a file over the cap and a FIFO each raise FileRefused with one line naming the
    file."""
    good = tmp_path / "good.json"
    good.write_text('{"a": [1, 2.5]}')
    assert read_json_file(good, 100) == {"a": [1, 2.5]}
    with pytest.raises(FileNotFoundError):
        read_json_file(tmp_path / "missing.json", 100)
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    cases = {"bad.json": "{not json", "nan.json": '{"a": NaN}', "big.json": " " * 200}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
    for path in [*(tmp_path / name for name in cases), fifo]:
        with pytest.raises(FileRefused) as info:
            read_json_file(path, 100)
        message = str(info.value)
        assert str(path) in message and "\n" not in message
