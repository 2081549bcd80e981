"""Demo files from elsewhere are loaded within bounds: every array's header is checked against
the bytes the archive holds before anything is allocated, the metadata's settings are type- and
range-checked, and special, deep or oversized files are one-line DemoErrors."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from agent.files import MAX_JSON_DEPTH
from agent.rnn import demos as demos_module
from agent.rnn.demos import DemoError, Demos, load_demos, save_demos


def _saved(path: Path, **meta) -> Path:
    rng = np.random.default_rng(0)
    eps = [("lvl", rng.integers(-1, 2, (6, 5, 5)), rng.integers(0, 2, (6, 6)))]
    return save_demos(path, Demos.from_episodes(eps, {"source": "test", "frame_skip": 5, **meta}))


def _refused(path: Path, match: str) -> str:
    with pytest.raises(DemoError, match=match) as info:
        load_demos(path)
    msg = str(info.value)
    assert str(path) in msg and "\n" not in msg, msg
    return msg


def _replace_member(path: Path, name: str, data: bytes) -> None:
    """Rewrite the archive with member ``name`` holding ``data`` (the rest kept)."""
    with zipfile.ZipFile(path) as z:
        members = {i.filename: z.read(i) for i in z.infolist()}
    members[name] = data
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for member, content in members.items():
            z.writestr(member, content)


def _npy(header: dict, payload: bytes) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + payload


def test_a_header_claiming_a_huge_shape_is_refused_unread(tmp_path):
    """An obs array whose header claims shape (10^10, 13, 13) (1.7 TB; numpy would allocate it
    before reading) over a few bytes of data is a one-line DemoError naming the array, the shape
    and the bytes actually held; so is a header claiming fewer bytes than it holds."""
    path = _saved(tmp_path / "d.npz")
    huge = {"descr": "|i1", "fortran_order": False, "shape": (10**10, 13, 13)}
    _replace_member(path, "obs.npy", _npy(huge, bytes(169)))
    msg = _refused(path, r"obs's header claims shape \(10000000000, 13, 13\)")
    assert "the file holds 169 bytes" in msg
    small = {"descr": "|i1", "fortran_order": False, "shape": (1, 5, 5)}
    _replace_member(path, "obs.npy", _npy(small, bytes(6 * 25)))
    _refused(path, "claims shape")


def test_object_arrays_and_archive_bombs_are_refused(tmp_path, monkeypatch):
    """An array of Python objects (it would need unpickling) is refused; so are arrays whose
    uncompressed size passes ``MAX_DEMO_ARRAY_BYTES`` (a small file that inflates to gigabytes),
    and a file larger than ``MAX_DEMO_FILE_BYTES``."""
    path = _saved(tmp_path / "d.npz")
    objects = {"descr": "|O", "fortran_order": False, "shape": (1,)}
    _replace_member(path, "level_names.npy", _npy(objects, bytes(8)))
    _refused(path, "Python objects")
    path = _saved(tmp_path / "e.npz")
    monkeypatch.setattr(demos_module, "MAX_DEMO_ARRAY_BYTES", 200)
    _refused(path, "more than 200 bytes uncompressed")
    monkeypatch.setattr(demos_module, "MAX_DEMO_FILE_BYTES", 100)
    _refused(path, "more than a demo file may hold")


@pytest.mark.parametrize(
    ("meta", "match"),
    [
        ({"frame_skip": 0}, "metadata frame_skip must be from 1 to"),
        ({"frame_skip": "5"}, "metadata frame_skip must be an integer"),
        ({"frame_skip": 10**12}, "metadata frame_skip must be from 1 to"),
        ({"frame_skip": None}, "metadata frame_skip must be an integer"),
    ],
)
def test_metadata_settings_are_checked(tmp_path, meta, match):
    """A demo's ``frame_skip`` of the wrong type or out of range is a DemoError naming the file
    and the field (not a ValueError from ``int()`` nor a zero frame skip played later)."""
    path = _saved(tmp_path / "d.npz")
    with zipfile.ZipFile(path) as z:
        text = str(np.load(io.BytesIO(z.read("metadata.npy"))))
    _replace_member(path, "metadata.npy", _npy_of({**json.loads(text), **meta}))
    _refused(path, match)


def _npy_of(meta: dict) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(json.dumps(meta)))
    return buffer.getvalue()


def test_deep_or_nonfinite_metadata_and_special_files(tmp_path):
    """Metadata JSON nested deeper than ``MAX_JSON_DEPTH`` or holding NaN is refused, and a demo
    path that is a FIFO (no hang) or a link to /dev/zero is refused without being read."""
    path = _saved(tmp_path / "d.npz")
    deep = '{"format": "mario-neat-lab/demos", "version": 1, "x": ' + "[" * 5000 + "]" * 5000
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(deep + "}"))
    _replace_member(path, "metadata.npy", buffer.getvalue())
    _refused(path, f"nested more than {MAX_JSON_DEPTH}")
    buffer = io.BytesIO()
    np.save(buffer, np.asarray('{"format": "mario-neat-lab/demos", "version": NaN}'))
    _replace_member(path, "metadata.npy", buffer.getvalue())
    _refused(path, "NaN is not allowed")
    fifo = tmp_path / "fifo.npz"
    os.mkfifo(fifo)
    _refused(fifo, "a FIFO")
    zero = tmp_path / "zero.npz"
    zero.symlink_to("/dev/zero")
    _refused(zero, "character device")
