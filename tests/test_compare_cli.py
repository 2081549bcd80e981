"""``compare.py`` end to end in subprocesses (tiny agents and levels, ``--train --preset tiny``,
``--memory-sweep``), and bad input in-process (``compare.main``: one line on stderr, exit status
2, nothing written)."""

from __future__ import annotations

import json
from pathlib import Path

import imageio.v3 as iio
import pytest

import compare
from tests.helpers.cli import error_line, run_script
from tests.helpers.runs import check_results_schema, make_lstm_run, make_neat_run


def check_png(path: Path) -> None:
    image = iio.imread(path)
    assert image.ndim == 3 and image.shape[0] >= 300 and image.shape[1] >= 500, path


@pytest.mark.slow
def test_compare_tiny_agents_end_to_end(tmp_path):
    """Solver, a NEAT run and an LSTM run on a level file and a generated level: exit 0, a
    progress line per agent and level set, results.json following the schema, summary.md with
    both tables, and the learning-curve and completion plots as readable PNGs."""
    neat_run, level_file = make_neat_run(tmp_path)
    lstm_run = make_lstm_run(tmp_path)
    out = tmp_path / "cmp"
    proc = run_script("compare.py", "solver", str(neat_run), str(lstm_run), "--level",
                      str(level_file), "--generated", "1", "--seed", "3", "--length", "40",
                      "--out", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count(" on levels: ") == 3 and proc.stdout.count(" on generated-s3-n1") == 3
    results = json.loads((out / "results.json").read_text())
    check_results_schema(results)
    assert [a["kind"] for a in results["agents"]] == ["solver", "neat", "ppo-lstm"]
    assert results["level_sets"][1]["difficulty"] == 0.5  # the vocabulary's default
    summary = (out / "summary.md").read_text()
    assert "## levels" in summary and "## generated-s3-n1" in summary
    assert sorted(results["plots"]) == [
        "completion_generated-s3-n1.png", "completion_levels.png", "learning_curves.png"
    ]  # fmt: skip
    for name in results["plots"]:
        check_png(out / name)
        assert f"]({name})" in summary


@pytest.mark.slow
def test_train_tiny_preset_end_to_end(tmp_path):
    """``--train --preset tiny --seeds 0,1 --frames 3000``: NEAT, PPO-LSTM and BC-LSTM train
    twice each on the same generated training level, NEAT and PPO within the frame budget given
    (NEAT stopping in the generation that reaches it); then all six runs and the solver are
    compared on training and held-out levels with pooled rows (the recurrent runs sampling
    their buttons, as asked)."""
    out = tmp_path / "proto"
    proc = run_script("compare.py", "--train", "--preset", "tiny", "--seeds", "0,1",
                      "--frames", "3000", "--sample", "--out", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    results = json.loads((out / "results.json").read_text())
    check_results_schema(results)
    assert results["settings"]["sample"] is True
    kinds = [a["kind"] for a in results["agents"]]
    assert kinds == ["solver"] + ["neat", "ppo-lstm", "bc-lstm"] * 2
    assert results["protocol"]["preset"]["frames"] == 3000
    train_levels = set(results["level_sets"][0]["levels"])
    assert results["level_sets"][1]["name"] == "held-out"
    assert not train_levels & set(results["level_sets"][1]["levels"])
    for a in results["agents"][1:]:
        assert a["training"]["frames"] > 0
        if a["kind"] == "neat":  # stopped by the budget: at most one generation past it
            lines = (Path(a["run_dir"]) / "metrics.jsonl").read_text().splitlines()
            frames = [json.loads(x) for x in lines]
            key = "frames" if "trainer" in frames[0] else "frames_simulated"  # old NEAT lines
            before = [m[key] for m in frames[:-1]]
            assert a["training"]["frames"] >= 3000 > max(before, default=0)
        if a["kind"] == "ppo-lstm":
            assert a["training"]["frames"] >= 3000
    pooled = [r for r in results["summary"]["held-out"] if r["ci_over"] == "runs"]
    assert {r["kind"] for r in pooled} == {"neat", "ppo-lstm", "bc-lstm"}
    assert all(r["runs"] == 2 for r in pooled)
    assert "[ppo seed 1]" in proc.stdout and "held-out" in proc.stdout
    check_png(out / "learning_curves.png")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no/such/run", "--level", "1-1"], "no/such/run: no such run directory"),
        (["solver", "--level", "1-1", "--level", "no-such-level"], "--level no-such-level"),
        (["solver", "--levels", "1-1"], "unrecognized arguments: --levels"),
        (["solver", "--episodes", "0"], "--episodes: must be at least 1"),
        (["solver", "--max-frames", "-5"], "--max-frames: must be at least 0"),
        (["solver", "--generated", "0"], "--generated: must be at least 1"),
        (["solver", "--generated", "1", "--difficulty", "2"], "--difficulty: must be within 0..1"),
        (["solver", "--env", "smb", "--level", "1-2"], "only 1-1 has a known end"),
        (["--level", "1-1"], "give at least one RUN"),
        (["solver", "--train"], "--train trains its own agents; give no RUN"),
        (["--train", "--level", "1-1"], "--train plays its preset's levels"),
        (["--train", "--seeds", "x"], "--seeds: expected integers"),
        (["--train", "--preset", "small-bumpy"], "a --memory-sweep preset"),
        (["solver", "--frames", "1000"], "--frames: only with --train"),
        (["--train", "--memory-sweep"], "separate modes"),
        (["--memory-sweep", "--distances", "8,0"], "--distances: expected integers"),
        (["--memory-sweep", "--distances", "100000"], "distances must be integers within"),
        (["--memory-sweep", "--episodes", "2"], "one greedy episode per level"),
        (["solver", "--distances", "8"], "--distances: only with --memory-sweep"),
        (["solver", "--preset", "huge"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, tmp_path, args, message):
    """Each bad input: exit status 2, exactly one stderr line naming the problem, no output."""
    out = tmp_path / "out"
    line = error_line(capsys, compare.main, *args, "--out", str(out))
    assert message in line and line.startswith("compare.py: error: ")
    assert not out.exists()


@pytest.mark.slow
def test_memory_sweep_runs_through_compare_py(tmp_path):
    """``--memory-sweep --preset tiny --distances 8 --seed 2`` hands its arguments to
    ``agent.study.memory.run_memory_sweep``: exit 0, memory_results.json for D = 8 with the tiny
    preset and seed 2, and the sweep plot (drawn by compare.py) as a readable PNG."""
    out = tmp_path / "memory"
    proc = run_script("compare.py", "--memory-sweep", "--preset", "tiny", "--distances", "8",
                      "--seed", "2", "--out", str(out), "--quiet")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    results = json.loads((out / "memory_results.json").read_text())
    assert (results["distances"], results["preset"], results["seed"]) == ([8], "tiny", 2)
    assert set(results["results"]) >= {"neat-ff", "lstm"}
    assert all(set(by_d) == {"8"} for by_d in results["results"].values())
    iio.imread(out / "memory_sweep.png")
    assert f"memory sweep written to {out}" in proc.stdout
