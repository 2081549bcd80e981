"""model.json + model.pt from elsewhere: every setting type- and range-checked, sizes checked
against the weights before anything is built, only dense finite tensors, no special files, and
a full disk while saving is an OSError that leaves the previous files as they were."""

from __future__ import annotations

import errno
import json
import os
import time
from pathlib import Path

import pytest
import torch

from agent.files import MAX_JSON_DEPTH
from agent.rnn import model as model_module
from agent.rnn.model import ModelConfig, ModelError, RecurrentPolicy, load_model, save_model
from agent.rnn.policy import RecurrentAgent

SMALL = ModelConfig(hidden=8, encoder=8, view_radius=2)


def _saved(path: Path, **extra) -> Path:
    torch.manual_seed(0)
    save_model(path, RecurrentPolicy(SMALL), extra={"trainer": "ppo", "frame_skip": 5, **extra})
    return path


def _edit(path: Path, change) -> None:
    meta = json.loads((path / "model.json").read_text())
    change(meta)
    (path / "model.json").write_text(json.dumps(meta))


def _refused(path: Path, match: str) -> str:
    with pytest.raises(ModelError, match=match) as info:
        load_model(path)
    msg = str(info.value)
    assert "\n" not in msg and str(path) in msg, msg
    return msg


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda m: m["extra"].update(frame_skip=0), "extra.frame_skip must be from 1 to"),
        (lambda m: m["extra"].update(frame_skip=-3), "extra.frame_skip"),
        (lambda m: m["extra"].update(frame_skip=10**9), "extra.frame_skip must be from 1 to"),
        (lambda m: m["extra"].update(frame_skip="5"), "extra.frame_skip must be an integer"),
        (lambda m: m["extra"].update(frame_skip=2.5), "extra.frame_skip must be an integer"),
        (lambda m: m["extra"].update(seed="x"), "extra.seed must be an integer"),
        (lambda m: m["extra"].update(trainer=["ppo"]), "extra.trainer must be a name"),
        (lambda m: m["extra"].update(levels="1-1"), "extra.levels must be a list"),
        (lambda m: m["config"].update(hidden="8"), "hidden must be an integer"),
        (lambda m: m["config"].update(layers=True), "layers must be an integer"),
        (lambda m: m["config"].update(cell=["lstm"]), "unknown cell"),
        (lambda m: m["config"].update(chrono_horizon=-1), "chrono_horizon must be from 0"),
    ],
)
def test_every_setting_is_type_and_range_checked(tmp_path, change, match):
    """A model.json edited into a zero, negative, huge or mistyped setting (``frame_skip: 0``
    made play.py divide by zero and compare.py hang) is a one-line ModelError naming the file
    and the field, at load time."""
    path = _saved(tmp_path / "m")
    _edit(path, change)
    _refused(path, match)


def test_no_agent_with_a_zero_frame_skip(tmp_path):
    """The agent built from a run directory never has a frame skip the episode loop cannot
    divide by: frame_skip 0 is refused when the files are read."""
    path = _saved(tmp_path / "m", frame_skip=0)
    with pytest.raises(ModelError, match="frame_skip"):
        RecurrentAgent.from_dir(path)
    assert RecurrentAgent.from_dir(_saved(tmp_path / "ok", frame_skip=4)).frame_skip == 4


@pytest.mark.parametrize(
    ("sizes", "match"),
    [
        ({"hidden": 3000}, "weight .* has shape"),
        ({"layers": 16, "hidden": 4096}, "do not fit"),
        ({"view_radius": 32}, "has shape"),
        ({"hidden": 10**6}, "hidden must be from 1 to 4096"),
        ({"view_radius": 10**4}, "view_radius must be from 1 to 32"),
    ],
)
def test_sizes_are_checked_against_the_weights_before_building(tmp_path, sizes, match):
    """Sizes in model.json that do not fit model.pt are refused before a policy of those sizes
    is built (the shapes come from the meta device, so nothing is allocated: each refusal takes
    well under a second, where building a 16-layer 4096-wide LSTM takes gigabytes); sizes past
    the bounds are refused as settings."""
    path = _saved(tmp_path / "m")
    _edit(path, lambda m: m["config"].update(sizes))
    t0 = time.perf_counter()
    _refused(path, match)
    assert time.perf_counter() - t0 < 5.0


def _rewrite_weights(path: Path, change) -> None:
    weights = torch.load(path / "model.pt", weights_only=True)
    change(weights)
    torch.save(weights, path / "model.pt")


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda w: w.update({"value_head.bias": w["value_head.bias"].to_sparse()}), "sparse"),
        (lambda w: w["value_head.weight"].fill_(float("nan")), "NaN or infinite"),
        (lambda w: w["value_head.weight"].fill_(float("inf")), "NaN or infinite"),
        (lambda w: w.update({"value_head.bias": torch.zeros(1, dtype=torch.int64)}), "not floats"),
        (lambda w: w.update({"value_head.bias": [1.0]}), "not a state_dict of tensors"),
    ],
)
def test_only_dense_finite_float_weights_load(tmp_path, change, match):
    """A model.pt holding a sparse tensor, NaN or infinite weights, integer tensors or other
    objects is a one-line ModelError (model.pt is read with ``weights_only=True``)."""
    path = _saved(tmp_path / "m")
    _rewrite_weights(path, change)
    _refused(path, match)


def test_pickled_objects_in_model_pt_are_refused(tmp_path):
    """A model.pt that needs unpickling of arbitrary objects (a full pickle) does not run it:
    ``weights_only=True`` refuses it with a one-line ModelError."""
    path = _saved(tmp_path / "m")
    torch.save({"model": RecurrentPolicy(SMALL)}, path / "model.pt")
    _refused(path, "cannot read the weights")


def test_special_deep_and_oversized_files_are_refused(tmp_path, monkeypatch):
    """model.json or model.pt as a FIFO (no hang), a link to /dev/zero, nested deeper than
    ``MAX_JSON_DEPTH``, holding NaN, or larger than the loader's limit: one-line ModelErrors."""
    path = _saved(tmp_path / "m")
    text = (path / "model.json").read_text()
    (path / "model.json").write_text(
        text.replace('"extra": {', '"extra": {"x": ' + "[" * 10_000 + "]" * 10_000 + ",", 1)
    )
    _refused(path, f"nested more than {MAX_JSON_DEPTH}")
    (path / "model.json").write_text(text.replace('"frame_skip": 5', '"frame_skip": NaN'))
    _refused(path, "NaN is not allowed")
    (path / "model.json").unlink()
    os.mkfifo(path / "model.json")
    _refused(path, "a FIFO")
    (path / "model.json").unlink()
    (path / "model.json").write_text(text)
    weights = (path / "model.pt").read_bytes()
    (path / "model.pt").unlink()
    (path / "model.pt").symlink_to("/dev/zero")
    _refused(path, "character device")
    (path / "model.pt").unlink()
    (path / "model.pt").write_bytes(weights)
    monkeypatch.setattr(model_module, "MAX_WEIGHTS_BYTES", len(weights) - 1)
    _refused(path, "more than a model weights file may hold")
    monkeypatch.setattr(model_module, "MAX_MODEL_JSON_BYTES", 10)
    _refused(path, "more than a model.json may hold")


class _FullFile:
    """A file on a full disk: every write raises ENOSPC."""

    def __init__(self, f) -> None:
        self.f = f

    def write(self, data) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name):
        return getattr(self.f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.f.close()


def _full_disk(real_fdopen):
    return lambda fd, *args, **kw: _FullFile(real_fdopen(fd, *args, **kw))


def test_a_full_disk_while_saving_leaves_the_previous_model(tmp_path, monkeypatch):
    """ENOSPC while model.pt is written is an OSError (not torch's multi-line RuntimeError),
    no temporary file is left, and the previous model.pt and model.json are untouched."""
    path = _saved(tmp_path / "m")
    before = {name: (path / name).read_bytes() for name in ("model.pt", "model.json")}
    monkeypatch.setattr(os, "fdopen", _full_disk(os.fdopen))
    torch.manual_seed(1)
    with pytest.raises(OSError) as info:
        save_model(path, RecurrentPolicy(SMALL), extra={"frame_skip": 5})
    monkeypatch.undo()
    assert info.value.errno == errno.ENOSPC
    assert {name: (path / name).read_bytes() for name in before} == before
    assert sorted(p.name for p in path.iterdir()) == ["model.json", "model.pt"]
