"""Learning speed of NEAT on the platformer: generations and wall-clock to the first champion that
finishes the level, over several seeds, with the default config (or another).

Run: ``python benchmarks/bench_neat_learning.py [--level 1-1] [--seeds 0 1 2 3 4]
[--generations 60] [--config configs/neat.ini]``. Each seed is a full ``train.py neat`` run
(same code path) that stops when its champion completes the level; runs go to a temporary
directory. Prints one row per seed and the medians (a seed that never finishes counts as
"not within the budget", so the median is only stated when most seeds finished).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from agent.neat.trainer import TrainSettings, train


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--level", nargs="+", default=["1-1"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--generations", type=int, default=60)
    parser.add_argument("--config", default=None)
    args = parser.parse_args(argv)
    print(f"# NEAT on {' '.join(args.level)}, config {args.config or 'configs/neat.ini'}")
    print("| seed | finished | generations | wall seconds | frames simulated | best fitness |")
    print("|---:|---|---:|---:|---:|---:|")
    gens, walls = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            settings = TrainSettings(
                levels=list(args.level),
                generations=args.generations,
                config=args.config,
                seed=seed,
                out=Path(tmp) / f"seed{seed}",
                checkpoint_every=1000,
            )
            result = train(settings, progress=False, log=lambda *_: None)
            done = result.solved
            # generations are counted from 1: the generation whose champion first finished
            n_gen = result.generations if done else None
            if done:
                gens.append(n_gen)
                walls.append(result.wall_seconds)
            print(
                f"| {seed} | {'yes' if done else 'no'} | "
                f"{n_gen if done else f'> {args.generations}'} | {result.wall_seconds:.1f} | "
                f"{result.frames_simulated:,} | {result.champion_fitness:.0f} |",
                flush=True,
            )
    finished = len(gens)
    if finished * 2 > len(args.seeds):
        ordered = sorted(gens) + [float("inf")] * (len(args.seeds) - finished)
        med = statistics.median(ordered)
        med_wall = statistics.median(sorted(walls) + [float("inf")] * (len(args.seeds) - finished))
        print(
            f"\nfinished {finished}/{len(args.seeds)}; median {med} generations, {med_wall:.1f} s"
        )
    else:
        print(f"\nfinished {finished}/{len(args.seeds)}: no median within the budget")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
