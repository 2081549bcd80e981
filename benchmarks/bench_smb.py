"""The real Super Mario Bros. (``envs.smb``, the ``nes`` extra): emulator speed, NEAT on real 1-1
for a fixed wall-clock budget, and a champion of the built-in world tried on the real game.

Run: ``python benchmarks/bench_smb.py [--part speed|neat|transfer|all] [--budget 600]
[--pop 100] [--workers N]``.

* speed: emulator frames/s in one process (the bare console holding RIGHT, restarted on each
  death; and ``SuperMarioBrosTilesEnv`` steps, grid and info included), then ``--workers``
  processes emulating at once (the sum of their frames over the wall time); median of 3.
* neat: ``train.py neat --env smb --level 1-1`` with the shipped config at ``--pop`` genomes,
  evaluated over ``--workers`` processes, stopped with Ctrl-C (SIGINT) after ``--budget``
  seconds, as a user would; then resumed for one more generation from its checkpoint. Prints
  one row per generation from ``metrics.jsonl``: the farthest x any genome reached, the best
  fitness, the frames and seconds.
* transfer: ``train.py neat --level 1-1`` on the built-in world (the shipped config, one run per
  ``--seeds`` seed, until its champion finishes, at most 60 generations), then that champion on
  real 1-1 through ``play.py --env smb``'s headless path: how far it gets, no conversion. As a
  diagnostic, also with the grid one row lower (see docs/smb.md: MarI/O's grid is centred one
  tile above small Mario, the built-in world's on the player).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RIGHT = 0x80


def console_fps(frames: int) -> float:
    """Bare emulation: hold RIGHT, restart at each death; frames per second."""
    from envs.smb.console import Console
    from envs.smb.ram import is_dying

    console = Console(1, 1)
    t0 = time.perf_counter()
    for _ in range(frames):
        console.frame(RIGHT)
        if is_dying(console.ram):
            console.restart()
    return frames / (time.perf_counter() - t0)


def env_fps(steps: int) -> float:
    """``SuperMarioBrosTilesEnv.step`` (frame_skip 5, grid, reward, info); frames per second."""
    import numpy as np

    from envs.smb.env import SuperMarioBrosTilesEnv

    env = SuperMarioBrosTilesEnv()
    env.reset()
    right = np.array([0, 0, 0, 0, 0, 1])
    frames = 0
    t0 = time.perf_counter()
    for _ in range(steps):
        _, _, terminated, truncated, info = env.step(right)
        frames += env.frame_skip
        if terminated or truncated:
            env.reset()
    seconds = time.perf_counter() - t0
    env.close()
    return frames / seconds


def _worker(frames: int, start, out) -> None:
    from envs.smb.console import Console
    from envs.smb.ram import is_dying

    console = Console(1, 1)  # boot before the start line
    start.wait()
    for _ in range(frames):
        console.frame(RIGHT)
        if is_dying(console.ram):
            console.restart()
    out.put(frames)


def parallel_fps(frames: int, workers: int) -> float:
    """``workers`` processes emulating ``frames`` each at once: total frames / wall seconds."""
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Barrier(workers + 1), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(frames, start, out)) for _ in range(workers)]
    for p in procs:
        p.start()
    start.wait()
    t0 = time.perf_counter()
    total = sum(out.get() for _ in procs)
    seconds = time.perf_counter() - t0
    for p in procs:
        p.join()
    return total / seconds


def part_speed(args: argparse.Namespace) -> None:
    print(f"## Emulator speed ({args.frames} frames a run, median of 3)")
    print("| what | processes | frames/s |")
    print("|---|---:|---:|")
    one = statistics.median(console_fps(args.frames) for _ in range(3))
    print(f"| bare console, RIGHT held | 1 | {one:,.0f} |", flush=True)
    env = statistics.median(env_fps(args.frames // 5) for _ in range(3))
    print(f"| SuperMarioBrosTilesEnv steps | 1 | {env:,.0f} |", flush=True)
    many = statistics.median(parallel_fps(args.frames, args.workers) for _ in range(3))
    print(f"| bare console, RIGHT held | {args.workers} | {many:,.0f} |", flush=True)


def _default_sigint() -> None:
    # A shell's background job starts with SIGINT ignored, and Python then never raises
    # KeyboardInterrupt: give the trainer the default, as in a terminal.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _run_cli(argv: list[str], budget: float | None = None) -> subprocess.CompletedProcess:
    """``train.py`` in a subprocess; with ``budget``, Ctrl-C after that many seconds: SIGINT to
    its whole process group (the trainer and its workers), as a terminal sends it."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "train.py", *argv],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=_default_sigint,
    )
    try:
        out, err = proc.communicate(timeout=budget)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def part_neat(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "neat-pop.ini"  # the shipped config with --pop genomes
        text = (ROOT / "configs" / "neat.ini").read_text()
        config.write_text(re.sub(r"(?m)^pop_size\s*=.*$", f"pop_size = {args.pop}", text))
        out = Path(tmp) / "run"
        common = ["--env", "smb", "--level", "1-1", "--workers", str(args.workers)]
        t0 = time.perf_counter()
        first = _run_cli(
            ["neat", *common, "--config", str(config), "--generations", "100000",
             "--checkpoint-every", "1", "--out", str(out), "--seed", str(args.seed), "--quiet"],
            budget=args.budget,
        )  # fmt: skip
        wall = time.perf_counter() - t0
        n = len((out / "metrics.jsonl").read_text().splitlines())
        resumed = _run_cli(["neat", "--resume", str(out), "--generations", str(n + 1), "--quiet"])
        metrics = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    print(
        f"## NEAT on real 1-1: population {args.pop}, {args.workers} worker processes, "
        f"stopped by SIGINT after {args.budget:.0f} s (exit {first.returncode}; wall {wall:.0f} s "
        f"with start-up), then resumed for one generation (exit {resumed.returncode})"
    )
    print("| generation | max rightmost x | best fitness | frames | eval s | wall s |")
    print("|---:|---:|---:|---:|---:|---:|")
    for m in metrics:
        tag = " (resumed)" if m["generation"] >= n else ""
        print(
            f"| {m['generation']}{tag} | {m.get('max_rightmost', float('nan')):.0f} | "
            f"{m['best_fitness']:.0f} | {m['generation_frames']:,} | {m['eval_seconds']:.1f} | "
            f"{m['wall_seconds']:.0f} |"
        )
    best = max(metrics, key=lambda m: m.get("max_rightmost", 0))
    print(
        f"\nfarthest: x = {best.get('max_rightmost', 0):.0f} at generation {best['generation']}; "
        f"{metrics[-1]['frames']:,} frames in all"
    )
    if first.returncode not in (0, 130) or resumed.returncode != 0:
        print("stderr:", first.stderr[-2000:], resumed.stderr[-2000:])


def part_transfer(args: argparse.Namespace) -> None:
    from agent.base import load_agent
    from agent.neat.trainer import TrainSettings, train
    from envs.smb.console import SmbWorlds
    from envs.smb.ram import tile_grid
    from viz.smb_view import SmbGame, play_episodes

    class LoweredGrid(SmbWorlds):
        """A diagnostic only: MarI/O's grid one row lower, centred on small Mario's body the
        way the built-in world centres its grid on the player (rows 2..14, columns 1..13 of the
        radius-7 grid)."""

        def observe(self, radius: int = 6, out: object = None) -> object:
            big = tile_grid(self.consoles[0].ram, radius + 1)
            return big[2:, 1:-1][None]

    print(
        "## Transfer: champions of the built-in 1-1 (shipped config, until they finish, at "
        "most 60 generations) on real 1-1"
    )
    print(
        "| seed | built-in 1-1 | grid | episode end | rightmost x | % of x 3186 | frames | "
        "ended by | fitness |"
    )
    print("|---:|---|---|---|---:|---:|---:|---|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            t0 = time.perf_counter()
            settings = TrainSettings(
                levels=["1-1"], generations=60, seed=seed, out=Path(tmp) / f"world{seed}"
            )
            result = train(settings, progress=False)
            trained = time.perf_counter() - t0
            world = (
                f"finished, gen {result.champion_generation} ({trained:.0f} s)"
                if result.solved
                else f"not finished ({trained:.0f} s)"
            )
            agent = load_agent(result.out)
            rows = (
                ("MarI/O's", "MarI/O's timeout", SmbGame("1-1"), None),
                # without the timeout: until the life is lost, the flag, or the game's clock
                ("MarI/O's", "death or clock", SmbGame("1-1"), _no_timeout()),
                ("one row lower", "MarI/O's timeout", SmbGame(worlds=LoweredGrid.of("1-1")), None),
            )
            for grid, end, game, fitness in rows:
                (r,) = play_episodes(game, agent, 1, settings=fitness)
                how = "flag" if r["completed"] else "death" if r["dead"] else "timeout"
                print(
                    f"| {seed} | {world} | {grid} | {end} | {r['rightmost']} | "
                    f"{r['progress']:.0f} | {r['frames']} | {how} | {r['fitness']:.0f} |",
                    flush=True,
                )


def _no_timeout():
    from agent.neat.evaluator import FitnessSettings

    return FitnessSettings(timeout_frames=10**9)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("speed", "neat", "transfer", "all"), default="all")
    parser.add_argument("--frames", type=int, default=3000, help="frames per speed run")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--budget", type=float, default=600.0, help="NEAT wall seconds")
    parser.add_argument("--pop", type=int, default=100, help="NEAT population")
    parser.add_argument("--seed", type=int, default=0, help="NEAT run seed")
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[0, 1, 2], help="transfer: built-in champions"
    )
    args = parser.parse_args(argv)
    print(f"# Super Mario Bros. benchmarks: {os.cpu_count()} CPUs, workers {args.workers}")
    print("load average at start: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    if args.part in ("speed", "all"):
        part_speed(args)
    if args.part in ("neat", "all"):
        part_neat(args)
    if args.part in ("transfer", "all"):
        part_transfer(args)
    print("load average at the end: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
