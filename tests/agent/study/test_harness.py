"""The comparison harness in process: batched play equals play.py's, results.json's schema,
the summary's confidence intervals, agent metadata, and bad input.

The agents are tiny: the solver, a NEAT champion evolved for two generations of 12 genomes on a
40-column level (``tests.agent.neat.test_trainer``'s set-up), and an untrained 8-unit LSTM saved
with a two-line PPO-style ``metrics.jsonl``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent.episodes import play_levels
from agent.study.harness import (
    CompareError,
    CompareSettings,
    compare,
    describe_run,
    generated_set,
    named_set,
    summarize,
)
from agent.study.stats import mean_ci
from envs.levels.level import load_level
from tests.helpers.runs import check_results_schema, make_lstm_run, make_neat_run

# --- fixtures shared with tests/test_compare_cli.py --------------------------------------------


# --- the schema ------------------------------------------------------------------------------


# --- tests -----------------------------------------------------------------------------------


def test_batched_play_gives_the_episodes_play_py_gives(tmp_path):
    """``play_levels`` (all levels in one batch) reports, for the solver and a NEAT champion,
    exactly what ``play.py``'s one-world ``play_episodes`` reports on each level."""
    import play
    from agent.base import load_agent

    run, level_file = make_neat_run(tmp_path)
    levels = [load_level(level_file), load_level("1-1")]
    for spec in ("solver", str(run)):
        batch = play_levels(load_agent(spec, levels), levels, episodes=2)
        assert len(batch.episodes) == 4 and batch.worlds == 4 and batch.act_calls > 0
        for i, level in enumerate(levels):
            game = play.Game.start(level.name, level)
            (single,) = play.play_episodes(game, load_agent(spec, [level]), 1)
            for e in (batch.episodes[i], batch.episodes[i + 2]):
                assert {k: e[k] for k in single} == single


def test_max_frames_cuts_episodes_short(tmp_path):
    """With ``max_frames`` no episode runs longer, and a cut episode is not completed."""
    from agent.base import load_agent

    levels = [load_level("1-1")]
    (e,) = play_levels(load_agent("solver", levels), levels, max_frames=100).episodes
    assert e["frames"] == 100 and not e["completed"] and e["frames_to_finish"] is None


def test_compare_writes_results_that_follow_the_schema(tmp_path):
    """Solver, NEAT and LSTM on a named and a generated level set: results.json follows the
    schema, the solver completes everything, sizes and training figures come from the runs'
    files, and summary.md has a table per level set."""
    neat_run, level_file = make_neat_run(tmp_path)
    lstm_run = make_lstm_run(tmp_path)
    out = tmp_path / "out"
    lines: list[str] = []
    settings = CompareSettings(
        agents=["solver", str(neat_run), str(lstm_run)],
        level_sets=[named_set([str(level_file)], "tiny"), generated_set(1, 5, 0.3, 40)],
        episodes=2,
        out=out,
        plots=False,
    )
    returned = compare(settings, log=lines.append)
    results = json.loads((out / "results.json").read_text())
    assert results == json.loads(json.dumps(returned))
    check_results_schema(results)
    assert len(lines) == 2 * 3 + 1  # one line per agent and level set, one for the files
    solver = [e for e in results["episodes"] if e["agent"] == "solver"]
    assert all(e["completed"] for e in solver)
    agents = {a["kind"]: a for a in results["agents"]}
    metrics = [json.loads(x) for x in (neat_run / "metrics.jsonl").read_text().splitlines()]
    assert agents["neat"]["training"]["frames"] == metrics[-1]["frames"]
    assert agents["neat"]["seed"] == 0
    champion = json.loads((neat_run / "champion.json").read_text())
    assert agents["neat"]["network"]["connections"] > 0
    assert str(agents["neat"]["network"]["nodes"]) in agents["neat"]["size"]
    assert champion["generation"] in (0, 1)
    assert agents["ppo-lstm"]["training"] == {"frames": 1280, "wall_seconds": 1.1,
                                              "metrics_lines": 2}  # fmt: skip
    from agent.rnn.model import load_model

    model, _, _ = load_model(lstm_run)
    assert agents["ppo-lstm"]["network"] == {
        "parameters": sum(p.numel() for p in model.parameters())
    }
    assert agents["solver"]["training"] is None and agents["solver"]["network"] == {}
    gen = [e for e in results["episodes"] if e["level_set"] == "generated-s5-n1"]
    assert {e["level_seed"] for e in gen} == {5}
    summary = (out / "summary.md").read_text()
    assert "## tiny" in summary and "## generated-s5-n1" in summary
    assert summary.count("| agent | kind | completion % |") == 2


def _fake_results(per_run: dict[str, list[bool]]) -> dict[str, Any]:
    """Results with one level set; ``per_run[name]``: that NEAT run's completions."""
    agents, episodes = [], []
    for name, completions in per_run.items():
        agents.append({"name": name, "kind": "neat", "size": "3 nodes / 4 links",
                       "network": {"nodes": 3, "connections": 4},
                       "inference_seconds_per_step": 1e-5, "training": None})  # fmt: skip
        for i, done in enumerate(completions):
            episodes.append(
                {
                    "agent": name,
                    "level_set": "s",
                    "completed": done,
                    "progress": 1.0 if done else 0.5,
                    "episode": 0,
                    "frames_to_finish": 100 + i if done else None,
                    "level": f"l{i}",
                }
            )
    return {"agents": agents, "episodes": episodes, "level_sets": [{"name": "s"}]}


def test_kind_rows_take_the_interval_over_runs_and_agent_rows_over_levels():
    """Three NEAT runs completing 1/4, 2/4 and 4/4 levels: each run's row is the t-interval over
    its 4 levels; the kind row is the t-interval over the three run means (n = 3)."""
    results = _fake_results(
        {
            "a": [True, False, False, False],
            "b": [True, True, False, False],
            "c": [True, True, True, True],
        }
    )
    rows = summarize(results)["s"]
    assert [r["agent"] for r in rows] == ["a", "b", "c", "neat (mean of 3 runs)"]
    b = rows[1]["completion"]
    expected = mean_ci([1, 1, 0, 0])
    assert (b["mean"], b["ci95"], b["n"]) == (0.5, pytest.approx(expected.half_width), 4)
    kind = rows[3]
    expected = mean_ci([0.25, 0.5, 1.0])
    assert kind["ci_over"] == "runs" and kind["runs"] == 3
    assert kind["completion"]["mean"] == pytest.approx(expected.mean)
    assert kind["completion"]["ci95"] == pytest.approx(expected.half_width)
    assert kind["completion"]["n"] == 3
    assert kind["frames_to_finish"]["mean"] == pytest.approx((100 + 100.5 + 101.5) / 3)


def test_repeated_episodes_of_a_level_count_as_one_level():
    """Two episodes on each of two levels (l0: one completed in 100 frames, one not; l1: both
    failed): completion is the t-interval over the level means [0.5, 0] with n = 2, not over
    four episodes, and frames to finish averages l0's completed episode only."""
    results = _fake_results({"r": [True, False]})
    results["episodes"] += [dict(e, episode=1, completed=False, frames_to_finish=None,
                                 progress=0.5) for e in results["episodes"]]  # fmt: skip
    (row,) = summarize(results)["s"]
    expected = mean_ci([0.5, 0.0])
    assert row["completion"]["n"] == 2 and row["completion"]["mean"] == 0.25
    assert row["completion"]["ci95"] == pytest.approx(expected.half_width)
    assert row["progress"]["mean"] == pytest.approx((0.75 + 0.5) / 2)
    assert row["frames_to_finish"] == {"mean": 100.0, "ci95": None, "n": 1}


def test_a_single_run_of_a_kind_gets_no_pooled_row():
    """A kind with one run has only its own row (nothing to pool)."""
    rows = summarize(_fake_results({"only": [True, False]}))["s"]
    assert [r["ci_over"] for r in rows] == ["levels"]


def test_bad_agents_and_levels_are_refused_before_anything_is_written(tmp_path):
    """A missing run, a directory without an agent, an unknown level, a generated count below
    one and zero episodes each raise a one-line ``CompareError`` and write no output."""
    (tmp_path / "empty").mkdir()
    out = tmp_path / "out"
    level_set = named_set(["1-1"])
    cases = [
        (["solver", str(tmp_path / "missing")], "no such run directory"),
        ([str(tmp_path / "empty")], "not an agent"),
    ]
    for agents, message in cases:
        with pytest.raises(CompareError, match=message) as info:
            compare(CompareSettings(agents, [level_set], out=out))
        assert "\n" not in str(info.value)
    with pytest.raises(CompareError, match="episodes"):
        compare(CompareSettings(["solver"], [level_set], episodes=0, out=out))
    with pytest.raises(CompareError, match="--levels no-such-level"):
        named_set(["1-1", "no-such-level"])
    with pytest.raises(CompareError, match="--generated must be at least 1"):
        generated_set(0, 0)
    assert not out.exists()


def test_describe_run_reads_a_corrupt_metrics_file_as_an_error(tmp_path):
    """A metrics.jsonl with a broken line is named with its line number."""
    run = make_lstm_run(tmp_path)
    (run / "metrics.jsonl").write_text('{"frames": 1}\nnot json\n')
    with pytest.raises(CompareError, match=r"metrics.jsonl:2: not JSON"):
        describe_run(str(run))


def test_sampled_play_repeats_exactly_and_varies_between_episodes(tmp_path):
    """With ``sample`` an (untrained, near 50/50) LSTM's three episodes of one level differ,
    and the same settings and seed give the same episodes again."""
    lstm_run = make_lstm_run(tmp_path)

    def episodes(out: str) -> list[dict[str, Any]]:
        settings = CompareSettings(
            [str(lstm_run)], [named_set(["1-1"])], episodes=3, out=tmp_path / out,
            plots=False, sample=True, sample_seed=7, max_frames=600,
        )  # fmt: skip
        return compare(settings)["episodes"]

    first = episodes("a")
    assert first == episodes("b")
    assert len({(e["frames"], e["rightmost"]) for e in first}) > 1
    results = json.loads((tmp_path / "a" / "results.json").read_text())
    assert results["settings"]["sample"] is True and results["settings"]["sample_seed"] == 7
