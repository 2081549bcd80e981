"""Comparison plots (matplotlib, Agg backend: no display needed): learning curves and bars.

``learning_curves(runs, path)``: every run's ``metrics.jsonl`` as training-completion curves
against environment frames and against wall-clock seconds, plus each trainer's own score
(NEAT: best fitness so far; PPO: mean episode return; BC: greedy evaluation progress) against
frames. ``completion_bars(rates, levels, title, path)``: per-level completion, one bar per kind.

The trainers log different keys; ``curve_series`` maps them to one shape:

| trainer | frames | completion | score |
|---|---|---|---|
| NEAT | ``frames_simulated`` | ``best_completed / levels`` (the generation's best genome) | ``champion_fitness`` |
| PPO | ``frames`` | ``completion_rate`` (the update's finished, sampled episodes) | ``episode_return`` |
| BC | ``env_frames`` | ``eval_completion_rate`` (greedy play on its levels) | ``eval_progress`` |
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before pyplot: files only, never a window

import matplotlib.pyplot as plt  # noqa: E402

from agent.files import atomic_write_with  # noqa: E402

__all__ = [
    "CurveSeries",
    "completion_bars",
    "curve_series",
    "learning_curves",
    "memory_sweep_plot",
]

KIND_COLORS = {"neat": "tab:blue", "ppo": "tab:orange", "bc": "tab:green", "solver": "tab:gray"}
DPI = 90


@dataclass
class CurveSeries:
    """One run's learning curve in common units."""

    frames: list[float]
    wall: list[float]
    completion: list[float | None]
    score: list[float | None]
    score_label: str
    trainer: str  # "neat", "ppo" or "bc"


def _trainer(kind: str, metrics: Sequence[Mapping[str, Any]]) -> str:
    family = kind.split("-")[0]
    if family in ("neat", "ppo", "bc"):
        return family
    first = metrics[0] if metrics else {}
    if "frames_simulated" in first:
        return "neat"
    return "bc" if "env_frames" in first else "ppo"


def curve_series(kind: str, metrics: Sequence[Mapping[str, Any]]) -> CurveSeries:
    """The frames, wall seconds, completion and own score of each metrics line."""
    trainer = _trainer(kind, metrics)

    def col(key: str) -> list[Any]:
        return [m.get(key) for m in metrics]

    if trainer == "neat":
        frames = [m.get("frames_simulated", m.get("frames")) for m in metrics]  # old, new runs
        completion = [
            None if m.get("levels") in (None, 0) else m.get("best_completed", 0) / m["levels"]
            for m in metrics
        ]
        score, label = col("champion_fitness"), "NEAT: best fitness so far"
    elif trainer == "bc":
        frames, completion = col("env_frames"), col("eval_completion_rate")
        score, label = col("eval_progress"), "BC: greedy evaluation progress"
    else:
        frames, completion = col("frames"), col("completion_rate")
        score, label = col("episode_return"), "PPO: mean episode return"
    wall = col("wall_seconds")
    keep = [i for i in range(len(metrics)) if frames[i] is not None and wall[i] is not None]
    return CurveSeries(
        [float(frames[i]) for i in keep],
        [float(wall[i]) for i in keep],
        [completion[i] for i in keep],
        [score[i] for i in keep],
        label,
        trainer,
    )


def _save(fig: Any, path: str | Path) -> None:
    path = Path(path)
    atomic_write_with(path, lambda f: fig.savefig(f, format="png", dpi=DPI))
    plt.close(fig)


def _points(xs: list[float], ys: list[float | None]) -> tuple[list[float], list[float]]:
    pairs = [(x, float(y)) for x, y in zip(xs, ys, strict=True) if y is not None]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def learning_curves(
    runs: Sequence[tuple[str, str, Sequence[Mapping[str, Any]]]], path: str | Path
) -> None:
    """``runs``: (name, kind, metrics lines). Top row: training completion against frames and
    against wall seconds; bottom row: each trainer's own score against frames."""
    series = [(name, kind, curve_series(kind, m)) for name, kind, m in runs if m]
    if not series:
        raise ValueError("learning_curves: no run has metrics")
    order = ["neat", "ppo", "bc"]
    trainers = sorted(
        {s.trainer for _, _, s in series},
        key=lambda x: (x not in order, order.index(x) if x in order else 0, x),
    )
    cols = max(2, len(trainers))
    fig = plt.figure(figsize=(4.2 * cols, 7.0), layout="constrained")
    grid = fig.add_gridspec(2, 2 * cols)  # the top row in halves, the bottom in thirds
    by_frames = fig.add_subplot(grid[0, :cols])
    by_wall = fig.add_subplot(grid[0, cols:])
    labelled: set[str] = set()
    for _name, kind, s in series:
        color = KIND_COLORS.get(s.trainer, "tab:purple")
        label = kind if kind not in labelled else None
        labelled.add(kind)
        for ax, xs in ((by_frames, s.frames), (by_wall, s.wall)):
            x, y = _points(xs, s.completion)
            ax.plot(x, [100 * v for v in y], color=color, alpha=0.8, lw=1.4, label=label)
    by_frames.set_xlabel("environment frames")
    by_wall.set_xlabel("wall-clock seconds (log scale)")
    by_wall.set_xscale("log")
    for ax in (by_frames, by_wall):
        ax.set_ylabel("training completion %")
        ax.set_ylim(-3, 103)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    by_frames.set_title("completion during training vs frames", fontsize=10)
    by_wall.set_title("completion during training vs wall-clock", fontsize=10)
    for j, trainer in enumerate(trainers):
        ax = fig.add_subplot(grid[1, 2 * j : 2 * j + 2])
        for name, _kind, s in series:
            if s.trainer != trainer:
                continue
            x, y = _points(s.frames, s.score)
            ax.plot(x, y, color=KIND_COLORS.get(trainer, "tab:purple"), alpha=0.8, lw=1.2)
            if x:
                ax.annotate(name, (x[-1], y[-1]), fontsize=7, alpha=0.8)
        label = next(s.score_label for _, _, s in series if s.trainer == trainer)
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("environment frames")
        ax.grid(alpha=0.3)
    _save(fig, path)


def completion_bars(
    rates: Mapping[str, Mapping[str, float]],
    levels: Sequence[str],
    title: str,
    path: str | Path,
) -> None:
    """``rates[kind][level]``: completion rate in [0, 1]; one group of bars per level."""
    kinds = list(rates)
    if not kinds or not levels:
        raise ValueError("completion_bars: nothing to draw")
    width = 0.8 / len(kinds)
    fig_width = max(6.0, 0.35 * len(levels) * len(kinds) ** 0.5 + 2.5)
    fig, ax = plt.subplots(figsize=(min(fig_width, 16.0), 3.8))
    for k, kind in enumerate(kinds):
        xs = [i - 0.4 + width * (k + 0.5) for i in range(len(levels))]
        ys = [100 * rates[kind].get(lv, 0.0) for lv in levels]
        color = KIND_COLORS.get(kind.split("-")[0], None)
        ax.bar(xs, ys, width=width, label=kind, color=color)
    ax.set_xticks(range(len(levels)))
    short = [lv.removeprefix("gen-") for lv in levels]
    ax.set_xticklabels(short, rotation=60 if len(levels) > 6 else 0, ha="right", fontsize=7)
    ax.set_ylabel("completed %")
    ax.set_ylim(0, 122)
    ax.set_yticks(range(0, 101, 20))
    ax.set_title(f"per-level completion: {title}", fontsize=10)
    ax.legend(fontsize=8, ncol=min(5, len(kinds)), loc="upper center", frameon=False)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    _save(fig, path)


MEMORY_STYLES = {
    "neat-ff": ("tab:blue", "--", "s"),
    "neat-rec": ("tab:blue", "-", "o"),
    "lstm": ("tab:green", "-", "o"),
    "gru": ("tab:olive", "-", "^"),
    "rnn": ("tab:red", "-", "v"),
}


def memory_sweep_plot(results: Mapping[str, Any], path: str | Path) -> None:
    """The memory study (``agent.study.memory``): held-out success against the cue-fork
    distance D, one line per model, with the 50% ceiling of memoryless policies."""
    per_model = results.get("results") or {}
    if not any(per_model.values()):
        raise ValueError("memory_sweep_plot: no results to draw")
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(9.0, 3.6))
    ds_all = sorted({int(d) for by_d in per_model.values() for d in by_d})
    for model, by_d in per_model.items():
        ds = sorted(int(d) for d in by_d)
        color, style, marker = MEMORY_STYLES.get(model, ("tab:purple", "-", "o"))
        kw = {"color": color, "ls": style, "marker": marker, "lw": 1.6, "label": model}
        ax.plot(ds, [100 * by_d[str(d)]["success"] for d in ds], **kw)
        pts = [(d, by_d[str(d)].get("choice_accuracy")) for d in ds]
        pts = [(d, 100 * a) for d, a in pts if a is not None]
        ax2.plot([d for d, _ in pts], [a for _, a in pts], **kw)
    ax.axhline(50, color="gray", lw=1, ls=":", label="memoryless ceiling")
    ax2.axhline(50, color="gray", lw=1, ls=":", label="chance")
    preset = results.get("preset", "?")
    ax.set_title(f"held-out success (preset {preset})", fontsize=10)
    ax2.set_title("right route, of episodes past the fork", fontsize=10)
    for a in (ax, ax2):
        a.set_xscale("log", base=2)
        a.set_xticks(ds_all, [str(d) for d in ds_all])
        a.minorticks_off()
        a.set_xlabel("distance D (tiles from the cue leaving view to the fork)", fontsize=8)
        a.set_ylabel("%")
        a.set_ylim(-3, 103)
        a.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower left", ncol=2)
    fig.tight_layout()
    _save(fig, path)
