"""Compare agents on the same levels: evolved (NEAT) and backprop (LSTM/GRU/RNN) runs, the solver.

    python compare.py runs/neat runs/ppo solver --level 1-1 --level 1-2 --out results/cmp
    python compare.py runs/neat-* --generated 20 --seed 0 --episodes 1 --out results/cmp
    python compare.py --train --preset small --out results/small   # train all, then compare
    python compare.py --memory-sweep --distances 8,16,32,64 --out results/memory
    python compare.py runs/neat-1-1 --env smb --level 1-1 --out results/transfer  # real game

Writes OUT/results.json (every episode, agent metadata, summary rows), OUT/summary.md (a table
per level set, mean ± 95% CI) and PNG plots (learning curves, per-level completion).
See docs/results.md. Exit status: 0 done, 2 bad arguments or unusable runs/levels (one line),
130 interrupted.
"""

from __future__ import annotations

import signal
import sys

if __name__ == "__main__":  # Ctrl-C while the libraries load: exit 130, no traceback
    signal.signal(signal.SIGINT, lambda *_: sys.exit(130))

import argparse
import dataclasses
from collections.abc import Sequence
from pathlib import Path

from agent.cli import (
    DEFAULT_DIFFICULTY,
    DEFAULT_LENGTH,
    EXIT_INTERRUPTED,
    MAX_EPISODES,
    MAX_FRAMES,
    SEED_MAX,
    Parser,
    add_level_options,
    check_generated_options,
    check_writable,
    fail,
    warn_about_levels,
    whole,
)

PROG = "compare.py"
DISTANCES = "8,16,32,64"


def build_parser() -> argparse.ArgumentParser:
    from agent.study.memory import PRESETS as SWEEP_PRESETS
    from agent.study.protocol import PRESETS

    p = Parser(
        prog=PROG,
        description="Evaluate agents on the same levels and write results.json, summary.md "
        "and plots; or train every method under one protocol first (--train); or run the "
        "memory study (--memory-sweep).",
    )
    p.add_argument(
        "agents",
        nargs="*",
        metavar="RUN",
        help="run directories (NEAT or LSTM/GRU/RNN), champion.json files, or 'solver'",
    )
    add_level_options(p, "levels to play (default 1-1)")
    g = p.add_argument_group("play")
    g.add_argument(
        "--episodes",
        type=whole(1, MAX_EPISODES),
        default=1,
        metavar="N",
        help="episodes per level (1)",
    )
    g.add_argument(
        "--max-frames",
        type=whole(0, MAX_FRAMES),
        default=0,
        metavar="F",
        help="cut each episode at F frames (0: no cap)",
    )
    g.add_argument(
        "--sample",
        action="store_true",
        help="LSTM/GRU/RNN agents sample their buttons (seeded by --seed) instead of p > 0.5",
    )
    g = p.add_argument_group("output")
    g.add_argument(
        "--out",
        type=Path,
        default=Path("results/compare"),
        metavar="DIR",
        help="output directory (results/compare)",
    )
    g.add_argument("--no-plots", action="store_true", help="results.json and summary.md only")
    g.add_argument("--quiet", action="store_true", help="no progress lines")
    g = p.add_argument_group("modes")
    g.add_argument("--train", action="store_true", help="train NEAT, PPO-LSTM and BC-LSTM first")
    g.add_argument(
        "--preset",
        choices=sorted(set(PRESETS) | set(SWEEP_PRESETS)),
        help="the --train or --memory-sweep preset (small)",
    )
    g.add_argument("--seeds", metavar="S,S,..", help="--train: these seeds, not the preset's")
    g.add_argument(
        "--frames",
        type=whole(1, 10**13),
        metavar="F",
        help="--train: each NEAT and PPO run's training budget in game frames (the preset's)",
    )
    g.add_argument(
        "--memory-sweep", action="store_true", help="the memory study (agent/study/memory.py)"
    )
    g.add_argument(
        "--distances", metavar="D,D,..", help=f"--memory-sweep: cue distances ({DISTANCES})"
    )
    return p


def _ints(text: str, flag: str, least: int, most: int) -> list[int]:
    """``"8,16,32"`` as integers within ``least..most``; a one-line ValueError otherwise."""
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"{flag}: expected integers like 8,16,32, got {text!r}") from None
    if not values or min(values) < least or max(values) > most:
        raise ValueError(f"{flag}: expected integers within {least}..{most}, got {text!r}")
    return values


def _check_modes(args: argparse.Namespace) -> None:
    """The flags of one mode only: a one-line ValueError for a flag another mode owns."""
    mode = "--train" if args.train else "--memory-sweep" if args.memory_sweep else None
    if args.train and args.memory_sweep:
        raise ValueError("--train and --memory-sweep are separate modes; give one")
    if mode and args.agents:
        raise ValueError(f"{mode} trains its own agents; give no RUN")
    if mode and (args.level or args.generated is not None or args.env == "smb"):
        raise ValueError(f"{mode} plays its preset's levels; give no --level, --generated, --env")
    if args.memory_sweep and (args.episodes != 1 or args.sample or args.max_frames):
        raise ValueError("--memory-sweep plays one greedy episode per level; give no --episodes, "
                         "--sample or --max-frames")  # fmt: skip
    if not mode and not args.agents:
        raise ValueError("give at least one RUN (a run directory, champion.json or solver)")
    if not mode:
        check_generated_options(args)
    for flag, value, owner in (
        ("--preset", args.preset, mode or "--train or --memory-sweep"),
        ("--seeds", args.seeds, "--train"),
        ("--frames", args.frames, "--train"),
        ("--distances", args.distances, "--memory-sweep"),
    ):
        if value is not None and mode != owner:
            raise ValueError(f"{flag}: only with {owner}")


def run(args: argparse.Namespace) -> int:
    from agent.study.harness import CompareSettings, compare
    from agent.study.levelsets import level_sets

    _check_modes(args)
    check_writable(args.out, "--out")
    args.preset = args.preset or "small"
    log = None if args.quiet else (lambda line: print(line, flush=True))
    seed = 0 if args.seed is None else args.seed
    if args.memory_sweep:
        from agent.study.memory import run_memory_sweep

        distances = _ints(args.distances or DISTANCES, "--distances", 1, 10**9)
        draw = None
        if not args.no_plots:
            from viz.plots import memory_sweep_plot as draw
        quiet = log or (lambda _: None)
        run_memory_sweep(args.out, distances, args.preset, seed, quiet, draw=draw)
        print(f"memory sweep written to {args.out}")
        return 0
    draw = None
    if not args.no_plots:
        from viz.plots import draw_comparison as draw
    if args.train:
        from agent.study.protocol import PRESETS, run_protocol

        if args.preset not in PRESETS:
            raise ValueError(f"--preset {args.preset}: a --memory-sweep preset, not a --train one")
        preset = PRESETS[args.preset]
        if args.seeds is not None:
            seeds = tuple(_ints(args.seeds, "--seeds", 0, SEED_MAX))
            preset = dataclasses.replace(preset, seeds=seeds)
        if args.frames is not None:
            preset = dataclasses.replace(preset, frames=args.frames)
        run_protocol(preset, args.out, log, args.episodes, draw, args.sample, seed, args.max_frames)
    else:
        sets = level_sets(
            args.level,
            args.generated,
            seed,
            DEFAULT_DIFFICULTY if args.difficulty is None else args.difficulty,
            DEFAULT_LENGTH if args.length is None else args.length,
            args.env or "world",
        )
        settings = CompareSettings(
            agents=list(args.agents),
            level_sets=sets,
            episodes=args.episodes,
            max_frames=args.max_frames,
            out=args.out,
            sample=args.sample,
            sample_seed=seed,
        )
        compare(settings, log, draw)
    print(f"summary: {args.out / 'summary.md'}  results: {args.out / 'results.json'}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        warn_about_levels(PROG, args.level, args.env)
        return run(args)
    except SystemExit as exc:  # --help (0) or an argument error (2, already printed)
        return int(exc.code or 0)
    except (ValueError, OSError) as exc:  # CompareError, TrainError, ModelError, LevelError...
        return fail(PROG, exc)
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())
