"""``train.py lstm`` end to end in subprocesses, and the LSTM run played through play.py."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(script: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), SDL_VIDEODRIVER="dummy")
    return subprocess.run(
        [sys.executable, script, *args], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=240,
    )  # fmt: skip


def tiny_bc_config(tmp_path: Path) -> Path:
    data = json.loads((ROOT / "configs" / "bc.json").read_text())
    data["model"].update(hidden=16, encoder=16)
    data["bc"].update(updates=5, dagger_iters=0, eval_every=5, batch_windows=2, window=8)
    path = tmp_path / "bc.json"
    path.write_text(json.dumps(data))
    return path


@pytest.fixture(scope="module")
def ppo_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("lstm") / "ppo"
    proc = run("train.py", "lstm", "--algo", "ppo", "--cell", "gru", "--frames", "10240",
               "--out", str(out), "--quiet", "--device", "cpu")  # fmt: skip
    return out, proc


def test_ppo_run_writes_model_and_metrics(ppo_run):
    """A one-update PPO run exits 0 and leaves model.pt, model.json (cell gru), metrics.jsonl."""
    out, proc = ppo_run
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "model.json").read_text())["config"]["cell"] == "gru"
    assert (out / "model.pt").is_file()
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert lines and "frames" in json.loads(lines[-1])
    assert f"python play.py {out}" in proc.stdout


def test_play_watches_an_lstm_run(ppo_run):
    """play.py takes the PPO run directory as an agent and plays it headless."""
    out, _ = ppo_run
    proc = run("play.py", str(out), "--level", "1-1", "--max-frames", "30", "--fps", "0")
    assert proc.returncode == 0, proc.stderr


def test_bc_run_from_a_recorded_human_demo(tmp_path):
    """A demo recorded with play.py --record-demo trains a BC model through train.py lstm."""
    demo = tmp_path / "me.npz"
    rec = run("play.py", "--human", "--record-demo", str(demo), "--max-frames", "40", "--fps", "0")
    assert rec.returncode == 0, rec.stderr
    assert "saved 8 steps" in rec.stdout
    out = tmp_path / "bc"
    config = tiny_bc_config(tmp_path)
    proc = run("train.py", "lstm", "--algo", "bc", "--demos", str(demo), "--config", str(config),
               "--out", str(out), "--quiet", "--device", "cpu")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (out / "model.pt").is_file()
    again = run("train.py", "lstm", "--algo", "bc", "--resume", str(out), "--dagger-iters", "1",
                "--quiet", "--device", "cpu")  # fmt: skip
    assert again.returncode == 0, again.stderr
    rounds = [json.loads(x)["round"] for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert rounds[-1] == 1 and rounds[0] == 0  # the resumed run added a DAgger round


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--algo", "ppo", "--device", "tpu"], "device"),
        (["--algo", "bc", "--demos", "missing.npz"], "missing.npz"),
        (["--algo", "ppo", "--level", "nope"], "unknown level 'nope'"),
        (["--algo", "bc", "--resume", "runs/x"], "resume name different directories"),
        (["--algo", "ppo", "--frames", "0"], "--frames must be positive"),
    ],
)
def test_bad_lstm_inputs_are_one_line_exit_2(tmp_path, args, message):
    """Bad devices, demo files, levels and options: exit 2, one line, no traceback."""
    proc = run("train.py", "lstm", *args, "--out", str(tmp_path / "o"), "--quiet")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_resume_a_non_default_ppo_run_from_the_cli(tmp_path):
    """A PPO run started with a non-default cell, seed and level resumes with --resume alone."""
    out = tmp_path / "gru"
    first = run("train.py", "lstm", "--cell", "gru", "--seed", "3", "--level", "1-2",
                "--frames", "10240", "--out", str(out), "--quiet", "--device", "cpu")  # fmt: skip
    assert first.returncode == 0, first.stderr
    (out / "checkpoint-latest.pt").exists() or pytest.fail("no checkpoint after the first run")
    more = run("train.py", "lstm", "--resume", str(out), "--frames", "20480", "--quiet")
    assert more.returncode == 0, more.stderr
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert json.loads(lines[-1])["frames"] >= 20480
