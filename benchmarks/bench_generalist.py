"""Generalisation of trained agents: the shipped levels and held-out generated levels.

Any agent run directory (NEAT, PPO, BC) or ``solver`` plays, greedily and once per level:

* the 8 shipped levels 1-1 ... 1-8, which no generalist recipe trains on;
* ``--held-out`` generated levels at each of ``--difficulties``, whose seeds
  (``held_out_seed``: a spawned stream of ``numpy.random.SeedSequence``) no trainer draws from.

Episodes end at death, the flag or the level's time limit (the comparison harness's rules:
``agent.episodes.play_levels``). One Markdown row per run: shipped levels finished (and each
one's progress), the share of held-out levels finished at each difficulty, the run's species
count (NEAT: the last generation's) and training wall-clock from its ``metrics.jsonl``.
``--endings`` adds, per difficulty, how the unfinished held-out episodes ended
(``agent.episodes.ENDINGS``: fell into a pit, hit an enemy or spikes, out of time: stuck).

Run: ``python benchmarks/bench_generalist.py zoo/neat-generalist runs/... [--held-out 100]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere, installed or not
    sys.path.insert(0, str(ROOT))

from agent.base import load_agent  # noqa: E402
from agent.episodes import ENDINGS, play_levels  # noqa: E402
from agent.runs import read_metrics_file  # noqa: E402
from envs.levels.generator import (  # noqa: E402
    DEFAULT_LENGTH,
    HELD_OUT_COUNT,
    generate_level,
    held_out_seed,
)
from envs.levels.level import Level, builtin_names, load_level  # noqa: E402


def held_out_levels(count: int, difficulty: float, length: int = DEFAULT_LENGTH) -> list[Level]:
    """The first ``count`` held-out levels (``held_out_seed``; no trainer draws them)."""
    return [generate_level(held_out_seed(i), difficulty, length) for i in range(count)]


def run_facts(run: Path) -> tuple[str, str]:
    """The run's last species count and training wall-clock, as table cells."""
    lines = read_metrics_file(run / "metrics.jsonl") if run.is_dir() else []
    if not lines:
        return "", ""
    last = lines[-1]
    species = last.get("species", "")
    wall = last.get("wall_seconds")
    return str(species), ("" if wall is None else f"{wall:.0f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="run directories, champion.json files or solver")
    parser.add_argument("--held-out", type=int, default=100, help="levels per difficulty (100)")
    parser.add_argument("--difficulties", default="0.3,0.6,0.9")
    parser.add_argument("--length", type=int, default=DEFAULT_LENGTH)
    parser.add_argument(
        "--endings", action="store_true", help="a column per difficulty: how failures ended"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.held_out <= HELD_OUT_COUNT:  # beyond: seeds trainers do not avoid
        parser.error(f"--held-out must be 1..{HELD_OUT_COUNT}, got {args.held_out}")
    difficulties = [float(x) for x in args.difficulties.split(",")]
    shipped = [load_level(name) for name in builtin_names()]
    held = {d: held_out_levels(args.held_out, d, args.length) for d in difficulties}
    heads = [f"held-out {d:g}" for d in difficulties]
    if args.endings:
        heads += [f"unfinished {d:g} ({'/'.join(ENDINGS[1:4])})" for d in difficulties]
    names = " | ".join(lv.name for lv in shipped)
    print(f"| run | shipped finished | {names} | {' | '.join(heads)} | species | wall s |")
    print("|---|---:|" + "---:|" * (len(shipped) + len(heads) + 2))
    for spec in args.runs:
        ev = play_levels(load_agent(spec, shipped), shipped).episodes
        cells = " | ".join(
            f"**{e['progress']:.0f}%**" if e["completed"] else f"{e['progress']:.0f}%" for e in ev
        )
        shares, endings = [], []
        for d in difficulties:
            done = play_levels(load_agent(spec, held[d]), held[d]).episodes
            shares.append(f"{100 * np.mean([e['completed'] for e in done]):.0f}%")
            endings.append("/".join(str(sum(e["ending"] == k for e in done)) for k in ENDINGS[1:4]))
        if args.endings:
            shares += endings
        species, wall = run_facts(Path(spec))
        finished = sum(e["completed"] for e in ev)
        print(
            f"| {spec} | {finished}/{len(shipped)} | {cells} | {' | '.join(shares)} | "
            f"{species} | {wall} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
