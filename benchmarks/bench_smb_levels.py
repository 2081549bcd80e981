"""The real game's stages in the built-in world: the cost of making each ``smb:`` level from the
ROM (emulator recording, no cache) and what the solver says about it.

Run: ``python benchmarks/bench_smb_levels.py [--stages 1-1 2-1 ...] [--plants]`` (needs the
``nes`` extra). Levels are made into a temporary cache, so every figure is a fresh read; the
solver runs with its defaults (50,000 expansions). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from envs.levels.level import load_level
from envs.smb.levels import CACHE_ENV, PLANTS, smb_stage_names
from envs.solver import solve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", nargs="*", help="stages such as 1-1 (default: all)")
    parser.add_argument("--plants", action="store_true", help=f"the {PLANTS} levels")
    args = parser.parse_args(argv)
    names = [f"smb:{s}" for s in args.stages] if args.stages else smb_stage_names()
    if not names:
        print('no stages: the nes extra is missing (pip install -e ".[nes]")')
        return 2
    suffix = PLANTS if args.plants else ""
    solve(load_level("1-1"))  # warm-up: compile the kernels
    print(
        "| stage | columns | enemies | made in (s) | solved | solver best (column / flag) "
        "| solver (s) | left out |"
    )
    print("|---|---:|---:|---:|---|---|---:|---|")
    with tempfile.TemporaryDirectory() as cache:
        os.environ[CACHE_ENV] = cache
        for name in names:
            start = time.perf_counter()
            level = load_level(name + suffix)
            made = time.perf_counter() - start
            start = time.perf_counter()
            sol = solve(level)
            secs = time.perf_counter() - start
            print(
                f"| {name.removeprefix('smb:')} | {level.width} | {len(level.enemies)} | "
                f"{made:.1f} | {'yes' if sol.completed else 'no'} | "
                f"{sol.best_x / 16:.0f} / {level.flag_col} | {secs:.1f} | "
                f"{level.meta.get('left-out', '')} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
