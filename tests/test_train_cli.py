"""``train.py neat`` end to end: a tiny run in a subprocess, then bad inputs (in-process
``train.main``), each one line on stderr with exit status 2, no traceback, and the run's files
untouched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import train
from agent.base import load_agent
from agent.episodes import play_levels
from agent.neat.cli import GENERALIST
from agent.neat.inputs import InputEncoding
from agent.neat.trainer import (
    CHAMPION_FILE,
    CHECKPOINT_FILE,
    CONFIG_FILE,
    METRICS_FILE,
    load_run_settings,
)
from envs.levels.level import builtin_names, load_level
from tests.helpers.cli import error_line, run_cli
from tests.helpers.neat import METRIC_KEYS, snapshot, tiny_config_text, write_tiny_setup

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> tuple[Path, Path, Path, subprocess.CompletedProcess]:
    tmp = tmp_path_factory.mktemp("cli")
    config, level = write_tiny_setup(tmp)
    out = tmp / "run"
    proc = run_cli(
        "neat", "--level", str(level), "--config", str(config), "--generations", "2",
        "--seed", "0", "--out", str(out), "--checkpoint-every", "1", "--keep-going",
    )  # fmt: skip
    return out, config, level, proc


@pytest.mark.slow
def test_tiny_run_end_to_end(finished_run):
    """A 2-generation run exits 0, writes champion.json, metrics.jsonl (2 lines with the
    documented keys), the checkpoint and the config copy, and says where the champion is and
    how to score and watch it."""
    out, config, _, proc = finished_run
    assert proc.returncode == 0, proc.stderr
    assert {CHAMPION_FILE, METRICS_FILE, CHECKPOINT_FILE, CONFIG_FILE} <= set(snapshot(out))
    lines = (out / METRICS_FILE).read_text().splitlines()
    assert len(lines) == 2
    assert all(METRIC_KEYS <= set(json.loads(line)) for line in lines)
    assert str(out / CHAMPION_FILE) in proc.stdout
    assert "python play.py" in proc.stdout and "python -m agent.neat.score" in proc.stdout
    assert "gen    1" in proc.stdout  # the per-generation summary
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_bad_input_in_a_subprocess_is_one_line(finished_run):
    """An unknown config key, seen from outside: exit 2, one stderr line, no traceback."""
    out, config, level, _ = finished_run
    bad = config.parent / "bad.ini"
    bad.write_text(config.read_text().replace("[NEAT]", "[NEAT]\nbogus_key = 1", 1))
    proc = run_cli("neat", "--level", str(level), "--config", str(bad), "--out", str(out / "x"))
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "bogus_key" in proc.stderr
    assert not (out / "x").exists()


def cli_error(capsys, *args: str) -> str:
    """``train.main(args)`` in-process: exit 2 and the one line on stderr."""
    return error_line(capsys, train.main, *args)


def test_argument_errors_are_one_line_exit_2(capsys, tmp_path):
    """Malformed values, an unknown level, the old ``lstm`` subcommand, an unwritable --out
    (an OSError) and option values the trainer refuses: exit 2, one line naming the problem,
    nothing written."""
    new = tmp_path / "new"
    assert "expected a whole number, got 'many'" in cli_error(capsys, "--generations", "many")
    assert "--generated: must be at least 1" in cli_error(capsys, "--generated", "0")
    assert "--frames: must be at least 1" in cli_error(capsys, "neat", "--frames", "0")
    assert "invalid choice: 'max'" in cli_error(capsys, "--aggregate", "max")
    assert "'train.py lstm' is now 'train.py rnn'" in cli_error(capsys, "lstm", "--algo", "ppo")
    assert "unknown level" in cli_error(capsys, "--level", "9-9", "--out", str(new))
    assert "no such level" in cli_error(capsys, "--level", "nope/missing.txt", "--out", str(new))
    assert "--difficulty: must be within 0..1" in cli_error(
        capsys, "--generated", "1", "--difficulty", "2", "--out", str(new)
    )
    assert "different directories" in cli_error(
        capsys, "--resume", str(tmp_path), "--out", str(new)
    )
    assert not new.exists()
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    config, level = write_tiny_setup(tmp_path / "setup")
    msg = cli_error(capsys, "--level", str(level), "--config", str(config), "--out",
                    str(blocker / "run"), "--generations", "1", "--quiet")  # fmt: skip
    assert "a-file" in msg
    assert blocker.read_text() == "not a directory"


@pytest.mark.slow
def test_bad_inputs_exit_2_with_one_line(finished_run, capsys, tmp_path):
    """Mismatched inputs, a missing level, an existing run as --out, an incompatible config or
    a corrupt checkpoint or champion on --resume, CUDA without CUDA and malformed arguments:
    exit 2, one line, and the finished run's files are unchanged."""
    out, config, level, _ = finished_run
    before = snapshot(out)
    mismatch = tmp_path / "mismatch.ini"
    mismatch.write_text(tiny_config_text(num_inputs=100))
    ff = tmp_path / "ff.ini"
    ff.write_text(tiny_config_text(feed_forward=True))
    new = str(tmp_path / "new")

    assert "num_inputs" in cli_error(
        capsys, "--level", str(level), "--config", str(mismatch), "--out", new
    )
    assert "no such level" in cli_error(capsys, "--level", "nope/missing.txt", "--out", new)
    assert "unknown level" in cli_error(capsys, "--level", "9-9", "--out", new)
    assert "already holds" in cli_error(capsys, "--level", str(level), "--out", str(out))
    assert "feed_forward" in cli_error(
        capsys, "--resume", str(out), "--config", str(ff), "--generations", "4"
    )
    assert "seed" in cli_error(capsys, "--resume", str(out), "--seed", "3", "--generations", "4")
    assert "nothing to resume" in cli_error(capsys, "--resume", str(tmp_path))
    assert not Path(new).exists()
    assert snapshot(out) == before

    msg = cli_error(capsys, "--level", str(level), "--device", "cudax", "--out", new)
    assert "unknown device 'cudax'" in msg

    import torch

    if not torch.cuda.is_available():
        msg = cli_error(capsys, "--level", str(level), "--device", "cuda", "--out", new)
        assert "CUDA is not available" in msg

    broken = tmp_path / "broken"
    broken.mkdir()
    for name, data in before.items():
        (broken / name).write_bytes(data)
    champ = (broken / CHAMPION_FILE).read_text()
    (broken / CHAMPION_FILE).write_text(champ[: len(champ) // 3])
    assert "truncated" in cli_error(capsys, "--resume", str(broken), "--generations", "4")
    (broken / CHAMPION_FILE).write_text(champ)
    ckpt = before[CHECKPOINT_FILE]
    (broken / CHECKPOINT_FILE).write_bytes(ckpt[:-100])
    assert "truncated" in cli_error(capsys, "--resume", str(broken), "--generations", "4")
    assert (broken / METRICS_FILE).read_bytes() == before[METRICS_FILE]


@pytest.mark.slow
def test_resume_from_the_cli(finished_run, capsys, tmp_path):
    """--resume DIR --generations 3 continues the run by one generation using its stored
    settings; resuming again at the limit has nothing to do."""
    out, *_ = finished_run
    run = tmp_path / "run"
    run.mkdir()
    for name, data in snapshot(out).items():
        (run / name).write_bytes(data)
    assert train.main(["neat", "--resume", str(run), "--generations", "3", "--quiet"]) == 0
    assert len((run / METRICS_FILE).read_text().splitlines()) == 3
    capsys.readouterr()
    assert train.main(["--resume", str(run), "--generations", "3", "--quiet"]) == 0
    assert "nothing to do" in capsys.readouterr().out


@pytest.mark.slow
def test_watch_opens_the_champion_after_training(tmp_path):
    """`--watch` plays the new champion in the (headless) window once training is done."""
    config, level = write_tiny_setup(tmp_path)
    out = tmp_path / "watched"
    proc = run_cli(
        "neat", "--level", str(level), "--config", str(config), "--generations", "1",
        "--out", str(out), "--watch", "--watch-frames", "20",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (out / "champion.json").is_file()
    assert "R restart" in proc.stdout  # the play window printed its controls


def _descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (children, grandchildren ...), read from /proc."""
    parent: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # ended while we looked
                continue
            parent[int(entry.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, pp in parent.items() if pp in frontier} - found
        found |= frontier
    return found


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
def test_sigterm_stops_like_ctrl_c_and_leaves_no_workers(tmp_path):
    """SIGTERM to a run evaluating in worker processes: exit status 130 with the resume hint,
    the worker processes gone with it, and the checkpoint it leaves resumable."""
    import signal
    import time

    config, level = write_tiny_setup(tmp_path)
    out = tmp_path / "run"
    cmd = [sys.executable, "train.py", "neat", "--level", str(level), "--config", str(config),
           "--generations", "500", "--out", str(out), "--backend", "processes", "--workers", "2",
           "--checkpoint-every", "1", "--keep-going", "--quiet"]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        while not (out / METRICS_FILE).is_file() or len(_descendants(proc.pid)) < 2:
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.2)
        while len((out / METRICS_FILE).read_text().splitlines()) < 2:  # a shard came back
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.2)
        workers = _descendants(proc.pid)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:  # the test failed: leave nothing running
            for pid in _descendants(proc.pid):
                os.kill(pid, signal.SIGKILL)
            proc.kill()
    assert proc.returncode == 130, err
    assert b"--resume" in err and b"Traceback" not in err
    deadline = time.monotonic() + 20
    while workers & _descendants(1) and time.monotonic() < deadline:
        time.sleep(0.2)
    alive = [p for p in workers if Path(f"/proc/{p}").exists()]
    assert not alive, f"worker processes left running: {alive}"
    again = run_cli("neat", "--resume", str(out), "--generations", "1", "--quiet")
    assert again.returncode == 0, again.stderr


@pytest.mark.slow
def test_curriculum_and_validation_from_the_cli(tmp_path, capsys):
    """--curriculum, --curriculum-step, --curriculum-share and --validation reach the run's
    settings (stored in its checkpoint, so --resume keeps them), the metrics record the
    difficulty and validation scores, and bad values exit 2 with one line, writing nothing."""
    config, _ = write_tiny_setup(tmp_path)
    out = tmp_path / "run"
    proc = run_cli(
        "neat", "--generated", "1", "--length", "40", "--difficulty", "0.2",
        "--curriculum", "0.0", "--curriculum-step", "0.1", "--curriculum-share", "1",
        "--validation", "2", "--config", str(config), "--generations", "2",
        "--out", str(out), "--keep-going", "--quiet",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    s = load_run_settings(out)
    assert (s.curriculum, s.curriculum_step, s.curriculum_share, s.validation) == (
        0.0, 0.1, 1.0, 2,
    )  # fmt: skip
    metrics = [json.loads(x) for x in (out / METRICS_FILE).read_text().splitlines()]
    assert metrics[0]["difficulty"] == 0.0
    assert all("champion_validation_fitness" in m for m in metrics)
    assert "validation_fitness" in json.loads((out / CHAMPION_FILE).read_text())["extra"]

    new = str(tmp_path / "new")
    gen = ("--generated", "1", "--difficulty", "0.2", "--out", new)
    assert "curriculum start" in cli_error(capsys, *gen, "--curriculum", "0.5")
    assert "curriculum_share" in cli_error(
        capsys, *gen, "--curriculum", "0.1", "--curriculum-share", "0"
    )
    assert "--validation: must be at least 1" in cli_error(capsys, *gen, "--validation", "0")
    assert "invalid float" in cli_error(capsys, *gen, "--curriculum", "easy")
    assert not Path(new).exists()


def test_the_generalist_preset_from_the_cli(tmp_path, capsys):
    """``--generalist`` runs the preset (agent.neat.cli.GENERALIST) on generated levels only:
    no shipped level in the settings, the champion or the metrics, the progress score, held-out
    validation, the preset's input encoding, one progress line per generation; flags given
    override the preset (the config among them); a shipped
    level or --resume with it exits 2 with one line."""
    config, _ = write_tiny_setup(tmp_path, num_inputs=128)  # the preset's input encoding
    out = tmp_path / "run"
    proc = run_cli(
        "neat", "--generalist", "--generated", "2", "--length", "40", "--validation", "2",
        "--generations", "2", "--config", str(config), "--out", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "gen    0" in proc.stdout and "gen    1" in proc.stdout
    s = load_run_settings(out)
    want = {**GENERALIST, "generated": 2, "generated_length": 40, "validation": 2}
    want["generations"] = 2
    play = {k: want.pop(k) for k in ("view_box", "view_planes")}  # the run's FitnessSettings
    del want["config"]  # replaced by --config; the run keeps the config's text
    assert {k: getattr(s, k) for k in want} == want and s.levels == []
    assert {k: getattr(s.fitness, k) for k in play} == play
    champ = json.loads((out / CHAMPION_FILE).read_text())
    assert champ["env_settings"]["levels"] == [] and champ["env_settings"]["score"] == "progress"
    shipped = set(builtin_names())
    assert not shipped & set(champ["extra"]["levels_evaluated"])
    metrics = [json.loads(x) for x in (out / METRICS_FILE).read_text().splitlines()]
    assert [m["levels"] for m in metrics] == [2, 2]
    assert all(m["difficulty"] == GENERALIST["difficulty"] for m in metrics)

    new = str(tmp_path / "new")
    assert "drop --level" in cli_error(capsys, "--generalist", "--level", "1-1", "--out", new)
    assert "drop --generalist" in cli_error(capsys, "--generalist", "--resume", str(out))
    assert not Path(new).exists()


def test_level_pool_zero_means_new_levels_every_generation(tmp_path):
    """``--level-pool 0`` gives no pool (new generated levels every generation), also over
    ``--generalist``'s preset; ``--level-pool P`` overrides it with P; a negative pool is an
    argument error (exit 2)."""

    def settings(*argv: str):
        args = train.build_parser().parse_args(["neat", *argv, "--out", str(tmp_path / "x")])
        return train.neat_settings(args)

    assert settings("--generalist").level_pool == GENERALIST["level_pool"]
    assert settings("--generalist", "--level-pool", "50").level_pool == 50
    assert settings("--generalist", "--level-pool", "0").level_pool is None
    assert settings("--generated", "4", "--level-pool", "0").level_pool is None
    assert settings("--generated", "4", "--level-pool", "9").level_pool == 9
    assert train.main(["neat", "--generated", "4", "--level-pool", "-1"]) == 2
    assert not (tmp_path / "x").exists()


def test_an_input_encoding_from_the_cli_is_saved_and_replayed(tmp_path, capsys):
    """``--view-box`` and ``--planes`` train networks on that encoding (the config's num_inputs
    matching), ``--frame-skip`` and ``--activations`` set how often and how deep they think;
    all are saved in the run's settings and champion.json, and the agent loaded back (as
    play.py and compare.py load it; the overlay: tests/viz/test_overlay.py) plays the same
    way. A box outside the grid, a malformed box, a config of the wrong input count or too
    many activations exits 2 with one line naming the flag, nothing written; so does --resume
    with another encoding (naming the field, its flag and both values)."""
    config, level = write_tiny_setup(tmp_path, num_inputs=128)
    out = tmp_path / "run"
    box = ("--view-box", "1,6,4,3", "--planes", "split", "--frame-skip", "4", "--activations", "2")
    proc = run_cli(
        "neat", "--level", str(level), "--config", str(config), "--generations", "1",
        *box, "--out", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert load_run_settings(out).fitness.view_box == (1, 6, 4, 3)
    env = json.loads((out / CHAMPION_FILE).read_text())["env_settings"]
    assert (env["view_box"], env["view_planes"]) == ([1, 6, 4, 3], "split")
    assert (env["frame_skip"], env["activations_per_step"]) == (4, 2)
    agent = load_agent(str(out), [load_level(str(level))])
    assert agent.encoding == InputEncoding(6, (1, 6, 4, 3), "split")
    assert (agent.frame_skip, agent.activations_per_step) == (4, 2)
    assert play_levels(agent, [load_level(str(level))]).episodes[0]["frames"] > 0

    new = str(tmp_path / "new")
    gen = ("--generated", "2", "--out", new)
    assert "--view-box: view_box ahead must be from 0 to 6" in cli_error(
        capsys, *gen, "--view-box", "1,7,4,3"
    )
    assert "BEHIND,AHEAD,ABOVE,BELOW" in cli_error(capsys, *gen, "--view-box", "1,6")
    assert "gives 64 inputs" in cli_error(capsys, *gen, "--view-box", "1,6,4,3")
    assert "--activations: activations_per_step must be from 1 to 100" in cli_error(
        capsys, *gen, "--activations", "101"
    )
    assert not Path(new).exists()
    msg = cli_error(capsys, "--resume", str(out), "--planes", "mixed", "--generations", "2")
    assert "view_planes (--planes) = 'split'; it cannot change to 'mixed'" in msg
