"""Generalisation of NEAT champions: train on fresh generated levels, test on the shipped ones.

For each config (recurrent ``configs/neat.ini`` and feed-forward ``configs/neat_feedforward.ini``)
and seed, ``train.py neat --generated N`` evolves for a fixed number of generations on N new
generated levels per generation; the final champion then plays every shipped level 1-1 ... 1-8
once. The shipped levels are never seen in training: the optional curriculum and validation
levels are generated ones too (``--curriculum``, ``--validation``, as in ``train.py neat``).
Reports the shipped levels finished, the mean progress (share of the way to the flag, capped
at 1) and the generation the champion comes from; and, as a less noisy measure of the same
skill, the champion's results on ``--test-generated`` generated levels at the training
difficulty whose seeds no run trains or validates on.

Run: ``python benchmarks/bench_neat_generalisation.py [--generations 60] [--seeds 0 1 2]``;
the setting in BENCHMARKS.md: ``--generations 150 --generated 6 --validation 10 ...``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere, installed or not
    sys.path.insert(0, str(ROOT))

from agent.neat.champion import load_champion  # noqa: E402
from agent.neat.evaluator import PopulationEvaluator  # noqa: E402
from agent.neat.fitness import FitnessSettings  # noqa: E402
from agent.neat.trainer import TrainSettings, train  # noqa: E402
from envs.levels.generator import generate_level  # noqa: E402
from envs.levels.level import Level, builtin_names, load_level  # noqa: E402


def test_seed(index: int) -> int:
    """Seed of held-out test level ``index``: apart from every run's training schedule
    (``level_seed``) and validation levels (``validation_seed``, spawn key 1)."""
    return int(np.random.SeedSequence([index], spawn_key=(2,)).generate_state(1)[0])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", type=int, default=60)
    parser.add_argument("--generated", type=int, default=3, help="levels per generation")
    parser.add_argument("--difficulty", type=float, default=0.3)
    parser.add_argument("--length", type=int, default=150, help="generated level columns")
    parser.add_argument("--aggregate", choices=("mean", "min"), default="mean")
    parser.add_argument("--validation", type=int, default=None, help="held-out levels")
    parser.add_argument("--curriculum", type=float, default=None, help="start difficulty")
    parser.add_argument("--curriculum-step", type=float, default=0.05)
    parser.add_argument("--curriculum-share", type=float, default=0.5)
    parser.add_argument("--test-generated", type=int, default=30, help="held-out test levels")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--configs", nargs="+", default=["configs/neat.ini", "configs/neat_feedforward.ini"]
    )
    return parser.parse_args(argv)


def settings_for(args: argparse.Namespace, config: str, seed: int, out: Path) -> TrainSettings:
    return TrainSettings(
        levels=[],
        generated=args.generated,
        difficulty=args.difficulty,
        generated_length=args.length,
        aggregate=args.aggregate,
        validation=args.validation,
        curriculum=args.curriculum,
        curriculum_step=args.curriculum_step,
        curriculum_share=args.curriculum_share,
        generations=args.generations,
        config=config,
        seed=seed,
        out=out,
        checkpoint_every=1000,
        stop_when_solved=False,
    )


def scores(champion: Path, levels: list[Level]) -> tuple[np.ndarray, np.ndarray]:
    """The champion's finished flags and progress (0..1) on each level."""
    champ = load_champion(champion)
    ev = PopulationEvaluator(levels, FitnessSettings()).evaluate([(1, champ.genome)], champ.config)
    flags = np.array([lvl.flag_col * 16 for lvl in levels])
    return ev.completed[0], np.minimum(ev.rightmost[0] / flags, 1.0)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    shipped = [load_level(n) for n in builtin_names()]
    n_test = args.test_generated
    tests = [generate_level(test_seed(i), args.difficulty, args.length) for i in range(n_test)]
    extras = []
    if args.curriculum is not None:
        extras.append(
            f"curriculum from {args.curriculum} (step {args.curriculum_step}, share "
            f"{args.curriculum_share})"
        )
    if args.validation:
        extras.append(f"champion chosen on {args.validation} held-out generated levels")
    print(
        f"# {args.generations} generations on {args.generated} generated levels per generation "
        f"(difficulty {args.difficulty}, length {args.length}, aggregate {args.aggregate}"
        f"{''.join('; ' + x for x in extras)}); champions tested on {len(shipped)} shipped levels "
        f"and {n_test} held-out generated ones"
    )
    names = " | ".join(lvl.name for lvl in shipped)
    print(
        f"| config | seed | finished | mean progress | {names} | held-out generated: finished, "
        "progress | champion gen | wall s |"
    )
    print("|---|---:|---:|---:|" + "---:|" * len(shipped) + "---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for config in args.configs:
            finished, means = [], []
            for seed in args.seeds:
                out = Path(tmp) / f"{Path(config).stem}-{seed}"
                result = train(settings_for(args, config, seed, out), progress=False, log=None)
                done, progress = scores(out / "champion.json", shipped)
                t_done, t_progress = scores(out / "champion.json", tests)
                finished.append(int(done.sum()))
                means.append(float(progress.mean()))
                cells = " | ".join(
                    f"**{p:.0%}**" if d else f"{p:.0%}" for d, p in zip(done, progress, strict=True)
                )
                print(
                    f"| {Path(config).name} | {seed} | {done.sum()}/{len(shipped)} | "
                    f"{progress.mean():.0%} | {cells} | {t_done.sum()}/{n_test}, "
                    f"{t_progress.mean():.0%} | {result.champion_generation} | "
                    f"{result.wall_seconds:.0f} |",
                    flush=True,
                )
            blank = " |" * (len(shipped) + 1)
            print(
                f"| {Path(config).name} | median | {statistics.median(finished)}/{len(shipped)} | "
                f"{statistics.median(means):.0%} |{blank} | |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
