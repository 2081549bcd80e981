"""``summary.md`` of a comparison: a Markdown table per level set, from ``results.json``'s data."""

from __future__ import annotations

from typing import Any

__all__ = ["format_ci", "summary_markdown"]

COLUMNS = (
    "agent",
    "kind",
    "completion %",
    "mean progress %",
    "frames to finish",
    "network size",
    "inference us/step",
    "training frames",
    "training wall s",
)


def format_ci(stat: dict[str, Any] | None, scale: float = 1.0, digits: int = 1) -> str:
    """``"53.0 ± 12.1"`` from ``{"mean", "ci95"}`` (``-`` when there is nothing to show)."""
    if stat is None:
        return "-"
    mean = f"{stat['mean'] * scale:,.{digits}f}"
    if stat.get("ci95") is None:
        return mean
    return f"{mean} ± {stat['ci95'] * scale:,.{digits}f}"


def _num(x: float | None, fmt: str) -> str:
    return "-" if x is None else format(x, fmt)


def _row(r: dict[str, Any]) -> list[str]:
    name = f"**{r['agent']}**" if r["ci_over"] == "runs" else r["agent"]
    inference = r["inference_seconds_per_step"]
    return [
        name,
        r["kind"],
        format_ci(r["completion"], 100.0),
        format_ci(r["progress"], 100.0),
        format_ci(r["frames_to_finish"], 1.0, 0),
        r["size"],
        _num(None if inference is None else 1e6 * inference, ",.1f"),
        _num(r["train_frames"], ",.0f"),
        _num(r["train_wall_seconds"], ",.1f"),
    ]


def _table(rows: list[dict[str, Any]]) -> list[str]:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---" for _ in COLUMNS) + "|"]
    lines += ["| " + " | ".join(_row(r)) + " |" for r in rows]
    return lines


def summary_markdown(results: dict[str, Any]) -> str:
    """The whole ``summary.md``: tables, how to read them, and the plots' names."""
    s = results["settings"]
    lines = [
        "# Agent comparison",
        "",
        f"{len(results['agents'])} agents, {s['episodes']} episode(s) per level"
        + (f", episodes cut at {s['max_frames']} frames" if s.get("max_frames") else "")
        + (
            f"; LSTM/GRU/RNN agents sample their buttons (seed {s['sample_seed']})"
            if s.get("sample")
            else "; every agent plays greedily (LSTM/GRU/RNN: buttons with p > 0.5)"
        )
        + ". Every episode is in `results.json`.",
        "",
    ]
    for lset in results["level_sets"]:
        rows = results["summary"][lset["name"]]
        what = (
            f"{len(lset['levels'])} generated levels, seeds {lset['seeds'][0]}.."
            f"{lset['seeds'][-1]}, difficulty {lset['difficulty']}, length {lset['length']}"
            if lset.get("seeds")
            else f"{len(lset['levels'])} levels: {', '.join(lset['levels'])}"
        )
        lines += [f"## {lset['name']}", "", what, "", *_table(rows), ""]
        plot = f"completion_{lset['name']}.png"
        if plot in results.get("plots", []):
            lines += [f"![per-level completion]({plot})", ""]
    if "learning_curves.png" in results.get("plots", []):
        lines += ["## Learning curves", "", "![learning curves](learning_curves.png)", ""]
    lines += [
        "## How to read this",
        "",
        "- Values are mean ± half-width of the 95% confidence interval (Student t). **Bold** "
        "rows pool the runs of one kind (e.g. seeds): the interval is over the runs' own means "
        "(n = runs). Other rows are one agent: the interval is over the levels, each level's "
        "episodes averaged first (n = levels).",
        "- *completion*: episodes that reached the flag; *mean progress*: how far towards the "
        "flag the player ended (100% at the flag); *frames to finish*: over completed episodes "
        "only (60 frames = 1 s).",
        "- *inference us/step*: time inside the agent's `act` per world per decision, measured "
        "while playing with all of a level set's episodes in one batch (the solver's includes "
        "its planning).",
        "- *training frames / wall s*: from the last line of the run's `metrics.jsonl` (NEAT: "
        "frames simulated for every genome; PPO: rollout frames; BC: demonstrations + DAgger "
        "rollouts + evaluations).",
        "",
    ]
    return "\n".join(lines)
