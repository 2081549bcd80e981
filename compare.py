"""Compare agents on the same levels: evolved (NEAT) and backprop (LSTM/GRU/RNN) runs, the solver.

    python compare.py runs/neat-1-1 runs/ppo-lstm-1-1 solver --levels 1-1 1-2 --out results/cmp
    python compare.py runs/neat-* --generated 20 --seed 0 --episodes 1 --out results/cmp
    python compare.py --train --preset small --out results/small   # train all, then compare
    python compare.py --memory-sweep --distances 8,16,32,64 --out results/memory
    python compare.py runs/neat-1-1 --env smb --levels 1-1 --out results/transfer  # real game

Writes OUT/results.json (every episode, agent metadata, summary rows), OUT/summary.md (a table
per level set, mean ± 95% CI) and PNG plots (learning curves, per-level completion).
See docs/results.md. Exit status: 0 done, 2 bad arguments or unusable runs/levels (one line).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path

PROG = "compare.py"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"{PROG}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    from agent.study.protocol import PRESETS

    p = _Parser(
        prog=PROG,
        description="Evaluate agents on the same levels and write results.json, summary.md "
        "and plots; or train every method under one protocol first (--train).",
    )
    p.add_argument(
        "agents",
        nargs="*",
        metavar="RUN",
        help="run directories (NEAT or LSTM/GRU/RNN), champion.json files, or 'solver'",
    )
    p.add_argument("--levels", nargs="+", metavar="NAME|PATH", help="a level set: named levels")
    p.add_argument(
        "--env",
        choices=("world", "smb"),
        default="world",
        help="world: the built-in levels (default); smb: the real Super Mario Bros. stage(s) "
        "given by --levels (1-1), in the NES emulator (the nes extra)",
    )
    p.add_argument("--generated", type=int, metavar="N", help="a level set: N generated levels")
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="first generated level's seed; also seeds --sample and --memory-sweep (0)",
    )
    p.add_argument("--difficulty", type=float, default=0.3, help="generated levels (0.3)")
    p.add_argument("--length", type=int, default=150, help="generated levels' columns (150)")
    p.add_argument("--episodes", type=int, default=1, help="episodes per level (1)")
    p.add_argument("--max-frames", type=int, default=0, help="cut episodes at F frames (none)")
    p.add_argument("--out", type=Path, default=Path("results/compare"), help="output directory")
    p.add_argument(
        "--sample",
        action="store_true",
        help="LSTM/GRU/RNN agents sample their buttons (seeded by --seed) instead of p > 0.5",
    )
    p.add_argument("--no-plots", action="store_true", help="results.json and summary.md only")
    p.add_argument("--train", action="store_true", help="train NEAT, PPO-LSTM and BC-LSTM first")
    p.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default="small",
        help="--train / --memory-sweep preset (small)",
    )
    p.add_argument("--seeds", metavar="S,S,..", help="--train: these seeds, not the preset's")
    p.add_argument(
        "--memory-sweep", action="store_true", help="the memory study (agent/study/memory.py)"
    )
    p.add_argument(
        "--distances", default="8,16,32,64", help="--memory-sweep cue distances (8,16,32,64)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    return p


def _log(quiet: bool):
    return None if quiet else (lambda line: print(line, flush=True))


def _ints(text: str, flag: str, least: int) -> list[int]:
    """``"8,16,32"`` as integers of at least ``least``; a one-line ValueError otherwise."""
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"{flag}: expected integers like 8,16,32, got {text!r}") from None
    if not values or min(values) < least:
        raise ValueError(f"{flag}: expected integers of at least {least}, got {text!r}")
    return values


def run(args: argparse.Namespace) -> int:
    from agent.study.harness import CompareSettings, compare, generated_set, named_set, smb_set

    log = _log(args.quiet)
    modes = sum([args.train, args.memory_sweep])
    if modes > 1:
        raise ValueError("--train and --memory-sweep are separate modes; give one")
    if modes and args.agents:
        raise ValueError("--train and --memory-sweep train their own agents; give no RUN")
    if args.episodes < 1:
        raise ValueError(f"--episodes must be at least 1, got {args.episodes}")
    if args.memory_sweep:
        distances = _ints(args.distances, "--distances", 1)
        try:
            from agent.study.memory import run_memory_sweep
        except ImportError as exc:
            raise ValueError(f"--memory-sweep needs agent/study/memory.py ({exc})") from None
        run_memory_sweep(args.out, distances, args.preset, args.seed, log or (lambda _: None))
        print(f"memory sweep written to {args.out}")
        return 0
    if args.train:
        from agent.study.protocol import PRESETS, run_protocol

        preset = PRESETS[args.preset]
        if args.seeds is not None:
            preset = dataclasses.replace(preset, seeds=tuple(_ints(args.seeds, "--seeds", 0)))
        run_protocol(
            preset, args.out, log, args.episodes, not args.no_plots, args.sample, args.seed
        )
    else:
        if not args.agents:
            raise ValueError("give at least one RUN (a run directory, champion.json or solver)")
        level_sets = []
        if args.env == "smb":
            if args.generated is not None:
                raise ValueError("--generated: the built-in world only, not --env smb")
            level_sets.append(smb_set(args.levels or ["1-1"]))
        elif args.levels:
            level_sets.append(named_set(args.levels, "levels"))
        if args.generated is not None:
            level_sets.append(
                generated_set(args.generated, args.seed, args.difficulty, args.length)
            )
        if not level_sets:
            level_sets.append(named_set(["1-1"], "levels"))
        settings = CompareSettings(
            agents=list(args.agents),
            level_sets=level_sets,
            episodes=args.episodes,
            max_frames=args.max_frames,
            out=args.out,
            plots=not args.no_plots,
            sample=args.sample,
            sample_seed=args.seed,
        )
        compare(settings, log)
    print(f"summary: {args.out / 'summary.md'}  results: {args.out / 'results.json'}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or an argument error (2, already printed)
        return int(exc.code or 0)
    try:
        return run(args)
    except (ValueError, OSError) as exc:  # CompareError, TrainError, ModelError, LevelError...
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        print(f"{PROG}: error: {first}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
