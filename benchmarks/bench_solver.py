"""Solver and generator cost: time to solve each shipped level, and to make a verified level;
and which feature kinds the generator draws at each difficulty.

Run: ``python benchmarks/bench_solver.py``. Medians over ``--repeats`` runs after a warm-up; the
generator figures are over ``--seeds`` seeds (a new seed is a new level: no cache hits), with
the solver expansions of the proof and the repairs per level; the feature table counts
``meta["features"]`` (and enemies within 16 columns of the start) over ``--count`` unverified
levels per difficulty.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time

from envs.levels.generator import FEATURES, NEAR_START, SOLVER_EXPANSIONS, generate_level
from envs.levels.level import builtin_names, load_level
from envs.solver import SolverConfig, solve


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--length", type=int, default=150)
    parser.add_argument("--difficulties", type=float, nargs="+", default=[0.0, 0.3, 0.6, 0.9, 1.0])
    args = parser.parse_args(argv)
    solve(load_level("1-1"))  # warm-up: compile the kernels
    print("| level | columns | enemies | solved | expansions | plan frames | seconds (median) |")
    print("|---|---:|---:|---|---:|---:|---:|")
    for name in builtin_names():
        level = load_level(name)
        runs = [timed(lambda level=level: solve(level)) for _ in range(args.repeats)]
        sol = runs[0][1]
        secs = statistics.median(t for t, _ in runs)
        print(
            f"| {name} | {level.width} | {len(level.enemies)} | {sol.completed} | "
            f"{sol.expansions:,} | {sol.frames:,} | {secs:.3f} |",
            flush=True,
        )
    print()
    print(
        f"| generator, length {args.length} | verify=False (ms, median) | verify=True (s, median) "
        "| verify=True (s, mean) | solver expansions (median) | repairs per level |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    proof = SolverConfig(max_expansions=SOLVER_EXPANSIONS)
    for difficulty in args.difficulties:
        raw, verified, expansions, repairs = [], [], [], 0
        for seed in range(1000, 1000 + args.seeds):  # a new seed is a new level: no cache hits
            gen = functools.partial(generate_level, seed, difficulty, args.length)
            raw.append(timed(lambda gen=gen: gen(verify=False))[0])
            secs, level = timed(gen)
            verified.append(secs)
            repairs += int(level.meta["repairs"])
            expansions.append(solve(level, proof).expansions)  # the proof's last, passing search
        print(
            f"| difficulty {difficulty} | {1000 * statistics.median(raw):.1f} | "
            f"{statistics.median(verified):.3f} | {statistics.mean(verified):.3f} | "
            f"{statistics.median(expansions):,.0f} | {repairs / args.seeds:.2f} |",
            flush=True,
        )
    print()
    print(f"Share of {args.count} levels (length {args.length}) holding each feature kind:")
    print()
    print("| difficulty | " + " | ".join(FEATURES) + " | enemy near start |")
    print("|---" * (len(FEATURES) + 2) + "|")
    for difficulty in args.difficulties:
        levels = [
            generate_level(seed, difficulty, args.length, verify=False)
            for seed in range(args.count)
        ]
        kinds = [set(level.meta["features"].split(",")) for level in levels]
        shares = [sum(kind in k for k in kinds) / len(levels) for kind in FEATURES]
        near = sum(any(c < NEAR_START for _, c in lv.enemies) for lv in levels) / len(levels)
        print(
            f"| {difficulty} | " + " | ".join(f"{x:.2f}" for x in shares) + f" | {near:.2f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
