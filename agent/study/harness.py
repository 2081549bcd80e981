"""The comparison harness: every agent on the same levels, one results file, one summary.

``compare(settings, log, draw)`` loads each agent (``agent.study.agents``: the solver, NEAT
champions, LSTM/GRU/RNN run directories), plays ``episodes`` episodes on every level of every
level set (``agent.study.levelsets``) through the one episode loop of ``agent.episodes``: the
built-in world with ``play_levels`` (one batch of worlds per agent and level set), the real game
with ``envs.smb.console.SmbWorlds`` under MarI/O's timeout (``EpisodeRules.mario``, as NEAT
trains there), and writes into ``settings.out``:

- ``results.json``: every episode, the agents' metadata (kind, network size, inference time per
  decision measured while playing, training frames and wall seconds from the run's
  ``metrics.jsonl``), the level sets, and the summary rows (``RESULTS_FORMAT``);
- ``summary.md``: a table per level set (``agent.study.report``, which also says how the
  confidence intervals are taken);
- the plots, when ``draw`` is given: ``draw(results, curves, out)`` draws them (the entry point
  passes ``viz.plots.draw_comparison``; this package draws nothing) and returns their file
  names, which results.json and summary.md list.

Agents are deterministic (greedy LSTM, NEAT thresholds, solver plan), so repeated episodes of
one level are equal and ``episodes`` > 1 only matters for stochastic agents: with ``sample``
the recurrent policies press each button with its probability (PPO's own behaviour while
training), from a generator seeded with ``sample_seed`` + the agent's index, so runs repeat
exactly.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agent.episodes import BatchEvaluation, EpisodeRules, evaluate_worlds, play_levels
from agent.files import atomic_write_text
from agent.study.agents import RunInfo, describe_run, load, unique_names
from agent.study.levelsets import CompareError, LevelSet
from agent.study.report import summarize, summary_markdown

__all__ = [
    "RESULTS_FORMAT",
    "Curves",
    "Draw",
    "CompareSettings",
    "compare",
    "play_smb",
]

RESULTS_FORMAT = "mario-neat-lab/compare-results"
RESULTS_VERSION = 1
Log = Callable[[str], None]
#: (name, kind, shared metrics lines) of every agent with a training history
Curves = list[tuple[str, str, list[dict[str, Any]]]]
#: draws the plots of ``results`` into the output directory; returns their file names
Draw = Callable[[dict[str, Any], Curves, Path], list[str]]


@dataclass
class CompareSettings:
    """What ``compare`` plays and where it writes."""

    agents: list[str]
    level_sets: list[LevelSet]
    episodes: int = 1
    max_frames: int = 0  # per episode (0: the level's own time limit)
    out: Path = Path("results/compare")
    sample: bool = False  # recurrent agents sample their buttons (seeded) instead of p > 0.5
    sample_seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)  # stored in results.json as given


def play_smb(
    agent: Any, stages: Sequence[str], episodes: int = 1, max_frames: int = 0
) -> BatchEvaluation:
    """``play_levels`` on the real game: ``episodes`` episodes of ``agent`` on each stage, one
    emulator per stage, each episode ending as a NEAT run on the real game ends (death, the
    flag, MarI/O's no-progress timeout) or after ``max_frames``. The records have
    ``play_levels``'s keys and order (level-major within each episode index)."""
    from envs.smb.console import SmbWorlds

    side = 2 * int(agent.view_radius) + 1
    agent.reset(1)  # one untimed decision first: compilation is not inference time
    agent.act(np.zeros((1, side, side), dtype=np.float32))
    rules = EpisodeRules.mario(max_frames=max_frames)
    calls, seconds, per_stage = 0, 0.0, []
    for stage in stages:
        worlds = SmbWorlds.of(stage, 1)
        results = []
        for k in range(episodes):
            worlds.reset()
            start = [r["start_x"] for r in worlds.records()]
            ev = evaluate_worlds(worlds, agent, rules, 1, start)
            calls, seconds = calls + ev.act_calls, seconds + ev.act_seconds
            results.append(dict(ev.episodes[0], episode=k))
        per_stage.append(results)
    ordered = [per_stage[j][k] for k in range(episodes) for j in range(len(stages))]
    return BatchEvaluation(ordered, calls, seconds, 1)


def _check(settings: CompareSettings) -> None:
    if settings.episodes < 1:
        raise CompareError(f"--episodes must be at least 1, got {settings.episodes}")
    if settings.max_frames < 0:
        raise CompareError(f"--max-frames must be 0 (none) or positive, got {settings.max_frames}")
    if not settings.agents:
        raise CompareError("no agents to compare: give run directories, champion files or solver")
    if not settings.level_sets:
        raise CompareError("no levels: give --level and/or --generated")


def compare(
    settings: CompareSettings, log: Log | None = None, draw: Draw | None = None
) -> dict[str, Any]:
    """Play every agent on every level set and write the results; returns results.json's data.

    Every input is checked (agents loadable, levels given) before anything is played or written.
    ``draw``: the plots (module doc); None draws none.
    """
    say = log or (lambda line: None)
    _check(settings)
    runs = [describe_run(str(spec)) for spec in settings.agents]
    unique_names(runs)
    if any(s.env == "smb" for s in settings.level_sets) and any(r.kind == "solver" for r in runs):
        raise CompareError("the solver plans on the built-in world, not on the real game (smb)")
    first = next((s.levels for s in settings.level_sets if s.levels), [])
    agents = {  # refuse bad files up front
        run.name: load(run.spec, first, settings.sample, settings.sample_seed + i)
        for i, run in enumerate(runs)
    }
    for run in runs:
        model = getattr(agents[run.name], "model", None)
        if model is not None and "parameters" not in run.network:
            run.network = {"parameters": int(sum(p.numel() for p in model.parameters()))}

    threads = contextlib.nullcontext()
    if any(getattr(a, "model", None) is not None for a in agents.values()):
        from agent.rnn.model import torch_threads

        threads = torch_threads(1)  # as the trainers: more threads only spin on shared cores
    with threads:
        episodes, timing = _play(settings, runs, agents, say)
    results = _results(settings, runs, episodes, timing)
    write_outputs(results, runs, Path(settings.out), say, draw)
    return results


def _episode_row(run: RunInfo, lset: LevelSet, i: int, e: dict[str, Any]) -> dict[str, Any]:
    return {
        "agent": run.name,
        "run_dir": run.run_dir,
        "kind": run.kind,
        "seed": run.seed,
        "level_set": lset.name,
        "level": e["level"],
        "level_seed": lset.level_seed(i % len(lset.level_names)),
        "episode": e["episode"],
        "completed": bool(e["completed"]),
        "progress": e["progress"] / 100.0,
        "rightmost": e["rightmost"],
        "frames": int(e["frames"]),
        "frames_to_finish": e["frames_to_finish"],
        "dead": bool(e["dead"]),
        "return": e["return"],
        "fitness": e["fitness"],
    }


def _play(
    settings: CompareSettings, runs: list[RunInfo], agents: dict[str, Any], say: Log
) -> tuple[list[dict[str, Any]], dict[str, list[float]]]:
    """Every agent on every level set: the episode rows, and per agent the inference seconds,
    decisions and batch size."""
    episodes: list[dict[str, Any]] = []
    timing: dict[str, list[float]] = {run.name: [0.0, 0.0, 0] for run in runs}
    for lset in settings.level_sets:
        for run in runs:
            agent = load(run.spec, lset.levels) if run.kind == "solver" else agents[run.name]
            if lset.smb_stages is not None:
                ev = play_smb(agent, lset.smb_stages, settings.episodes, settings.max_frames)
            else:
                ev = play_levels(agent, lset.levels, settings.episodes, settings.max_frames)
            timing[run.name][0] += ev.act_seconds
            timing[run.name][1] += ev.act_calls * ev.worlds
            timing[run.name][2] = ev.worlds
            mine = [_episode_row(run, lset, i, e) for i, e in enumerate(ev.episodes)]
            episodes += mine
            done = sum(x["completed"] for x in mine)
            prog = sum(x["progress"] for x in mine) / len(mine)
            say(
                f"{run.name} ({run.kind}) on {lset.name}: {done}/{len(mine)} completed, "
                f"mean progress {100 * prog:.1f}%, "
                f"{1e6 * ev.seconds_per_decision:.1f} us/decision (batch {ev.worlds})"
            )
    return episodes, timing


def _results(
    settings: CompareSettings,
    runs: list[RunInfo],
    episodes: list[dict[str, Any]],
    timing: dict[str, list[float]],
) -> dict[str, Any]:
    agent_rows = []
    for run in runs:
        row = run.to_dict()
        secs, decisions, batch = timing[run.name]
        row["inference_seconds_per_step"] = secs / decisions if decisions else None
        row["inference_batch"] = int(batch) if batch else None
        agent_rows.append(row)
    results: dict[str, Any] = {
        "format": RESULTS_FORMAT,
        "version": RESULTS_VERSION,
        "settings": {
            "episodes": settings.episodes,
            "max_frames": settings.max_frames,
            "sample": settings.sample,
            "sample_seed": settings.sample_seed if settings.sample else None,
        },
        "level_sets": [s.to_dict() for s in settings.level_sets],
        "agents": agent_rows,
        "episodes": episodes,
        **settings.extra,
    }
    results["summary"] = summarize(results)
    return results


def _json_safe(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_json_safe(v) for v in x]
    return x


def write_outputs(
    results: dict[str, Any], runs: list[RunInfo], out: Path, say: Log, draw: Draw | None
) -> None:
    """The plots (``draw``), results.json and summary.md, each written atomically."""
    out.mkdir(parents=True, exist_ok=True)
    curves: Curves = [(r.name, r.kind, r.metrics) for r in runs if r.metrics]
    results["plots"] = [] if draw is None else list(draw(results, curves, out))
    atomic_write_text(out / "results.json", json.dumps(_json_safe(results), indent=1) + "\n")
    atomic_write_text(out / "summary.md", summary_markdown(results))
    say(f"wrote {out / 'results.json'}, {out / 'summary.md'} and {len(results['plots'])} plots")
