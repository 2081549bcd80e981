"""Tests of the memory sweep (``agent.study.memory``) with the ``tiny`` preset (seconds of
training, so the sweep's tests are marked slow), its plot drawn by ``viz.plots``."""

from __future__ import annotations

import json

import matplotlib.image as mpimg
import numpy as np
import pytest

from agent.study.memory import (
    MODELS,
    PLOT_FILE,
    PRESETS,
    RESULTS_FILE,
    _scripted_episode,
    markdown_table,
    reevaluate_sweep,
    run_memory_sweep,
    scripted_demos,
)
from envs.levels.memory import memory_pairs
from envs.sim.constants import BTN_A, BTN_B, BTN_RIGHT
from viz.plots import memory_sweep_plot

KEYS = {
    "fork_reached",
    "fork_correct",
    "choice_accuracy",
    "success",
    "completed",
    "levels",
    "completed_upper",
    "completed_lower",
    "pairs_both",
    "train_success",
    "train_seconds",
}


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("memory")
    lines: list[str] = []
    results = run_memory_sweep(
        out, [8, 12], preset="tiny", seed=3, log=lines.append, draw=memory_sweep_plot
    )
    return out, results, lines


@pytest.mark.slow
def test_results_json_schema(sweep):
    """memory_results.json holds, for every model and distance, the success rate and its parts
    (consistent with each other), and equals the returned dict."""
    out, results, _ = sweep
    saved = json.loads((out / RESULTS_FILE).read_text())
    assert saved == results
    assert saved["distances"] == [8, 12] and saved["models"] == list(MODELS)
    assert saved["settings"]["corridor"] == "plain"
    for model in MODELS:
        for d in ("8", "12"):
            rec = saved["results"][model][d]
            assert set(rec) == KEYS
            assert rec["levels"] == 2  # tiny: one held-out pair
            assert rec["completed"] == rec["completed_upper"] + rec["completed_lower"]
            assert rec["success"] == pytest.approx(rec["completed"] / rec["levels"])
            assert 0.0 <= rec["train_success"] <= 1.0
            assert rec["fork_correct"] <= rec["fork_reached"] <= rec["levels"]
            assert rec["completed"] <= rec["fork_correct"]  # finishing needs the right route
    # a feed-forward network is memoryless: it cannot finish both levels of a pair
    assert all(r["pairs_both"] == 0 for r in saved["results"]["neat-ff"].values())


@pytest.mark.slow
def test_plot_written_and_readable(sweep):
    """The draw passed in wrote memory_sweep.png: it decodes as an image of plausible size with
    more than one colour."""
    out, _, _ = sweep
    path = out / PLOT_FILE
    assert path.stat().st_size > 10_000
    img = mpimg.imread(path)
    assert img.shape[0] > 200 and img.shape[1] > 300
    assert img.reshape(-1, img.shape[-1]).std(axis=0).max() > 0.05


@pytest.mark.slow
def test_markdown_table_matches_results(sweep):
    """The Markdown table has one row per model whose cells are that model's success and fork
    counts."""
    _, results, _ = sweep
    lines = markdown_table(results).splitlines()
    assert lines[0].startswith("| model | D = 8 | D = 12 |")
    for model, line in zip(MODELS, lines[2:], strict=True):
        r = results["results"][model]["12"]
        assert line.startswith(f"| {model} |")
        cell = f"({r['completed']}/{r['levels']}; fork {r['fork_correct']}/{r['fork_reached']})"
        assert cell in line.split("|")[3]


@pytest.mark.slow
def test_progress_lines_per_model_and_distance(sweep):
    """One summary line per (model, D) reaches ``log``."""
    _, _, lines = sweep
    summaries = [s for s in lines if s.startswith("memory sweep:")]
    assert len(summaries) == len(MODELS) * 2
    for model in MODELS:
        assert sum(f" {model} " in s for s in summaries) == 2


def test_study_presets_use_the_plain_corridor():
    """tiny, small and full train and score on the plain corridor (the bumpy one is kept only
    as the record preset ``small-bumpy``)."""
    assert {n: p.corridor for n, p in PRESETS.items()} == {
        "tiny": "plain",
        "small": "plain",
        "full": "plain",
        "small-bumpy": "bumpy",
    }


@pytest.mark.parametrize("distance", (8, 32))
def test_scripted_demos_are_equal_length_and_jump_only_on_upper_levels(distance):
    """The scripted expert's demos of plain memory levels: one episode per level, all of one
    length (so each BPTT stream holds one whole episode), RIGHT+B at every step, A only in the
    upper-route (variant 0) episodes; and the uncut scripted episodes finish every level."""
    levels = memory_pairs(distance, 2, seed=4, verify=False, corridor="plain")
    demos = scripted_demos(levels)
    assert demos.num_episodes == len(levels) and demos.level_names == [lv.name for lv in levels]
    n = len(demos) // len(levels)
    assert np.flatnonzero(demos.episode_starts).tolist() == list(range(0, len(demos), n))
    assert demos.actions[:, BTN_RIGHT].all() and demos.actions[:, BTN_B].all()
    jumps = demos.actions[:, BTN_A].reshape(len(levels), n).any(axis=1)
    assert jumps.tolist() == [True, False] * 2
    assert all(_scripted_episode(lv, 1, 6, 5)[2] for lv in levels)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"distances": [2]}, "distances"),
        ({"distances": [8, 8]}, "repeat"),
        ({"distances": []}, "at least one"),
        ({"preset": "huge"}, "preset"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_arguments_write_nothing(tmp_path, kwargs, message):
    """Bad distances, preset or seed raise a one-line ValueError before anything is written."""
    out = tmp_path / "sweep"
    with pytest.raises(ValueError, match=message) as info:
        run_memory_sweep(out, **{"distances": [8], "preset": "tiny", **kwargs})
    assert "\n" not in str(info.value)
    assert not out.exists()


@pytest.mark.slow
def test_reevaluation_reproduces_the_results(sweep):
    """Re-evaluating the saved agents gives the recorded results (the sweep evaluated what it
    saved, and evaluation is deterministic), and the draw passed in gets them and the plot's
    path."""
    out, results, _ = sweep
    drawn = []
    assert reevaluate_sweep(out, log=lambda _: None, draw=lambda r, p: drawn.append((r, p))) == (
        results
    )
    assert json.loads((out / RESULTS_FILE).read_text()) == results
    assert drawn == [(results, out / PLOT_FILE)]


@pytest.mark.slow
def test_refuses_an_earlier_sweep_directory(sweep):
    """A directory holding a sweep is not overwritten."""
    out, _, _ = sweep
    with pytest.raises(ValueError, match="earlier sweep"):
        run_memory_sweep(out, [8], preset="tiny")
