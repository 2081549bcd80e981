"""Every entry point (``train.py``, ``play.py``, ``compare.py``) under bad input: exit status 2
with one stderr line naming the argument or file and no traceback, before anything is loaded,
played or written. That covers unwritable and full outputs, seeds and sizes out of range,
options the chosen mode would ignore, NEAT configs no run can use and Ctrl-C at start-up."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import compare
import play
import train
from tests.helpers.cli import ROOT, error_line, make_read_only
from tests.helpers.neat import tiny_config_text, write_tiny_setup

MAINS = {"train": train.main, "play": play.main, "compare": compare.main}


@pytest.mark.parametrize(
    ("main", "args", "says"),
    [
        ("train", ["neat", "--seed", str(10**26)], "argument --seed: must be at most"),
        ("train", ["rnn", "--seed", str(10**26)], "argument --seed: must be at most"),
        ("play", ["solver", "--seed", str(10**26)], "argument --seed: must be at most"),
        ("compare", ["solver", "--seed", str(10**26)], "argument --seed: must be at most"),
        ("compare", ["--train", "--seeds", f"1,{10**26}"], "--seeds: expected integers within"),
        ("train", ["neat", "--generated", "0"], "argument --generated: must be at least 1"),
        ("play", ["solver", "--generated", "0"], "argument --generated: must be at least 1"),
        ("compare", ["solver", "--generated", "0"], "argument --generated: must be at least 1"),
        (
            "play",
            ["solver", "--headless", "--episodes", str(10**11)],
            "--episodes: must be at most",
        ),
        ("play", ["solver", "--episodes", "1e11"], "--episodes: expected a whole number"),
        ("compare", ["solver", "--episodes", str(10**11)], "--episodes: must be at most"),
        ("play", ["--scale", "100000"], "argument --scale: must be at most 16"),
        ("play", ["--fps", "100000"], "argument --fps: must be at most 1,000"),
        ("train", ["neat", "--generations", str(10**9)], "--generations: must be at most"),
        ("train", ["neat", "--generated", str(10**6)], "--generated: must be at most 10,000"),
        ("train", ["neat", "--generated", "2", "--length", str(10**6)], "--length: must be at"),
        ("train", ["rnn", "--dagger-iters", "-1"], "--dagger-iters: must be at least 0"),
        ("train", ["rnn", "--algo", "ppo", "--demos", "d.npz"], "--demos and --dagger-iters"),
        ("train", ["neat", "--difficulty", "0.3"], "--difficulty shapes generated levels"),
        ("train", ["neat", "--length", "60"], "--length shapes generated levels"),
        ("train", ["rnn", "--difficulty", "0.3"], "--difficulty shapes generated levels"),
        ("play", ["solver", "--difficulty", "0"], "--difficulty shapes generated levels"),
        ("compare", ["solver", "--length", "60"], "--length shapes generated levels"),
        ("train", ["neat", "--curriculum-step", "0.1"], "--curriculum-step: only with"),
        ("play", ["solver", "--episodes", "3"], "--episodes is for headless play or --record"),
        ("play", ["solver", "--headless", "--scale", "2"], "--scale is for a window or --record"),
        ("play", ["solver", "--headless", "--fps", "30"], "--fps is for a window or --record"),
        ("compare", ["solver", "--preset", "small"], "--preset: only with --train or"),
    ],
)
def test_bad_arguments_are_one_line_naming_the_argument(capsys, tmp_path, main, args, says):
    """Out-of-range seeds and sizes, zero generated levels and options that the chosen mode
    would silently ignore: exit 2, one line naming the argument, nothing written."""
    out = ["--out", str(tmp_path / "out")] if main != "play" else []
    line = error_line(capsys, MAINS[main], *args, *out)
    assert says in line, line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["neat", "rnn", "compare"])
def test_an_unwritable_out_is_refused_before_anything_runs(capsys, tmp_path, monkeypatch, command):
    """``--out`` inside a read-only folder: exit 2 and one line naming ``--out`` and the
    folder, for both trainers and compare.py, before any training or playing."""
    ro = tmp_path / "ro"
    ro.mkdir()
    config, level = write_tiny_setup(tmp_path / "setup")
    make_read_only(monkeypatch, ro)
    if command == "compare":
        line = error_line(capsys, compare.main, "solver", "--level", str(level), "--out",
                          str(ro / "cmp"))  # fmt: skip
    else:
        line = error_line(capsys, train.main, command, "--level", str(level), "--out",
                          str(ro / "run"), "--quiet")  # fmt: skip
    assert f"--out {ro}" in line and "cannot write in" in line and "Permission denied" in line


@pytest.mark.parametrize(("flag", "name"), [("--record", "run.gif"), ("--record-demo", "me.npz")])
def test_play_checks_its_outputs_before_playing(capsys, tmp_path, monkeypatch, flag, name):
    """``--record`` or ``--record-demo`` into a read-only folder: exit 2, one line naming the
    flag, before a game is built (so no play is lost and no traceback chains)."""
    import viz.games

    ro = tmp_path / "ro"
    ro.mkdir()
    make_read_only(monkeypatch, ro)

    def no_game(*args, **kwargs):
        raise AssertionError("a game was built before the output was checked")

    monkeypatch.setattr(viz.games, "WorldGame", no_game)
    agent = ["solver"] if flag == "--record" else ["--human"]
    line = error_line(capsys, play.main, *agent, flag, str(ro / name), "--max-frames", "5")
    assert f"{flag} {ro / name}: cannot write in {ro}" in line


def test_a_full_disk_during_training_is_one_line(capsys, tmp_path, monkeypatch):
    """A disk that fills up while a NEAT run writes its checkpoint: exit 2 and one line
    saying so; the run directory can then be resumed from its last checkpoint."""
    import agent.neat.trainer as trainer

    config, level = write_tiny_setup(tmp_path / "setup")
    real, calls = trainer.save_checkpoint, []

    def fills_up(path, state):
        calls.append(path)
        if len(calls) > 1:  # the starting checkpoint fits, the next one does not
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real(path, state)

    monkeypatch.setattr(trainer, "save_checkpoint", fills_up)
    out = tmp_path / "run"
    args = ["neat", "--level", str(level), "--config", str(config), "--quiet", "--keep-going"]
    line = error_line(capsys, train.main, *args, "--generations", "2", "--out", str(out),
                      "--checkpoint-every", "1")  # fmt: skip
    assert "No space left on device" in line
    monkeypatch.setattr(trainer, "save_checkpoint", real)
    assert train.main(["neat", "--resume", str(out), "--generations", "2", "--quiet"]) == 0


def test_an_unreadable_level_is_one_line_naming_it(capsys, tmp_path, monkeypatch):
    """A level file that cannot be read (permission denied): exit 2, one line naming it."""
    config, level = write_tiny_setup(tmp_path / "setup")
    real = Path.read_bytes

    def denied(self):
        if self == level:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", denied)
    line = error_line(capsys, train.main, "neat", "--level", str(level), "--config",
                      str(config), "--out", str(tmp_path / "run"))  # fmt: skip
    assert str(level) in line and "Permission denied" in line
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("override", "says"),
    [
        ({"elitism": 20}, "cannot hold even one species"),
        ({"min_species_size": 13}, "cannot hold even one species"),
        ({"survival_threshold": 0.0}, "survival_threshold must be within (0, 1]"),
        ({"compatibility_threshold": 0}, "compatibility_threshold"),
        ({"conn_add_prob": 1.5}, "conn_add_prob must be within [0, 1]"),
        ({"num_hidden": -1}, "num_hidden must be >= 0"),
    ],
)
def test_neat_config_conflicts_are_found_before_the_run_directory(capsys, tmp_path, override, says):
    """A NEAT config that parses but cannot evolve (species minima above the population,
    thresholds or probabilities out of range): exit 2, one line naming the file, and no run
    directory made (neat-python would fail only in generation 0, or never)."""
    _, level = write_tiny_setup(tmp_path / "setup")
    config = tmp_path / "bad.ini"
    config.write_text(tiny_config_text(**override))
    out = tmp_path / "run"
    line = error_line(capsys, train.main, "neat", "--level", str(level), "--config",
                      str(config), "--out", str(out))  # fmt: skip
    assert str(config) in line and says in line
    assert not out.exists()


def test_levels_that_cannot_be_played_are_warned_about(capsys, tmp_path):
    """A level whose flag is at column 0 gets a warning line on stderr, and the run goes on."""
    config, _ = write_tiny_setup(tmp_path / "setup")
    level = tmp_path / "flag0.txt"
    level.write_text("\n".join(["." * 20] * 5 + ["F.S" + "." * 17] + ["X" * 20] * 2) + "\n")
    code = train.main(["neat", "--level", str(level), "--config", str(config), "--generations",
                       "1", "--quiet", "--out", str(tmp_path / "run")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0, err
    assert f"train.py: warning: level {level}: its flag (column 0)" in err


@pytest.mark.slow
@pytest.mark.parametrize("script", ["train.py", "play.py", "compare.py"])
def test_ctrl_c_during_start_up_is_exit_130_without_a_traceback(tmp_path, script):
    """SIGINT while an entry point is still importing its libraries (the first second):
    exit status 130 and no traceback."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), SDL_VIDEODRIVER="dummy")
    args = {"train.py": ["neat", "--out", str(tmp_path / "run")],
            "play.py": ["solver", "--headless"],
            "compare.py": ["solver", "--out", str(tmp_path / "cmp")]}[script]  # fmt: skip
    proc = subprocess.Popen([sys.executable, script, *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    time.sleep(0.4)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err


@pytest.mark.slow
@pytest.mark.parametrize(
    ("script", "args", "says"),
    [
        ("train.py", ["neat", "--seed", str(10**26)], "--seed"),
        ("train.py", ["rnn", "--algo", "ppo", "--demos", "d.npz"], "--demos"),
        ("play.py", ["--scale", "100000"], "--scale"),
        ("compare.py", ["solver", "--episodes", str(10**11)], "--episodes"),
    ],
)
def test_bad_input_from_outside_is_exit_2_and_one_line(tmp_path, script, args, says):
    """Seen from a shell: exit status 2, exactly one stderr line naming the argument, no
    traceback."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), SDL_VIDEODRIVER="dummy")
    out = ["--out", str(tmp_path / "out")] if script != "play.py" else []
    proc = subprocess.run([sys.executable, script, *args, *out], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert says in lines[0] and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()
