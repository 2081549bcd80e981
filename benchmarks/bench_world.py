"""Frames per second of the platformer: the batched core at several N, vector and single envs.

Random buttons (RIGHT held 70% of the time so worlds travel), finished worlds restarted as they
end. Each figure is the median of ``--repeats`` timed runs after a warm-up (which also compiles
the kernels). Run: ``python benchmarks/bench_world.py`` (``--quick`` for a short smoke run;
``--cpu-time`` times by the process's CPU seconds instead of the wall clock, which other jobs on
a shared machine disturb less).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np

from envs.gym.platformer import PlatformerEnv
from envs.gym.vector import PlatformerVectorEnv
from envs.levels.level import load_level
from envs.sim.constants import RUNNING
from envs.sim.world import LevelBank, World

FRAME_SKIP = 5
clock = time.perf_counter  # --cpu-time: time.process_time


def random_buttons(rng: np.random.Generator, steps: int, n: int) -> np.ndarray:
    acts = rng.integers(0, 2, (steps, n, 6)).astype(np.uint8)
    acts[..., 5] |= (rng.random((steps, n)) < 0.7).astype(np.uint8)
    return acts


def core_fps(n: int, level: str, frames: int) -> float:
    """Frames/s of World.step with restarts of finished worlds, no observations."""
    world = World(LevelBank([load_level(level)]), n)
    world.reset()
    steps = max(frames // (n * FRAME_SKIP), 20)
    acts = random_buttons(np.random.default_rng(n), steps, n)
    start = clock()
    for a in acts:
        world.step(a, FRAME_SKIP)
        done = world.status() != RUNNING
        if done.any():
            world.reset(0, done)
    return steps * n * FRAME_SKIP / (clock() - start)


def vector_fps(n: int, level: str, frames: int) -> float:
    """Frames/s of the native vector env (observations, rewards, info, autoreset)."""
    env = PlatformerVectorEnv(n, level=level)
    env.reset(seed=0)
    steps = max(frames // (n * FRAME_SKIP), 20)
    acts = random_buttons(np.random.default_rng(n), steps, n)
    start = clock()
    for a in acts:
        env.step(a)
    return steps * n * FRAME_SKIP / (clock() - start)


def single_fps(level: str, frames: int) -> float:
    """Frames/s of the single Gymnasium env (reset when an episode ends)."""
    env = PlatformerEnv(level)
    env.reset(seed=0)
    steps = frames // FRAME_SKIP
    acts = random_buttons(np.random.default_rng(0), steps, 1)[:, 0]
    start = clock()
    for a in acts:
        _, _, terminated, truncated, _ = env.step(a)
        if terminated or truncated:
            env.reset()
    return steps * FRAME_SKIP / (clock() - start)


def median_of(fn, repeats: int) -> float:
    fn()  # warm-up: compiles kernels, fills caches
    return statistics.median(fn() for _ in range(repeats))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--level", default="1-1")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--frames", type=int, default=2_000_000, help="frames per timed run")
    parser.add_argument("--quick", action="store_true", help="tiny budgets, for smoke tests")
    parser.add_argument("--cpu-time", action="store_true", help="time by CPU seconds")
    args = parser.parse_args(argv)
    global clock
    clock = time.process_time if args.cpu_time else time.perf_counter
    frames, repeats = (20_000, 1) if args.quick else (args.frames, args.repeats)
    timing = "CPU time" if args.cpu_time else "wall clock"
    print(
        f"# platformer speed, level {args.level}, frame_skip {FRAME_SKIP}, "
        f"median of {repeats}, {timing}"
    )
    print(f"# {platform.processor() or platform.machine()}, python {platform.python_version()}")
    print("| what | N | frames/s | goal |")
    print("|---|---:|---:|---:|")
    rows = [
        ("batched core", 1, lambda: core_fps(1, args.level, frames // 20), ""),
        ("batched core", 64, lambda: core_fps(64, args.level, frames), ""),
        ("batched core", 1024, lambda: core_fps(1024, args.level, frames), "1,000,000"),
        ("vector env", 64, lambda: vector_fps(64, args.level, frames), ""),
        ("vector env", 1024, lambda: vector_fps(1024, args.level, frames), ""),
        ("single Gymnasium env", 1, lambda: single_fps(args.level, frames // 40), "20,000"),
    ]
    for what, n, fn, goal in rows:
        print(f"| {what} | {n} | {median_of(fn, repeats):,.0f} | {goal} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
