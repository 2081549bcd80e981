"""DAgger's expert: labelling many student states with one search each, one at a time or batched.

The states: ``--worlds`` worlds spread over the shipped levels, each played ``--steps`` agent
steps of random buttons (RIGHT held) from its start, so every world is somewhere off the
solver's plan, as a student's are. Then the solver searches from every running world: once per
world with ``solve_from`` (what DAgger's expert does), and once for all of them with
``solve_many`` (the searches in lockstep, each round's children of all searches advanced by
one ``World.step`` call). Both must give the same plans (checked). Seconds are medians of
``--repeats`` after a warm-up. Run: ``python benchmarks/bench_expert.py``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from envs.levels.level import builtin_names, load_level
from envs.sim.constants import BTN_RIGHT, P_STATUS, RUNNING
from envs.sim.world import LevelBank, World
from envs.solver import SolverConfig, solve_from, solve_many


def student_states(worlds: int, steps: int, seed: int) -> World:
    levels = [load_level(n) for n in builtin_names()]
    world = World(LevelBank(levels), worlds)
    world.reset(np.arange(worlds) % len(levels))
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        acts = rng.integers(0, 2, (worlds, 6)).astype(np.uint8)
        acts[:, BTN_RIGHT] = 1
        world.step(acts, 5)
    live = np.flatnonzero(world.P[:, P_STATUS] == RUNNING)
    return world.take(live)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--worlds", type=int, default=32)
    p.add_argument("--steps", type=int, default=30, help="random steps before labelling (30)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--expansions", type=int, default=20_000, help="search budget (DAgger's)")
    args = p.parse_args(argv)
    cfg = SolverConfig(max_expansions=args.expansions)
    world = student_states(args.worlds, args.steps, 0)
    solve_many(world.take([0]), cfg)  # warm-up: compile the kernels
    one, many = [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        alone = [solve_from(world.take([i]), cfg) for i in range(world.n)]
        t1 = time.perf_counter()
        batched = solve_many(world, cfg)
        t2 = time.perf_counter()
        one.append(t1 - t0)
        many.append(t2 - t1)
        pairs = zip(alone, batched, strict=True)
        if not all(np.array_equal(x.actions, y.actions) for x, y in pairs):
            print("bench_expert.py: batched plans differ from one search per world")
            return 1
    a, b = statistics.median(one), statistics.median(many)
    solved = sum(s.completed for s in batched)
    expansions = sum(s.expansions for s in batched)
    print(
        f"{world.n} student states on {len(builtin_names())} levels ({solved} solved, "
        f"{expansions:,} expansions in all), budget {args.expansions:,}, median of "
        f"{args.repeats}\n"
    )
    print("| expert | seconds | states/s | ratio |")
    print("|---|---:|---:|---:|")
    print(f"| one search at a time (solve_from) | {a:.2f} | {world.n / a:.1f} | 1.0x |")
    print(f"| batched (solve_many) | {b:.2f} | {world.n / b:.1f} | {a / b:.1f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
