"""The real game from the command line: ``train.py neat --env smb`` (one tiny generation in worker
processes), ``play.py --env smb`` (headless results, recording) and a built-in-world champion
tried on real 1-1. Needs the ``nes`` extra except for the argument checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import compare
import play
import train
from agent.neat.trainer import CHAMPION_FILE, METRICS_FILE
from agent.neat.trainer import train as train_neat
from tests.helpers.neat import settings_for, tiny_config_text

ROOT = Path(__file__).resolve().parents[1]
NES_MISSING = 'the real game needs the nes extra: pip install -e ".[nes]"'


def one_error_line(capsys, main, *args: str) -> str:
    code = main(list(args))
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_bad_smb_arguments_are_one_line(capsys, tmp_path):
    """Stages that do not exist, generated levels or races on the real game: exit 2, one line,
    nothing written."""
    out = str(tmp_path / "run")
    assert "worlds 1 to 8" in one_error_line(
        capsys, train.main, "neat", "--env", "smb", "--level", "1-9", "--out", out
    )
    assert "stages" in one_error_line(
        capsys, train.main, "neat", "--env", "smb", "--generated", "2", "--out", out
    )
    assert "built-in world" in one_error_line(
        capsys, play.main, "solver", "solver", "--env", "smb", "--headless"
    )
    assert not Path(out).exists()


@pytest.fixture(scope="module")
def smb_run(tmp_path_factory):
    pytest.importorskip("nes_py", reason=NES_MISSING)
    tmp = tmp_path_factory.mktemp("smb")
    config = tmp / "tiny.ini"
    config.write_text(tiny_config_text(pop_size=4))
    out = tmp / "run"
    proc = subprocess.run(
        [
            sys.executable, "train.py", "neat", "--env", "smb", "--level", "1-1",
            "--config", str(config), "--generations", "1", "--workers", "2",
            "--out", str(out), "--keep-going",
        ],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    return out, proc


@pytest.mark.slow
def test_train_neat_on_the_real_game(smb_run):
    """One generation over 2 worker processes: the champion is saved with env smb, and the
    summary says how to watch it on the real game."""
    out, proc = smb_run
    assert proc.returncode == 0, proc.stderr
    assert "processes, 2 workers" in proc.stdout
    assert f"python play.py {out} --env smb --level 1-1" in proc.stdout
    champ = json.loads((out / CHAMPION_FILE).read_text())
    assert champ["env_settings"]["env"] == "smb" and champ["env_settings"]["levels"] == ["1-1"]
    assert len((out / METRICS_FILE).read_text().splitlines()) == 1


@pytest.mark.slow
def test_play_headless_replays_the_training_score(smb_run, capsys):
    """``play.py RUN --env smb --headless --json`` plays the champion as it was scored (the
    episode ends as training runs end, MarI/O's timeout included)."""
    out, proc = smb_run
    assert proc.returncode == 0, proc.stderr
    champ = json.loads((out / CHAMPION_FILE).read_text())
    assert play.main([str(out), "--env", "smb", "--level", "1-1", "--headless", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["level"] == "1-1" and result["rightmost"] >= 40
    assert result["fitness"] == pytest.approx(champ["extra"]["level_fitness"][0])


@pytest.mark.slow
def test_record_the_real_game_with_the_overlay(smb_run, tmp_path):
    """A real-game champion recorded with --record gives a GIF of exactly --max-frames frames,
    each the NES frame at the chosen scale."""
    out, proc = smb_run
    assert proc.returncode == 0, proc.stderr
    gif = tmp_path / "smb.gif"
    args = [str(out), "--env", "smb", "--record", str(gif), "--max-frames", "20", "--scale", "2"]
    assert play.main(args) == 0
    import imageio.v2 as imageio

    frames = imageio.mimread(gif)
    assert len(frames) == 20 and frames[0].shape[:2] == (480, 512)  # the NES frame, scale 2


@pytest.mark.slow
def test_world_champion_transfers_without_conversion(tmp_path, capsys):
    """An agent trained only on the built-in world plays real 1-1 as it is (same grid, same
    buttons): it gets a result with a distance."""
    pytest.importorskip("nes_py", reason=NES_MISSING)
    result = train_neat(settings_for(tmp_path, "world", generations=1), progress=False)
    assert play.main([str(result.out), "--env", "smb", "--headless", "--json"]) == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["level"] == "1-1" and record["rightmost"] >= 40 and record["frames"] > 0


@pytest.mark.slow
def test_compare_reports_how_far_a_world_champion_gets_on_real_1_1(tmp_path, capsys):
    """``compare.py RUN --env smb``: a champion trained only on the built-in world is scored on
    real 1-1 in results.json (the documented schema, env "smb", a distance in pixels and a
    progress share of MarI/O's end x) and summary.md; the solver and --generated are refused."""
    pytest.importorskip("nes_py", reason=NES_MISSING)
    from tests.helpers.runs import check_results_schema

    result = train_neat(settings_for(tmp_path, "world", generations=1), progress=False)
    out = tmp_path / "cmp"
    cmd = [sys.executable, "compare.py", str(result.out), "--env", "smb", "--level", "1-1",
           "--episodes", "2", "--max-frames", "600", "--no-plots", "--out", str(out)]  # fmt: skip
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy"}
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    results = json.loads((out / "results.json").read_text())
    check_results_schema(results)
    assert results["level_sets"][0]["env"] == "smb"
    episodes = results["episodes"]
    assert [e["level"] for e in episodes] == ["1-1", "1-1"]
    assert all(e["rightmost"] >= 40 and 0 < e["progress"] < 1 for e in episodes)
    assert episodes[0]["frames"] == episodes[1]["frames"] <= 600  # the emulator repeats exactly
    assert "| neat |" in (out / "summary.md").read_text()
    run = str(result.out)
    for extra, message in (
        (["solver"], "solver plans"),
        ([run, "--generated", "2"], "--generated"),
    ):
        line = one_error_line(capsys, compare.main, *extra, "--env", "smb", "--out",
                              str(tmp_path / "x"))  # fmt: skip
        assert message in line and line.startswith("compare.py: error: ")
    assert not (tmp_path / "x").exists()
