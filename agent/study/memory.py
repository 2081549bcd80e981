"""The memory study: success on memory levels (``envs.levels.memory``) against the cue-fork
distance D.

``run_memory_sweep(out_dir, distances, preset, seed)`` trains, for every D, five learners on the
same training pairs of memory levels (both variants of several seeded layouts) and measures
their success rate on held-out pairs (other layouts, both variants):

* ``neat-ff`` / ``neat-rec``: NEAT (``agent.neat.trainer.train``) with ``configs/neat_feedforward
  .ini`` / ``configs/neat.ini`` (population and generations from the preset), fitness as for
  every NEAT run (progress, a completion bonus);
* ``lstm`` / ``gru`` / ``rnn``: the recurrent policy of ``agent.rnn.model`` trained by behaviour
  cloning (``agent.rnn.bc.train_bc``). BC rather than PPO: the expert's labels are right at the
  fork in both variants, and the only thing the student lacks is the cue, which it must carry
  in its state. That isolates memory from exploration and credit assignment over rewards (PPO
  would also have to discover that the cue matters from a sparse completion bonus), and it is
  much cheaper.

The presets use the *plain* corridor (``envs.levels.memory``, ``corridor="plain"``): flat, so
reaching the fork is holding RIGHT+B and the fork is the only decision; the first ``small`` run,
on the bumpy corridor, failed mostly before the fork and measured navigation rather than memory
(``docs/results.md``). On the plain corridor the expert is scripted (``scripted_demos``): RIGHT+B
throughout, plus a jump at the hole when the upper route is safe. The solver would do, but its
ties make it press A at arbitrary corridor steps, labels no policy can predict, and it costs
about a second a search. The demos are cut to the shortest episode (the tunnel takes a few
steps longer than the upper route; the cut keeps every fork) and BC runs one stream per
episode, with a BPTT window longer than an episode: ``agent.rnn.bc.stream_windows`` lays episodes
end to end, so episodes of unequal length get split across streams and the part with the fork
starts from a zeroed state, without the cue. DAgger (``dagger_iters``, with the solver as
expert) is off in these presets: on a flat corridor the student meets no state the expert's
run does not show until the fork, where one wrong step is fatal anyway. With the bumpy corridor
(``corridor="bumpy"``, the ``small-bumpy`` preset of the first run) the solver gives the demos
and labels DAgger states, as before.

A memoryless policy finishes at most one level of each pair (``tests/envs/levels/test_memory.py``),
so 50% is the ceiling for ``neat-ff`` and a policy that ignores the cue.

Files: ``out_dir/memory_results.json`` (settings, per model and D: success rate, successes per
variant, the choice at the fork, training seconds) and ``out_dir/memory_sweep.png`` (drawn by
the ``draw`` function the caller passes: ``compare.py`` passes ``viz.plots.memory_sweep_plot``),
both written atomically; each training run keeps its own directory under ``out_dir/runs/``, and the
level files used for NEAT under ``out_dir/levels/``. Presets: ``tiny`` (tests, seconds),
``small`` (4 training and 8 held-out layouts, NEAT 100 x 20, 64 hidden units and 2000 BC
updates: minutes for D = 8..64 on two shared cores), ``full`` (16 / 32 layouts, NEAT 300 x 100,
128 hidden units, 6000 updates; hours), ``small-bumpy`` (the first run's settings, bumpy
corridor). Plain layouts differ only in the cue's column (16 values), so some held-out
layouts repeat training ones.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agent.episodes import EpisodeRules, Episodes
from agent.files import atomic_write_text
from agent.study.metrics import run_summary
from agent.study.protocol import write_neat_config
from envs.levels.level import Level
from envs.levels.memory import MAX_DISTANCE, MIN_DISTANCE, memory_pairs, route_taken
from envs.sim.constants import COMPLETED
from envs.sim.world import LevelBank, World

__all__ = [
    "MODELS",
    "PRESETS",
    "SweepPreset",
    "evaluate_agent",
    "markdown_table",
    "reevaluate_sweep",
    "run_memory_sweep",
]

RESULTS_FILE = "memory_results.json"
PLOT_FILE = "memory_sweep.png"
MODELS = ("neat-ff", "neat-rec", "lstm", "gru", "rnn")
CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"
NEAT_CONFIGS = {"neat-ff": "neat_feedforward.ini", "neat-rec": "neat.ini"}
EVAL_SEED_OFFSET = 1_000_003  # held-out layouts come from another seed stream
#: draws a sweep's plot (``viz.plots.memory_sweep_plot``, passed in by compare.py) to a path
Draw = Callable[[dict, Path], None]
NO_PROGRESS_FRAMES = 300  # an evaluation episode ends this long without new rightmost progress


@dataclass(frozen=True)
class SweepPreset:
    """How much training each (model, D) gets."""

    train_pairs: int  # layouts for training (2 levels each)
    eval_pairs: int  # held-out layouts for the success rate (2 levels each)
    neat_population: int
    neat_generations: int
    hidden: int  # recurrent state size of lstm / gru / rnn
    encoder: int
    bc_updates: int  # gradient steps per BC round
    dagger_iters: int
    batch_windows: int
    lr: float = 2e-3
    dagger_episodes: int = 2  # student episodes per level and DAgger round
    label_expansions: int = 20_000  # the expert must see the wrong route's end to avoid it
    corridor: str = (
        "plain"  # envs.levels.memory: "plain" (flat; scripted expert) or "bumpy" (solver)
    )


PRESETS: dict[str, SweepPreset] = {
    "tiny": SweepPreset(1, 1, 10, 1, 8, 16, 3, 0, 2),
    "small": SweepPreset(4, 8, 100, 20, 64, 64, 2000, 0, 8),
    "full": SweepPreset(16, 32, 300, 100, 128, 128, 6000, 0, 32),
    # the first small run's settings (bumpy corridor, solver + one DAgger round), for the record
    "small-bumpy": SweepPreset(
        4, 8, 100, 20, 32, 64, 200, 1, 8, dagger_episodes=1, corridor="bumpy"
    ),
}


def evaluate_agent(agent: Any, levels: Sequence[Level]) -> tuple[np.ndarray, np.ndarray]:
    """One greedy episode of an ``agent.base.Agent`` per memory level, in one batch through
    ``agent.episodes.Episodes`` (ended at the flag, a death, the time limit or
    ``NO_PROGRESS_FRAMES`` without progress): which levels it completed, and the route it took
    at each fork (0 upper, 1 lower, -1 never got past it)."""
    world = World(LevelBank(list(levels)), len(levels))
    world.reset(np.arange(len(levels), dtype=np.int32))
    route = np.full(len(levels), -1)

    def watch(_held: np.ndarray) -> None:
        now = route_taken(world, levels)
        first = (route < 0) & (now >= 0)
        route[first] = now[first]

    Episodes(world, agent, rules=EpisodeRules(NO_PROGRESS_FRAMES)).run(on_step=watch)
    return world.status() == COMPLETED, route


def _validate(distances: Sequence[int], preset: str, seed: int) -> list[int]:
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    ds = list(distances)
    if not ds:
        raise ValueError("distances: give at least one distance")
    for d in ds:
        if isinstance(d, bool) or not isinstance(d, int) or not MIN_DISTANCE <= d <= MAX_DISTANCE:
            raise ValueError(
                f"distances must be integers within {MIN_DISTANCE}..{MAX_DISTANCE}, got {d!r}"
            )
    if len(set(ds)) != len(ds):
        raise ValueError(f"distances must not repeat, got {ds}")
    return sorted(ds)


def _train_neat(model: str, paths: list[Path], p: SweepPreset, seed: int, out: Path, log):
    from agent.neat.trainer import TrainSettings, train

    out.mkdir(parents=True, exist_ok=True)
    settings = TrainSettings(
        levels=[str(x) for x in paths],
        generations=p.neat_generations,
        config=write_neat_config(
            CONFIG_DIR / NEAT_CONFIGS[model], {"pop_size": p.neat_population}, out / f"{model}.ini"
        ),
        seed=seed,
        out=out / "run",
        checkpoint_every=max(1, p.neat_generations),
        backend="local",
        stop_when_solved=True,
    )
    train(settings, progress=False)
    log(f"  {model}: {run_summary(out / 'run', 'neat')}")


def _scripted_episode(level: Level, take_off: int, radius: int, frame_skip: int):
    """Observations and buttons of the scripted expert on ``level`` (module doc), whether it
    reached the flag, and the first step with the player past the hole: RIGHT+B throughout, A
    too from ``take_off`` columns before the hole until past it when the upper route is the
    safe one."""
    from envs.levels.memory import HOLE_WIDTH, UPPER
    from envs.sim.constants import (
        BTN_A,
        BTN_B,
        BTN_RIGHT,
        COMPLETED,
        P_TIME_LIMIT,
        PLAYER_W,
        PX,
        RUNNING,
        TILE,
    )
    from envs.sim.world import LevelBank, World

    world = World(LevelBank([level]), 1)
    world.reset()
    fork, upper = int(level.meta["fork"]), int(level.meta["variant"]) == UPPER
    past_fork = int(level.meta["fork"]) + HOLE_WIDTH
    obs, acts, fork_step = [], [], None
    for _ in range(int(world.P[0, P_TIME_LIMIT]) // frame_skip + 1):
        if world.status()[0] != RUNNING:
            break
        col = int(world.P[0, PX] + PLAYER_W // 2) // TILE
        if fork_step is None and col >= past_fork:
            fork_step = len(acts)
        a = np.zeros((1, 6), np.uint8)
        a[0, BTN_RIGHT] = a[0, BTN_B] = 1
        a[0, BTN_A] = upper and fork - take_off <= col < fork + HOLE_WIDTH
        obs.append(world.observe(radius)[0].copy())
        acts.append(a[0])
        world.step(a, frame_skip)
    done = bool(world.status()[0] == COMPLETED)
    return np.stack(obs), np.stack(acts), done, len(acts) if fork_step is None else fork_step


def scripted_demos(levels: Sequence[Level], radius: int = 6, frame_skip: int = 5) -> Any:
    """One scripted-expert episode per plain-corridor memory level (``agent.rnn.demos.Demos``), all
    cut to the shortest episode's length (see the module doc: one episode per BPTT stream).

    The expert holds RIGHT+B and, on the levels whose upper route is safe, jumps the hole,
    taking off as late as still clears it (the nearest of 1..4 columns before the hole that
    completes the level). The tunnel is slower than the upper route, so the cut drops the last
    few tunnel steps (the gate, the drop, the flag: RIGHT+B like every step but the jump).
    Raises ``RuntimeError`` if no take-off completes a level, or if the cut would come less
    than 5 steps after a fork (the decision must stay in every episode).
    """
    from agent.rnn.demos import Demos

    episodes, fork_steps = [], []
    for level in levels:
        for take_off in range(1, 5):
            o, a, done, fork_step = _scripted_episode(level, take_off, radius, frame_skip)
            if done:
                break
        else:
            raise RuntimeError(f"{level.name}: the scripted expert could not complete the level")
        episodes.append((level.name, o, a))
        fork_steps.append(fork_step)
    n = min(len(e[2]) for e in episodes)
    if n <= max(fork_steps) + 4:
        raise RuntimeError(f"scripted demos: cutting episodes to {n} steps would lose the fork")
    episodes = [(name, o[:n], a[:n]) for name, o, a in episodes]
    return Demos.from_episodes(episodes, {"source": "scripted", "frame_skip": frame_skip}, radius)


def _train_bc(model: str, levels: list[Level], p: SweepPreset, seed: int, out: Path, log):
    from agent.rnn.bc import BCConfig, train_bc
    from agent.rnn.model import ModelConfig

    longest = max(lv.width for lv in levels)
    # BPTT window: about an episode (the plain corridor below makes it exactly one)
    window = longest + 16
    mcfg = ModelConfig(cell=model, hidden=p.hidden, encoder=p.encoder, encoder_type="mlp")
    cfg = BCConfig(
        window=window,
        batch_windows=p.batch_windows,
        lr=p.lr,
        updates=p.bc_updates,
        dagger_iters=p.dagger_iters,
        dagger_episodes=p.dagger_episodes,
        eval_every=p.bc_updates,
        label_expansions=p.label_expansions,
        max_steps=4 * window,
    )
    demos = None  # the solver's plans
    if p.corridor == "plain":
        demos = scripted_demos(levels, mcfg.view_radius, cfg.frame_skip)
        # one equal-length episode per stream and window: no episode is split, no fork loses
        # its cue (the player covers *at most* 0.8 tiles a step: episodes can outrun width)
        n = len(demos) // demos.num_episodes
        cfg = dataclasses.replace(
            cfg,
            batch_windows=demos.num_episodes,
            window=max(window, n),
            max_steps=4 * max(window, n),
        )
    train_bc(
        mcfg, cfg, levels=levels, demos=demos, seed=seed, out_dir=out, device="cpu", progress=False
    )
    log(f"  {model}: {run_summary(out, 'bc')}")


def _record(done: np.ndarray, route: np.ndarray) -> dict[str, Any]:
    pairs = done.reshape(-1, 2)
    variant = np.arange(len(done)) % 2  # memory_pairs alternates variant 0 and 1
    reached = route >= 0
    return {
        # the memory measure: of the episodes that got past the fork, the share on the cued
        # route (0.5 expected without memory); None when none got there
        "fork_reached": int(reached.sum()),
        "fork_correct": int((route == variant).sum()),
        "choice_accuracy": float((route == variant).sum() / reached.sum())
        if reached.any()
        else None,
        "success": float(done.mean()),
        "completed": int(done.sum()),
        "levels": int(done.size),
        "completed_upper": int(pairs[:, 0].sum()),  # variant 0: the upper route is safe
        "completed_lower": int(pairs[:, 1].sum()),
        "pairs_both": int((pairs.sum(axis=1) == 2).sum()),
    }


def _levels(d: int, p: SweepPreset, seed: int) -> tuple[list[Level], list[Level]]:
    """The training and held-out memory levels of distance ``d``."""
    kw = {"verify": False, "corridor": p.corridor}
    train = memory_pairs(d, p.train_pairs, seed=seed, **kw)
    held_out = memory_pairs(d, p.eval_pairs, seed=seed + EVAL_SEED_OFFSET, **kw)
    return train, held_out


def _load_trained(model: str, run_dir: Path) -> Any:
    """The agent a sweep trained for ``model`` in ``run_dir``."""
    if model.startswith("neat"):
        from agent.neat.policy import NeatAgent

        return NeatAgent.from_file(run_dir / "run" / "champion.json")
    from agent.rnn.policy import RecurrentAgent

    return RecurrentAgent.from_dir(run_dir)


def _evaluate(model: str, run_dir: Path, train: list[Level], held_out: list[Level]) -> dict:
    agent = _load_trained(model, run_dir)
    rec = _record(*evaluate_agent(agent, held_out))
    rec["train_success"] = float(evaluate_agent(agent, train)[0].mean())
    return rec


def reevaluate_sweep(
    out_dir: Path, log: Callable[[str], None] = print, draw: Draw | None = None
) -> dict:
    """Evaluate the agents a finished sweep in ``out_dir`` saved again (with this module's
    evaluation: success and the choice at the fork) and rewrite its JSON (and with ``draw`` its
    plot). Training is
    deterministic and not repeated; ``train_seconds`` are kept."""
    out = Path(out_dir)
    path = out / RESULTS_FILE
    if not path.is_file():
        raise ValueError(f"{out}: no {RESULTS_FILE} to re-evaluate")
    results = json.loads(path.read_text(encoding="utf-8"))
    p = SweepPreset(**{"corridor": "bumpy", **results["settings"]})  # older sweeps: bumpy
    for d in results["distances"]:
        train, held_out = _levels(d, p, results["seed"])
        for model in results["models"]:
            old = results["results"][model][str(d)]
            rec = _evaluate(model, out / "runs" / f"{model}-d{d}", train, held_out)
            rec["train_seconds"] = old["train_seconds"]
            results["results"][model][str(d)] = rec
            log(f"re-evaluated {model} D={d}: success {100 * rec['success']:.1f}%")
    if draw is not None:
        draw(results, out / PLOT_FILE)
    atomic_write_text(path, json.dumps(results, indent=2) + "\n")
    return results


def markdown_table(results: dict) -> str:
    """A sweep's held-out results as a Markdown table (models x D): success % (finished /
    levels; fork: on the cued route / got past the fork)."""
    ds = results["distances"]
    head = "| model | " + " | ".join(f"D = {d}" for d in ds) + " | training levels (mean) |"
    rows = [head, "|---" * (len(ds) + 2) + "|"]
    for model, by_d in results["results"].items():
        cells = []
        for d in ds:
            r = by_d.get(str(d))
            fork = (
                ""
                if r is None or "fork_reached" not in r
                else (f"; fork {r['fork_correct']}/{r['fork_reached']}")
            )
            cells.append("-" if r is None else f"{100 * r['success']:.0f}% ({r['completed']}/"
                         f"{r['levels']}{fork})")  # fmt: skip
        train = [by_d[str(d)]["train_success"] for d in ds if str(d) in by_d]
        mean = f"{100 * sum(train) / len(train):.0f}%" if train else "-"
        rows.append(f"| {model} | " + " | ".join(cells) + f" | {mean} |")
    return "\n".join(rows) + "\n"


def run_memory_sweep(
    out_dir: Path,
    distances: list[int] = [8, 16, 32, 64],  # noqa: B006 (read only; the documented default)
    preset: str = "small",
    seed: int = 0,
    log: Callable[[str], None] = print,
    models: Sequence[str] = MODELS,
    draw: Draw | None = None,
) -> dict:
    """Train and evaluate ``models`` on memory levels for each distance; write the results
    JSON (and with ``draw`` the plot) into ``out_dir``; return the results dict (see the module
    doc)."""
    ds = _validate(distances, preset, seed)
    unknown = [m for m in models if m not in MODELS]
    if unknown or not models:
        raise ValueError(f"models must be among {', '.join(MODELS)}, got {list(models)}")
    p = PRESETS[preset]
    out = Path(out_dir)
    if (out / RESULTS_FILE).exists() or (out / "runs").exists():
        raise ValueError(f"{out}: holds an earlier sweep; choose a new output directory")
    out.mkdir(parents=True, exist_ok=True)
    t_all = time.perf_counter()
    results: dict[str, Any] = {
        "study": "memory",
        "preset": preset,
        "settings": dataclasses.asdict(p),
        "seed": seed,
        "distances": ds,
        "models": list(models),
        "training": "neat: agent.neat.trainer.train; lstm/gru/rnn: agent.rnn.bc.train_bc",
        "chance_ceiling_memoryless": 0.5,
        "results": {m: {} for m in models},
    }
    for d in ds:
        train_levels, eval_levels = _levels(d, p, seed)
        level_dir = out / "levels" / f"d{d}"
        level_dir.mkdir(parents=True, exist_ok=True)
        paths = []
        for lv in train_levels:
            path = level_dir / f"{lv.name}.txt"
            atomic_write_text(path, lv.to_text())
            paths.append(path)
        for model in models:
            t0 = time.perf_counter()
            run_dir = out / "runs" / f"{model}-d{d}"
            if model.startswith("neat"):
                _train_neat(model, paths, p, seed, run_dir, log)
            else:
                _train_bc(model, train_levels, p, seed, run_dir, log)
            train_s = time.perf_counter() - t0
            rec = _evaluate(model, run_dir, train_levels, eval_levels)
            rec["train_seconds"] = round(train_s, 2)
            results["results"][model][str(d)] = rec
            log(
                f"memory sweep: {model:8s} D={d:3d}  held-out success "
                f"{100 * rec['success']:5.1f}% ({rec['completed']}/{rec['levels']}; upper "
                f"{rec['completed_upper']}, lower {rec['completed_lower']})  right route at "
                f"the fork {rec['fork_correct']}/{rec['fork_reached']}  train "
                f"{100 * rec['train_success']:5.1f}%  {train_s:6.1f} s"
            )
    results["wall_seconds"] = round(time.perf_counter() - t_all, 1)
    if draw is not None:
        draw(results, out / PLOT_FILE)
    atomic_write_text(out / RESULTS_FILE, json.dumps(results, indent=2) + "\n")
    return results
