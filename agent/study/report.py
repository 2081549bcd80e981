"""The summary of a comparison, from ``results.json``'s data: the rows with their confidence
intervals (``summarize``), per-level completion for the bars, and ``summary.md`` (a Markdown
table per level set).

Confidence intervals (95 %, Student t, ``agent.study.stats``): a *kind* row (two or more runs
of one kind, e.g. NEAT over seeds) is the mean of the runs' own means with the t-interval over
runs (n = runs); a single run's row uses the t-interval over the levels of the set, each
level's episodes averaged first (n = levels), so repeating a deterministic agent's episodes
narrows nothing.
"""

from __future__ import annotations

from typing import Any

from agent.study.stats import mean_ci

__all__ = ["format_ci", "per_level_completion", "summarize", "summary_markdown"]

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


# --- summary.md ------------------------------------------------------------------------------


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
        "- *training frames / wall s*: `frames` and `wall_seconds` of the last line of the run's "
        "`metrics.jsonl`: the game frames simulated for training in all (NEAT: every genome's "
        "episodes; PPO: rollouts; BC: demonstrations, DAgger rollouts and evaluations).",
        "",
    ]
    return "\n".join(lines)
