"""Generalisation of NEAT champions: train on fresh generated levels, test on the shipped ones.

For each config (recurrent ``configs/neat.ini`` and feed-forward ``configs/neat_feedforward.ini``)
and seed, ``train.py neat --generated N`` evolves for a fixed number of generations on N new
generated levels per generation; the final champion then plays every shipped level 1-1 ... 1-8
once. Reports the share of shipped levels finished and the mean progress.

Run: ``python benchmarks/bench_neat_generalisation.py [--generations 60] [--seeds 0 1 2]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import numpy as np

from agent.champion import load_champion
from agent.neat_eval import FitnessSettings, PopulationEvaluator
from agent.neat_trainer import TrainSettings, train
from envs.level import builtin_names, load_level


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", type=int, default=60)
    parser.add_argument("--generated", type=int, default=3)
    parser.add_argument("--difficulty", type=float, default=0.3)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--configs", nargs="+", default=["configs/neat.ini", "configs/neat_feedforward.ini"]
    )
    args = parser.parse_args(argv)
    shipped = [load_level(n) for n in builtin_names()]
    print(
        f"# {args.generations} generations on {args.generated} generated levels per generation "
        f"(difficulty {args.difficulty}); champions tested on {len(shipped)} shipped levels"
    )
    print("| config | seed | shipped levels finished | mean progress | wall seconds |")
    print("|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for config in args.configs:
            shares = []
            for seed in args.seeds:
                out = Path(tmp) / f"{Path(config).stem}-{seed}"
                settings = TrainSettings(
                    levels=[],
                    generated=args.generated,
                    difficulty=args.difficulty,
                    generations=args.generations,
                    config=config,
                    seed=seed,
                    out=out,
                    checkpoint_every=1000,
                    stop_when_solved=False,
                )
                result = train(settings, progress=False, log=lambda *_: None)
                champ = load_champion(out / "champion.json")
                ev = PopulationEvaluator(shipped, FitnessSettings()).evaluate(
                    [(1, champ.genome)], champ.config
                )
                flags = np.array([lvl.flag_col * 16 for lvl in shipped])
                progress = np.minimum(ev.rightmost[0] / flags, 1.0)
                share = float(ev.completed[0].mean())
                shares.append(share)
                print(
                    f"| {Path(config).name} | {seed} | {ev.completed[0].sum()}/{len(shipped)} | "
                    f"{progress.mean():.0%} | {result.wall_seconds:.0f} |",
                    flush=True,
                )
            print(f"| {Path(config).name} | median | {statistics.median(shares):.0%} | | |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
