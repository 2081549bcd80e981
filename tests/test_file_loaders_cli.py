"""Bad files through the entry points, in subprocesses with tiny inputs: a setting out of range,
a FIFO or a device where a file belongs, NaN in the metrics, non-finite or mistyped trainer
settings, a diverging run and a full disk each end with exit status 2 and one line on stderr
(``PROG: error: FILE: ...``), never a traceback, a hang or a half-written file."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.champions import make_champion
from tests.helpers.cli import ROOT, run_script
from tests.helpers.rnn import FLAT_ROWS


def one_line_exit_2(proc: subprocess.CompletedProcess, *needles: str) -> str:
    """The process exited 2 with exactly one stderr line holding every needle; returns it."""
    err = proc.stderr
    assert proc.returncode == 2, (proc.returncode, err[-2000:])
    assert "Traceback" not in err, err[-2000:]
    lines = err.strip().splitlines()
    assert len(lines) == 1, err[-2000:]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def _model_dir(path: Path, frame_skip: int) -> Path:
    from agent.rnn.model import ModelConfig, RecurrentPolicy, save_model

    model = RecurrentPolicy(ModelConfig(hidden=8, encoder=8, encoder_type="mlp"))
    save_model(path, model, extra={"trainer": "ppo", "frame_skip": 5, "seed": 0})
    meta = json.loads((path / "model.json").read_text())
    meta["extra"]["frame_skip"] = frame_skip
    (path / "model.json").write_text(json.dumps(meta))
    return path


def _flat_level(tmp_path: Path) -> Path:
    path = tmp_path / "flat.txt"
    path.write_text("; name: flat\n" + "\n".join(FLAT_ROWS) + "\n")
    return path


def _tiny_bc_config(tmp_path: Path, **bc) -> Path:
    data = json.loads((ROOT / "configs" / "bc.json").read_text())
    data["model"].update(hidden=16, encoder=16)
    data["bc"].update(updates=5, dagger_iters=0, eval_every=5, batch_windows=2, window=8, **bc)
    path = tmp_path / "bc.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.slow
def test_a_zero_frame_skip_in_model_json_is_refused_by_play_and_compare(tmp_path):
    """``extra.frame_skip: 0`` in model.json (play.py divided by it, compare.py looped for
    ever): both exit 2 naming model.json and the field, well within the timeout."""
    run = _model_dir(tmp_path / "ppo", 0)
    play = run_script("play.py", str(run), "--headless", "--max-frames", "50", timeout=60)
    one_line_exit_2(play, "model.json", "extra.frame_skip must be from 1 to")
    out = tmp_path / "cmp"
    cmp = run_script("compare.py", str(run), "--out", str(out), "--quiet", timeout=60)
    one_line_exit_2(cmp, "model.json", "extra.frame_skip")


@pytest.mark.slow
def test_a_champion_that_is_a_fifo_or_dev_zero_is_refused_at_once(tmp_path):
    """champion.json as a FIFO (reading it blocked for ever) or as a link to /dev/zero (it never
    ends): play.py and compare.py refuse it by name without reading it."""
    fifo = tmp_path / "fifo" / "champion.json"
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    zero = tmp_path / "zero" / "champion.json"
    zero.parent.mkdir()
    zero.symlink_to("/dev/zero")
    for path, kind in ((fifo, "a FIFO"), (zero, "a character device")):
        play = run_script("play.py", str(path), "--headless", timeout=60)
        one_line_exit_2(play, str(path), kind)
        cmp = run_script("compare.py", str(path.parent), "--out", str(tmp_path / "c"), timeout=60)
        one_line_exit_2(cmp, str(path), kind)


@pytest.mark.slow
def test_nan_in_the_metrics_is_named_by_compare(tmp_path):
    """A metrics.jsonl whose ``frames`` is Infinity (compare.py raised OverflowError) or a
    string (TypeError): exit 2 naming the file, the line and the key."""
    champ = make_champion(tmp_path / "run" / "champion.json")
    for value, what in (("Infinity", "float inf"), ('"100"', "str '100'")):
        (champ.parent / "metrics.jsonl").write_text(
            '{"trainer": "neat", "iteration": 1, "frames": 100}\n'
            f'{{"trainer": "neat", "iteration": 2, "frames": {value}}}\n'
        )
        out = tmp_path / "cmp"
        proc = run_script("compare.py", str(champ.parent), "--out", str(out), "--quiet")
        one_line_exit_2(proc, "metrics.jsonl: line 2: frames must be an integer", what)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("algo", "section", "value", "needle"),
    [
        ("bc", "bc", '{"lr": Infinity}', "Infinity is not allowed"),
        ("ppo", "ppo", '{"target_kl": "x"}', "PPOConfig.target_kl must be a number"),
        ("ppo", "ppo", '{"lr": 1e999}', "1e999 is not allowed"),
    ],
)
def test_nonfinite_or_mistyped_trainer_settings(tmp_path, algo, section, value, needle):
    """A settings file with ``lr: Infinity``, ``target_kl: "x"`` or ``lr: 1e999`` is refused
    before anything is written: exit 2, one line naming the file."""
    config = tmp_path / "s.json"
    config.write_text(f'{{"{section}": {value}}}')
    out = tmp_path / "run"
    proc = run_script("train.py", "rnn", "--algo", algo, "--config", str(config), "--out",
                      str(out), "--quiet", "--device", "cpu", timeout=120)  # fmt: skip
    one_line_exit_2(proc, str(config), needle)
    assert not out.exists()


@pytest.mark.slow
def test_a_diverging_bc_run_exits_2_without_a_nan_model(tmp_path):
    """BC with lr 1e30 used to train a NaN model and exit 0: it now stops at the update that
    blew up (exit 2, one line), and the model.pt it leaves loads (its weights are finite)."""
    config = _tiny_bc_config(tmp_path, lr=1e30)
    out = tmp_path / "bc"
    proc = run_script("train.py", "rnn", "--algo", "bc", "--config", str(config), "--level",
                      str(_flat_level(tmp_path)), "--out", str(out), "--quiet", "--device",
                      "cpu", timeout=180)  # fmt: skip
    one_line_exit_2(proc, "training diverged at update 5", "lower lr")
    from agent.rnn.model import load_model

    load_model(out)  # refuses NaN or infinite weights


def _run_with_file_limit(limit_bytes: int, *args: str) -> subprocess.CompletedProcess:
    """``python ARGS`` where no file may grow past ``limit_bytes`` (RLIMIT_FSIZE): a write
    beyond it fails with EFBIG, as a full disk fails with ENOSPC."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), SDL_VIDEODRIVER="dummy")

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=180, preexec_fn=limit,
    )  # fmt: skip


@pytest.mark.slow
def test_a_full_disk_while_saving_the_model_is_one_line(tmp_path):
    """A BC run whose first torch.save cannot be written (file size limit: torch.save used to
    fail with a multi-line RuntimeError from its zip writer) exits 2 with one line naming the
    file (its starting checkpoint, written before model.pt), and leaves no temporary file and
    no model.pt."""
    out = tmp_path / "bc"
    proc = _run_with_file_limit(
        64 * 1024, "train.py", "rnn", "--algo", "bc", "--config", str(_tiny_bc_config(tmp_path)),
        "--level", str(_flat_level(tmp_path)), "--out", str(out), "--quiet", "--device", "cpu",
    )  # fmt: skip
    one_line_exit_2(proc, "File too large", str(out / "checkpoint-latest.pt"))
    assert not (out / "model.pt").exists()
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.slow
def test_a_full_disk_while_checkpointing_ppo_is_one_line(tmp_path):
    """PPO's first write past run.json is its checkpoint (torch.save of the model, optimizer
    and generators): a file size limit there is exit 2 with one line naming the checkpoint, and
    no temporary file is left."""
    data = json.loads((ROOT / "configs" / "ppo.json").read_text())
    data["model"].update(hidden=16, encoder=16)
    data["ppo"].update(num_envs=2, num_steps=8, minibatches=1, epochs=1)
    config = tmp_path / "ppo.json"
    config.write_text(json.dumps(data))
    out = tmp_path / "ppo"
    proc = _run_with_file_limit(
        64 * 1024, "train.py", "rnn", "--algo", "ppo", "--config", str(config), "--frames",
        "400", "--level", str(_flat_level(tmp_path)), "--out", str(out), "--quiet", "--device",
        "cpu",
    )  # fmt: skip
    one_line_exit_2(proc, "File too large", str(out / "checkpoint-latest.pt"))
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]
