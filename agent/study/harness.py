"""The comparison harness: every agent on the same levels, one results file, one summary.

``compare(settings)`` loads each agent through ``agent.base.load_agent`` (the solver, NEAT
champions, LSTM/GRU/RNN run directories), plays ``episodes`` episodes on every level of every
level set with ``agent.episodes.play_levels`` (one batch of worlds per agent and level set),
and writes into ``settings.out``:

- ``results.json``: every episode, the agents' metadata (kind, network size, inference time per
  decision measured while playing, training frames and wall seconds from the run's
  ``metrics.jsonl``), the level sets, and the summary rows (``RESULTS_FORMAT``);
- ``summary.md``: a table per level set (``agent.study.report``);
- ``learning_curves.png`` and ``completion_<set>.png`` (``viz.plots``).

Confidence intervals (95 %, Student t): a *kind* row (two or more runs of one kind, e.g. NEAT
over seeds) is the mean of the runs' own means with the t-interval over runs (n = runs); a
single run's row uses the t-interval over the levels of the set, each level's episodes averaged
first (n = levels), so repeating a deterministic agent's episodes narrows nothing. Agents are
deterministic (greedy LSTM, NEAT thresholds, solver plan), so repeated episodes of one level are
equal and ``episodes`` > 1 only matters for stochastic agents: with ``sample`` the recurrent
policies press each button with its probability (PPO's own behaviour while training), from a
generator seeded with ``sample_seed`` + the agent's index, so runs repeat exactly.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agent.base import AgentError, load_agent
from agent.episodes import BatchEvaluation, play_levels
from agent.files import atomic_write_text
from agent.study.stats import mean_ci
from envs.levels.level import Level, LevelError, load_level
from envs.sim.constants import TILE_PX

__all__ = [
    "RESULTS_FORMAT",
    "CompareError",
    "CompareSettings",
    "LevelSet",
    "RunInfo",
    "compare",
    "describe_run",
    "generated_set",
    "named_set",
    "play_smb",
    "smb_set",
]

RESULTS_FORMAT = "mario-neat-lab/compare-results"
RESULTS_VERSION = 1
Log = Callable[[str], None]


class CompareError(ValueError):
    """Bad input to the harness (a missing run, an unknown level); the message is one line."""


@dataclass
class LevelSet:
    """Levels played together and reported in one table."""

    name: str
    levels: list[Level]
    seeds: list[int] | None = None  # generated levels' seeds (None: named levels)
    difficulty: float | None = None
    length: int | None = None
    smb_stages: list[str] | None = None  # the real game's stages instead of ``levels``

    @property
    def env(self) -> str:
        return "world" if self.smb_stages is None else "smb"

    @property
    def level_names(self) -> list[str]:
        return [lv.name for lv in self.levels] if self.smb_stages is None else self.smb_stages

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "env": self.env,
            "levels": self.level_names,
            "seeds": self.seeds,
            "difficulty": self.difficulty,
            "length": self.length,
        }


def named_set(specs: Sequence[str], name: str = "named") -> LevelSet:
    """Built-in level names or level files as a level set; ``CompareError`` if one is unknown."""
    levels = []
    for spec in specs:
        try:
            levels.append(load_level(spec))
        except (LevelError, OSError) as exc:
            raise CompareError(f"--levels {spec}: {str(exc).splitlines()[0]}") from None
    if not levels:
        raise CompareError("--levels: no levels given")
    return LevelSet(name, levels)


def smb_set(specs: Sequence[str], name: str = "smb") -> LevelSet:
    """Stages of the real Super Mario Bros. (``"1-1"``; the ``nes`` extra) as a level set.

    Only stages whose end MarI/O knows (1-1, x 3186) can report progress, so only those."""
    from envs.smb.console import STAGE_END_X
    from envs.smb.ram import parse_stage

    stages = []
    for spec in specs:
        try:
            world, stage = parse_stage(spec)
        except ValueError as exc:
            raise CompareError(f"--levels {spec}: {str(exc).splitlines()[0]}") from None
        if (world, stage) != (1, 1):
            raise CompareError(
                f"--levels {spec}: with --env smb only 1-1 has a known end "
                f"(x {STAGE_END_X['1-1']}) to measure progress against"
            )
        stages.append(f"{world}-{stage}")
    if not stages:
        raise CompareError("--levels: no stages given")
    return LevelSet(name, [], smb_stages=stages)


def generated_set(count: int, seed: int, difficulty: float = 0.3, length: int = 150) -> LevelSet:
    """``count`` generated levels with seeds ``seed .. seed + count - 1``."""
    from envs.levels.generator import generate_level

    if count < 1:
        raise CompareError(f"--generated must be at least 1, got {count}")
    seeds = list(range(seed, seed + count))
    try:
        levels = [generate_level(s, difficulty, length) for s in seeds]
    except ValueError as exc:
        raise CompareError(f"--generated: {exc}") from None
    return LevelSet(f"generated-s{seed}-n{count}", levels, seeds, difficulty, length)


@dataclass
class RunInfo:
    """What the harness knows about one agent before playing it."""

    spec: str  # as given: "solver", a run directory or a champion.json
    name: str  # unique display name
    kind: str  # "solver", "neat", "ppo-lstm", "bc-gru", ...
    run_dir: str | None
    seed: int | None
    network: dict[str, int]  # {"nodes", "connections"} or {"parameters"}; {} for the solver
    train_frames: int | None
    train_wall_seconds: float | None
    metrics: list[dict[str, Any]] = field(default_factory=list)

    @property
    def size_text(self) -> str:
        n = self.network
        if "parameters" in n:
            return f"{n['parameters']:,} params"
        if "nodes" in n:
            return f"{n['nodes']} nodes / {n['connections']} links"
        return "-"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "spec": self.spec,
            "run_dir": self.run_dir,
            "kind": self.kind,
            "seed": self.seed,
            "network": self.network,
            "size": self.size_text,
            "training": None
            if self.train_frames is None
            else {
                "frames": self.train_frames,
                "wall_seconds": self.train_wall_seconds,
                "metrics_lines": len(self.metrics),
            },
        }


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The lines of a run's ``metrics.jsonl`` ([] when absent); ``CompareError`` if corrupt."""
    if not path.is_file():
        return []
    out = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CompareError(f"{path}:{i}: not JSON ({exc.msg})") from None
        if not isinstance(item, dict):
            raise CompareError(f"{path}:{i}: not a JSON object")
        out.append(item)
    return out


def training_frames(metrics: list[dict[str, Any]]) -> int | None:
    """Environment frames used by training, from the last metrics line (any trainer's key)."""
    if not metrics:
        return None
    last = metrics[-1]
    for key in ("frames_simulated", "env_frames", "frames"):
        if isinstance(last.get(key), int | float):
            return int(last[key])
    return None


def describe_run(spec: str) -> RunInfo:
    """Kind, size, seed and training figures of ``spec`` (read from its files)."""
    if spec == "solver":
        return RunInfo(spec, "solver", "solver", None, None, {}, None, None)
    path = Path(spec)
    if not path.exists():
        raise CompareError(f"{spec}: no such run directory or agent file")
    run_dir = path if path.is_dir() else path.parent
    metrics = read_metrics(run_dir / "metrics.jsonl")
    frames = training_frames(metrics)
    wall = metrics[-1].get("wall_seconds") if metrics else None
    name = run_dir.resolve().name if path.is_dir() else f"{run_dir.resolve().name}/{path.stem}"
    if path.is_dir() and (path / "model.json").is_file():
        from agent.rnn.model import read_model_json

        try:
            config, extra = read_model_json(path)
        except ValueError as exc:
            raise CompareError(str(exc).splitlines()[0]) from None
        kind = f"{extra.get('trainer', 'rnn')}-{config.cell}"
        seed = extra.get("seed")
        network: dict[str, int] = {}  # parameters: counted once the model is loaded
    else:
        from agent.neat.champion import load_champion

        champ_path = path / "champion.json" if path.is_dir() else path
        if not champ_path.is_file():
            raise CompareError(
                f"{spec}: not an agent (no champion.json or model.json in {run_dir})"
            )
        try:
            champ = load_champion(champ_path)
        except ValueError as exc:
            raise CompareError(str(exc).splitlines()[0]) from None
        nodes, links = champ.genome.size()
        network = {"nodes": int(nodes), "connections": int(links)}
        kind = "neat"
        seed = champ.extra.get("seed") if isinstance(champ.extra, dict) else None
    return RunInfo(
        spec,
        name,
        kind,
        str(run_dir),
        None if seed is None else int(seed),
        network,
        frames,
        None if wall is None else float(wall),
        metrics,
    )


@dataclass
class CompareSettings:
    """What ``compare`` plays and where it writes."""

    agents: list[str]
    level_sets: list[LevelSet]
    episodes: int = 1
    max_frames: int = 0  # per episode (0: the level's own time limit)
    out: Path = Path("results/compare")
    plots: bool = True
    sample: bool = False  # recurrent agents sample their buttons (seeded) instead of p > 0.5
    sample_seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)  # stored in results.json as given


def _load(spec: str, levels: list[Level], sample: bool = False, seed: int = 0):
    try:
        agent = load_agent(spec, levels)
        if sample and getattr(agent, "model", None) is not None:  # a recurrent policy
            from agent.rnn.policy import RecurrentAgent

            return RecurrentAgent.from_dir(spec, sample=True, seed=seed)
        return agent
    except (AgentError, OSError) as exc:
        raise CompareError(str(exc).splitlines()[0]) from None


def _level_seed(lset: LevelSet, i: int) -> int | None:
    """The generator seed of the set's level ``i`` (None for hand-made levels and stages)."""
    if lset.smb_stages is not None:
        return None
    if lset.seeds is not None:
        return lset.seeds[i]
    seed = lset.levels[i].meta.get("seed")
    return None if seed is None else int(seed)


class _TimedAgent:
    """An agent whose ``act`` calls are counted and timed; everything else is the agent's."""

    def __init__(self, agent: Any):
        self.agent, self.calls, self.seconds = agent, 0, 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.agent, name)

    def act(self, observations: Any) -> Any:
        t0 = time.perf_counter()
        out = self.agent.act(observations)
        self.seconds += time.perf_counter() - t0
        self.calls += 1
        return out


def play_smb(
    agent: Any, stages: Sequence[str], episodes: int = 1, max_frames: int = 0
) -> BatchEvaluation:
    """``play_levels`` on the real game: ``episodes`` episodes of ``agent`` on each stage, one
    emulator, each ending as a NEAT run on the real game ends (``viz.smb_view.play_episodes``:
    death, the flag, MarI/O's no-progress timeout, or ``max_frames``). The records have
    ``play_levels``'s keys; ``return`` is the Gymnasium env's default reward, as there."""
    from envs.gym.episodes import RewardConfig
    from viz.smb_view import SmbGame, play_episodes

    side = 2 * int(agent.view_radius) + 1
    agent.reset(1)  # one untimed decision first: compilation is not inference time
    agent.act(np.zeros((1, side, side), dtype=np.float32))
    timed, r = _TimedAgent(agent), RewardConfig()
    per_stage = []
    for stage in stages:
        game = SmbGame(stage)
        results = []
        for k, res in enumerate(play_episodes(game, timed, episodes, max_frames)):
            done, dead = bool(res["completed"]), bool(res["dead"])
            gained = (res["rightmost"] - game.console.start_x) / TILE_PX
            ret = r.progress_per_tile * gained - r.step_penalty * (res["frames"] / agent.frame_skip)
            ret += r.completion_bonus * done - r.death_penalty * dead
            res.pop("timeout", None)
            res.update(episode=k, frames_to_finish=res["frames"] if done else None)
            res["return"] = round(ret, 3)
            results.append(res)
        per_stage.append(results)
    ordered = [per_stage[j][k] for k in range(episodes) for j in range(len(stages))]
    return BatchEvaluation(ordered, timed.calls, timed.seconds, 1)


def _unique_names(runs: list[RunInfo]) -> None:
    seen: dict[str, int] = {}
    for run in runs:
        k = seen.get(run.name, 0)
        seen[run.name] = k + 1
        if k:
            run.name = f"{run.name}#{k + 1}"


def compare(settings: CompareSettings, log: Log | None = None) -> dict[str, Any]:
    """Play every agent on every level set and write the results; returns results.json's data.

    Every input is checked (agents loadable, levels given) before anything is played or written.
    """
    say = log or (lambda line: None)
    if settings.episodes < 1:
        raise CompareError(f"--episodes must be at least 1, got {settings.episodes}")
    if settings.max_frames < 0:
        raise CompareError(f"--max-frames must be 0 (none) or positive, got {settings.max_frames}")
    if not settings.agents:
        raise CompareError("no agents to compare: give run directories, champion files or solver")
    if not settings.level_sets:
        raise CompareError("no levels: give --levels and/or --generated")
    runs = [describe_run(str(spec)) for spec in settings.agents]
    _unique_names(runs)
    if any(s.env == "smb" for s in settings.level_sets) and any(r.kind == "solver" for r in runs):
        raise CompareError("the solver plans on the built-in world, not on the real game (smb)")
    first = next((s.levels for s in settings.level_sets if s.levels), [])
    agents = {  # refuse bad files up front
        run.name: _load(run.spec, first, settings.sample, settings.sample_seed + i)
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
        return _play_and_write(settings, runs, agents, say)


def _play_and_write(
    settings: CompareSettings, runs: list[RunInfo], agents: dict[str, Any], say: Log
) -> dict[str, Any]:
    episodes: list[dict[str, Any]] = []
    timing: dict[str, list[float]] = {run.name: [0.0, 0.0] for run in runs}  # seconds, decisions
    batch: dict[str, int] = {}
    for lset in settings.level_sets:
        for run in runs:
            agent = _load(run.spec, lset.levels) if run.kind == "solver" else agents[run.name]
            if lset.smb_stages is not None:
                ev = play_smb(agent, lset.smb_stages, settings.episodes, settings.max_frames)
            else:
                ev = play_levels(agent, lset.levels, settings.episodes, settings.max_frames)
            timing[run.name][0] += ev.act_seconds
            timing[run.name][1] += ev.act_calls * ev.worlds
            batch[run.name] = ev.worlds
            for i, e in enumerate(ev.episodes):
                level_i = i % len(lset.level_names)
                episodes.append(
                    {
                        "agent": run.name,
                        "run_dir": run.run_dir,
                        "kind": run.kind,
                        "seed": run.seed,
                        "level_set": lset.name,
                        "level": e["level"],
                        "level_seed": _level_seed(lset, level_i),
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
                )
            mine = [x for x in episodes if x["agent"] == run.name and x["level_set"] == lset.name]
            done = sum(x["completed"] for x in mine)
            prog = sum(x["progress"] for x in mine) / len(mine)
            say(
                f"{run.name} ({run.kind}) on {lset.name}: {done}/{len(mine)} completed, "
                f"mean progress {100 * prog:.1f}%, "
                f"{1e6 * ev.seconds_per_decision:.1f} us/decision (batch {ev.worlds})"
            )

    agent_rows = []
    for run in runs:
        row = run.to_dict()
        secs, decisions = timing[run.name]
        row["inference_seconds_per_step"] = secs / decisions if decisions else None
        row["inference_batch"] = batch.get(run.name)
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
    write_outputs(results, runs, settings, say)
    return results


# --------------------------------------------------------------------------------------------
# Summary rows
# --------------------------------------------------------------------------------------------


def _ci(values: list[float]) -> dict[str, Any] | None:
    if not values:
        return None
    c = mean_ci(values)
    return {"mean": c.mean, "ci95": c.half_width, "n": c.n}


def _per_level(episodes: list[dict[str, Any]], key: str) -> list[float]:
    """Each level's mean of ``key`` over its episodes (completed ones only for frames to
    finish): repeated episodes of a deterministic agent count once, as one level."""
    by_level: dict[str, list[float]] = {}
    for e in episodes:
        if key != "frames_to_finish" or e["completed"]:
            by_level.setdefault(e["level"], []).append(float(e[key]))
    return [sum(v) / len(v) for v in by_level.values()]


def _agent_row(episodes: list[dict[str, Any]], meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "agent": meta["name"],
        "kind": meta["kind"],
        "runs": 1,
        "ci_over": "levels",
        "completion": _ci(_per_level(episodes, "completed")),
        "progress": _ci(_per_level(episodes, "progress")),
        "frames_to_finish": _ci(_per_level(episodes, "frames_to_finish")),
        "size": meta["size"],
        "network": meta["network"],
        "inference_seconds_per_step": meta["inference_seconds_per_step"],
        "train_frames": None if meta["training"] is None else meta["training"]["frames"],
        "train_wall_seconds": None
        if meta["training"] is None
        else meta["training"]["wall_seconds"],
    }


def _mean(values: list[float | None]) -> float | None:
    xs = [float(v) for v in values if v is not None]
    return sum(xs) / len(xs) if xs else None


def _mean_size(networks: list[dict[str, int]]) -> str:
    """The runs' mean network size, e.g. ``"mean 7.5 nodes / 40.0 links"``."""
    if all("nodes" in n for n in networks):
        nodes = sum(n["nodes"] for n in networks) / len(networks)
        links = sum(n["connections"] for n in networks) / len(networks)
        return f"mean {nodes:.1f} nodes / {links:.1f} links"
    if all("parameters" in n for n in networks):
        return f"mean {sum(n['parameters'] for n in networks) / len(networks):,.0f} params"
    return "mixed"


def _kind_row(kind: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A kind's runs together: the t-interval over the runs' own means."""

    def over_runs(key: str) -> dict[str, Any] | None:
        return _ci([r[key]["mean"] for r in rows if r[key] is not None])

    sizes = {r["size"] for r in rows}
    size = sizes.pop() if len(sizes) == 1 else _mean_size([r["network"] for r in rows])
    return {
        "agent": f"{kind} (mean of {len(rows)} runs)",
        "kind": kind,
        "runs": len(rows),
        "ci_over": "runs",
        "completion": over_runs("completion"),
        "progress": over_runs("progress"),
        "frames_to_finish": over_runs("frames_to_finish"),
        "size": size,
        "network": {},
        "inference_seconds_per_step": _mean([r["inference_seconds_per_step"] for r in rows]),
        "train_frames": _mean([r["train_frames"] for r in rows]),
        "train_wall_seconds": _mean([r["train_wall_seconds"] for r in rows]),
    }


def summarize(results: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Per level set: one row per agent, then one per kind with two or more runs."""
    meta = {a["name"]: a for a in results["agents"]}
    out: dict[str, list[dict[str, Any]]] = {}
    for lset in results["level_sets"]:
        rows = []
        for name, m in meta.items():
            eps = [
                e
                for e in results["episodes"]
                if e["agent"] == name and e["level_set"] == lset["name"]
            ]
            rows.append(_agent_row(eps, m))
        kinds: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            kinds.setdefault(r["kind"], []).append(r)
        rows += [_kind_row(k, rs) for k, rs in kinds.items() if len(rs) >= 2]
        out[lset["name"]] = rows
    return out


def per_level_completion(results: dict[str, Any], level_set: str) -> dict[str, dict[str, float]]:
    """``{kind: {level: completion rate}}`` over a kind's runs and episodes, for the bars."""
    acc: dict[str, dict[str, list[float]]] = {}
    for e in results["episodes"]:
        if e["level_set"] == level_set:
            acc.setdefault(e["kind"], {}).setdefault(e["level"], []).append(float(e["completed"]))
    return {k: {lv: sum(v) / len(v) for lv, v in d.items()} for k, d in acc.items()}


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def _json_safe(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_json_safe(v) for v in x]
    return x


def write_outputs(
    results: dict[str, Any], runs: list[RunInfo], settings: CompareSettings, say: Log
) -> None:
    """results.json, summary.md and the plots, each written atomically."""
    from agent.study.report import summary_markdown

    out = Path(settings.out)
    out.mkdir(parents=True, exist_ok=True)
    plots: list[str] = []
    if settings.plots:
        from viz.plots import completion_bars, learning_curves

        curves = [(r.name, r.kind, r.metrics) for r in runs if r.metrics]
        if curves:
            learning_curves(curves, out / "learning_curves.png")
            plots.append("learning_curves.png")
        for lset in results["level_sets"]:
            name = f"completion_{lset['name']}.png"
            completion_bars(
                per_level_completion(results, lset["name"]), lset["levels"], lset["name"],
                out / name,
            )  # fmt: skip
            plots.append(name)
    results["plots"] = plots
    atomic_write_text(out / "results.json", json.dumps(_json_safe(results), indent=1) + "\n")
    atomic_write_text(out / "summary.md", summary_markdown(results))
    say(f"wrote {out / 'results.json'}, {out / 'summary.md'} and {len(plots)} plots")
