"""``train.py rnn`` end to end in subprocesses (PPO and BC runs, resumed, played through
play.py), and its bad arguments in-process (``train.main``)."""

import json
from pathlib import Path

import pytest

import train
from tests.helpers.cli import ROOT, error_line, run_script


def tiny_bc_config(tmp_path: Path) -> Path:
    """configs/bc.json with a 16-unit model and 5 updates, no DAgger (and short, cheap DAgger
    rounds when a resume asks for one)."""
    data = json.loads((ROOT / "configs" / "bc.json").read_text())
    data["model"].update(hidden=16, encoder=16)
    data["bc"].update(updates=5, dagger_iters=0, eval_every=5, batch_windows=2, window=8,
                      dagger_episodes=1, label_expansions=2000, max_steps=60)  # fmt: skip
    path = tmp_path / "bc.json"
    path.write_text(json.dumps(data))
    return path


def metrics_lines(run: Path) -> list[dict]:
    return [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def ppo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("rnn") / "ppo"
    proc = run_script("train.py", "rnn", "--algo", "ppo", "--cell", "gru", "--frames", "10240",
                      "--out", str(out), "--quiet", "--device", "cpu")  # fmt: skip
    return out, proc


@pytest.mark.slow
def test_ppo_run_writes_model_and_metrics(ppo_run):
    """A one-update PPO run exits 0 and leaves model.pt, model.json (cell gru) and
    metrics.jsonl whose last line counts at least the frame budget, and says how to watch it."""
    out, proc = ppo_run
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "model.json").read_text())["config"]["cell"] == "gru"
    assert (out / "model.pt").is_file()
    assert metrics_lines(out)[-1]["frames"] >= 10240
    assert proc.stdout.startswith("PPO-GRU: ") and f"python play.py {out}" in proc.stdout


@pytest.mark.slow
def test_play_watches_an_rnn_run(ppo_run):
    """play.py takes the PPO run directory as an agent and plays it headless."""
    out, _ = ppo_run
    proc = run_script("play.py", str(out), "--level", "1-1", "--headless", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1])["level"] == "1-1"


@pytest.mark.slow
def test_ppo_warm_starts_from_a_saved_run(ppo_run, tmp_path):
    """--init-from DIR starts a new PPO run from DIR's policy in its shape (a GRU here, with
    no --cell), recording the origin in run.json; asking for another cell is exit 2."""
    src, _ = ppo_run
    out = tmp_path / "warm"
    proc = run_script("train.py", "rnn", "--init-from", str(src), "--frames", "10240",
                      "--out", str(out), "--quiet", "--device", "cpu")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    run = json.loads((out / "run.json").read_text())
    assert run["model"]["cell"] == "gru" and run["init_from"]["dir"] == str(src)
    bad = run_script("train.py", "rnn", "--init-from", str(src), "--cell", "lstm",
                     "--out", str(tmp_path / "bad"), "--quiet")  # fmt: skip
    assert bad.returncode == 2 and "cell 'gru' (configured 'lstm')" in bad.stderr
    assert not (tmp_path / "bad").exists()


@pytest.mark.slow
def test_bc_run_from_a_recorded_human_demo(tmp_path):
    """A demo recorded with play.py --record-demo trains a BC model through train.py rnn, and
    --resume with more DAgger rounds adds metrics lines to the same run."""
    demo = tmp_path / "me.npz"
    rec = run_script("play.py", "--human", "--record-demo", str(demo), "--max-frames", "40",
                     "--fps", "0")  # fmt: skip
    assert rec.returncode == 0, rec.stderr
    assert "saved 8 steps" in rec.stdout
    out = tmp_path / "bc"
    config = tiny_bc_config(tmp_path)
    proc = run_script("train.py", "rnn", "--algo", "bc", "--demos", str(demo), "--config",
                      str(config), "--out", str(out), "--quiet", "--device", "cpu")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (out / "model.pt").is_file()
    before = len(metrics_lines(out))
    again = run_script("train.py", "rnn", "--algo", "bc", "--resume", str(out),
                       "--dagger-iters", "1", "--quiet", "--device", "cpu")  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert len(metrics_lines(out)) > before  # the resumed run added a DAgger round


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--algo", "ppo", "--device", "tpu"], "device"),
        (["--algo", "bc", "--demos", "missing.npz"], "missing.npz"),
        (["--algo", "ppo", "--level", "nope"], "unknown level 'nope'"),
        (["--algo", "bc", "--resume", "runs/x"], "resume name different directories"),
        (["--algo", "ppo", "--frames", "0"], "--frames: must be at least 1, got 0"),
        (["--algo", "bc", "--frames", "1000"], "--frames: BC has no frame budget"),
        (["--algo", "ppo", "--demos", "me.npz"], "--demos and --dagger-iters are BC's"),
        (["--env", "smb"], "built-in world only"),
        (["--algo", "bc", "--init-from", "runs/x"], "only a new PPO run starts from a saved"),
        (["--init-from", "missing-run"], "--init-from missing-run: not a run directory"),
        (["--cell", "transformer"], "invalid choice: 'transformer'"),
        (["--generated", "3", "--difficulty", "0.9:0.2"], "needs LO <= HI, got 0.9:0.2"),
        (["--generated", "3", "--difficulty", "0.2:1.5"], "must be within 0..1, got 1.5"),
    ],
)
def test_bad_rnn_inputs_are_one_line_exit_2(capsys, tmp_path, args, message):
    """Bad devices, demo files, levels, budgets and options: exit 2, one line, nothing written."""
    out = tmp_path / "o"
    line = error_line(capsys, train.main, "rnn", *args, "--out", str(out), "--quiet")
    assert message in line and line.startswith("train.py")
    assert not out.exists()


@pytest.mark.slow
def test_resume_a_non_default_ppo_run_from_the_cli(tmp_path):
    """A PPO run started with a non-default cell, seed and level resumes with --resume alone
    and trains on to the new budget."""
    out = tmp_path / "gru"
    first = run_script("train.py", "rnn", "--cell", "gru", "--seed", "3", "--level", "1-2",
                       "--frames", "10240", "--out", str(out), "--quiet")  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert (out / "checkpoint-latest.pt").exists(), "no checkpoint after the first run"
    more = run_script("train.py", "rnn", "--resume", str(out), "--frames", "20480", "--quiet")
    assert more.returncode == 0, more.stderr
    assert metrics_lines(out)[-1]["frames"] >= 20480
