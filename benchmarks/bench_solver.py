"""Solver and generator cost: time to solve each shipped level, and to make a verified level.

Run: ``python benchmarks/bench_solver.py``. Medians over ``--repeats`` runs after a warm-up; the
generator figures are medians over ``--seeds`` seeds (a new seed is a new level: no cache hits).
"""

from __future__ import annotations

import argparse
import statistics
import time

from envs.levels.generator import generate_level
from envs.levels.level import builtin_names, load_level
from envs.solver import solve


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=20)
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
    print("| generator, length 150 | verify=False (ms, median) | verify=True (s, median) |")
    print("|---|---:|---:|")
    for difficulty in (0.0, 0.5, 1.0):
        raw, verified = [], []
        for seed in range(1000, 1000 + args.seeds):  # a new seed is a new level: no cache hits
            raw.append(timed(lambda s=seed, d=difficulty: generate_level(s, d, verify=False))[0])
            verified.append(timed(lambda s=seed, d=difficulty: generate_level(s, d))[0])
        print(
            f"| difficulty {difficulty} | {1000 * statistics.median(raw):.1f} | "
            f"{statistics.median(verified):.3f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
