"""Train agents for the platformer.

    python train.py                                   # NEAT on level 1-1, configs/neat.ini, seed 0
    python train.py neat --level 1-1 --level 1-2 --generations 50 --out runs/two
    python train.py neat --generated 5 --difficulty 0.4 --out runs/gen   # fresh levels each gen
    python train.py neat --generated 6 --curriculum 0.1 --validation 10  # easy first, held-out pick
    python train.py neat --resume runs/two --generations 80               # continue a run
    python train.py neat --env smb --level 1-1 --out runs/smb   # the real game (".[nes]" extra)
    python train.py neat --backend processes --workers 4                  # 4 local processes
    python train.py neat --backend ray --ray-address auto                 # an existing Ray cluster
    python train.py lstm --algo ppo --cell lstm --level 1-1 --frames 3000000 --out runs/ppo
    python train.py lstm --algo bc --cell gru --level 1-1 --out runs/bc   # from solver demos

Subcommands: ``neat`` (neuroevolution of recurrent topologies, neat-python genetics; see
docs/neat.md) and ``lstm`` (LSTM/GRU/RNN policies trained by backpropagation through time, by
recurrent PPO or by behaviour cloning with DAgger; see docs/lstm.md). Exit status: 0 done, 2 bad
input (config, levels, checkpoint, champion, demos, device, out directory: one line on stderr,
nothing already saved is touched), 130 interrupted (resume from the latest checkpoint).
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

SUBCOMMANDS = ("neat", "lstm")
PROG = "train.py"


class _Parser(argparse.ArgumentParser):
    """Argument errors on one line (no usage block), exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"{self.prog}: error: {message} (see --help)", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    p = sub.add_parser(
        "neat",
        help="NEAT: evolve recurrent networks (the default)",
        description="Evolve recurrent networks with NEAT (neat-python genetics, batched "
        "evaluation). Options left out on --resume keep the run's own values.",
    )
    lv = p.add_argument_group("levels")
    lv.add_argument(
        "--level",
        action="append",
        metavar="NAME|PATH",
        help="training level, built-in name (1-1 .. 1-8) or file; repeat for several "
        "(default 1-1, or none with --generated)",
    )
    lv.add_argument(
        "--env",
        choices=("world", "smb"),
        help="world: the built-in platformer (the default); smb: the real Super Mario Bros. in "
        'the NES emulator (pip install -e ".[nes]"; --level names a stage, e.g. 1-1; evaluated '
        "in worker processes on every core unless --workers 1)",
    )
    lv.add_argument(
        "--generated",
        type=int,
        metavar="N",
        help="also evaluate on N fresh generated levels each generation (seeded by --seed)",
    )
    lv.add_argument(
        "--difficulty", type=float, metavar="D", help="generated level difficulty, 0..1 (0.3)"
    )
    lv.add_argument(
        "--length", type=int, metavar="COLS", help="generated level length in columns (150)"
    )
    lv.add_argument(
        "--aggregate",
        choices=("mean", "min"),
        help="fitness over several levels (mean)",
    )
    lv.add_argument(
        "--validation",
        type=int,
        metavar="N",
        help="choose the champion by its score on N held-out generated levels (at --difficulty), "
        "played by each generation's best genomes (default: by training fitness)",
    )
    lv.add_argument(
        "--curriculum",
        type=float,
        metavar="D0",
        help="generated levels start at difficulty D0 and rise to --difficulty as the "
        "generation's best finishes them (default: --difficulty from the start)",
    )
    lv.add_argument(
        "--curriculum-step",
        type=float,
        metavar="S",
        help="curriculum: raise the difficulty by S at a time (0.05)",
    )
    lv.add_argument(
        "--curriculum-share",
        type=float,
        metavar="F",
        help="curriculum: raise it after a generation whose best finished at least this share "
        "of the generated levels (0.5)",
    )
    ev = p.add_argument_group("evolution")
    ev.add_argument("--generations", type=int, metavar="G", help="generations in all (100)")
    ev.add_argument(
        "--config", type=Path, metavar="PATH", help="NEAT config file (configs/neat.ini)"
    )
    ev.add_argument("--seed", type=int, metavar="S", help="random seed (0)")
    ev.add_argument(
        "--keep-going",
        action="store_true",
        default=None,
        help="do not stop when the champion completes every training level",
    )
    run = p.add_argument_group("run")
    run.add_argument(
        "--out", type=Path, metavar="DIR", help="run directory (runs/neat-LEVELS-TIMESTAMP)"
    )
    run.add_argument(
        "--resume", type=Path, metavar="DIR", help="continue the run in DIR from its checkpoint"
    )
    run.add_argument(
        "--checkpoint-every", type=int, metavar="K", help="checkpoint every K generations (5)"
    )
    run.add_argument("--device", metavar="cpu|cuda", help="evaluation device (cpu)")
    run.add_argument(
        "--backend",
        choices=("local", "processes", "ray"),
        help="where genomes are evaluated: this process (local, the default), local worker "
        "processes, or a Ray cluster; the results are identical",
    )
    run.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="processes (processes: the CPU count) or Ray shards (ray: the cluster's CPUs); "
        "without --backend, N > 1 means --backend processes",
    )
    run.add_argument(
        "--ray-address",
        metavar="ADDRESS",
        help="join an existing Ray cluster: auto (started with ray start on this machine) or "
        "ray://HOST:10001; implies --backend ray (without it, ray starts a local Ray)",
    )
    run.add_argument(
        "--watch", action="store_true", help="when done, open a window with the champion playing"
    )
    run.add_argument("--watch-frames", type=int, default=0, help=argparse.SUPPRESS)
    run.add_argument("--quiet", action="store_true", help="no progress bar or per-gen lines")
    _add_lstm_parser(sub)
    return parser


def _default_out(levels: list[str], generated: int | None, env: str | None = None) -> Path:
    tags = [Path(x).stem for x in levels[:2]] + (["gen"] if generated else [])
    tags = (["smb"] if env == "smb" else []) + tags
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"neat-{'-'.join(tags)}-{stamp}"


def neat_settings(args: argparse.Namespace):
    """TrainSettings from the arguments (on --resume: the run's own, overlaid by those given)."""
    from agent.neat.trainer import TrainError, TrainSettings, load_run_settings

    given = {
        "env": args.env,
        "levels": args.level,
        "generated": args.generated,
        "difficulty": args.difficulty,
        "generated_length": args.length,
        "aggregate": args.aggregate,
        "validation": args.validation,
        "curriculum": args.curriculum,
        "curriculum_step": args.curriculum_step,
        "curriculum_share": args.curriculum_share,
        "generations": args.generations,
        "config": args.config,
        "seed": args.seed,
        "checkpoint_every": args.checkpoint_every,
        "device": args.device,
        "workers": args.workers,
        "ray_address": args.ray_address,
        "backend": args.backend or ("ray" if args.ray_address is not None else None),
        "stop_when_solved": None if args.keep_going is None else not args.keep_going,
    }
    given = {k: v for k, v in given.items() if v is not None}
    if args.resume is not None:
        if args.out is not None and args.out.resolve() != args.resume.resolve():
            raise TrainError("--out and --resume name different directories; give --resume only")
        base = load_run_settings(args.resume)
        if "backend" in given:  # a new backend: its workers and address as given, or defaults
            base = dataclasses.replace(base, workers=None, ray_address=None)
        return dataclasses.replace(base, **given, out=str(args.resume))
    if "levels" not in given:
        given["levels"] = [] if args.generated else ["1-1"]
    out = args.out or _default_out(given["levels"], args.generated, args.env)
    return TrainSettings(**given, out=str(out))


def run_neat(args: argparse.Namespace) -> int:
    from agent.neat.trainer import (
        CHECKPOINT_FILE,
        ChampionError,
        CheckpointError,
        ConfigError,
        ConfigMismatch,
        LevelError,
        TrainError,
        train,
    )

    bad_input = (
        TrainError,
        ConfigError,
        ConfigMismatch,
        LevelError,
        CheckpointError,
        ChampionError,
    )
    out = args.resume or args.out
    try:
        settings = neat_settings(args)
        out = Path(settings.out)
        result = train(settings, resume=args.resume, progress=not args.quiet)
    except bad_input as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            f"\n{PROG}: interrupted; continue from the last checkpoint with: "
            f"python train.py neat --resume {shlex.quote(str(out))}",
            file=sys.stderr,
        )
        return 130

    if result.resumed_from is not None and result.generations == result.resumed_from:
        why = (
            "its champion already completes every level"
            if result.solved
            else (f"it already ran {result.generations} generations")
        )
        print(f"nothing to do: {why}; raise --generations (or add --keep-going) to go on")
    if result.champion_path is None:
        return 0
    champ = shlex.quote(str(result.champion_path))
    state = "solved: " if result.solved else ""
    print(
        f"{state}champion of generation {result.champion_generation}, fitness "
        f"{result.champion_fitness:.1f}, completed {result.champion_completed}/"
        f"{result.champion_levels} training levels; {result.generations} generations, "
        f"{result.wall_seconds:.1f} s"
    )
    run_dir = shlex.quote(str(result.out))
    level = f" --level {shlex.quote(result.levels[0])}" if result.levels else " [--level NAME|PATH]"
    env = ["--env", "smb"] if settings.env == "smb" else []  # the real game: watch it there
    level = "".join(f" {x}" for x in env) + level
    print(f"champion:       {result.champion_path}")
    print(f"run files:      {result.out} (metrics.jsonl, {CHECKPOINT_FILE}, config.ini)")
    print(f"watch it:       python play.py {run_dir}{level}")
    print(f"score it:       python -m agent.neat.champion {champ} [--level NAME|PATH]")
    if getattr(args, "watch", False) and result.champion_path is not None:
        import play  # the window; imported only here, so training never loads pygame

        watch = [str(result.out), *env] + (["--level", result.levels[0]] if result.levels else [])
        return play.main(
            watch + (["--max-frames", str(args.watch_frames)] if args.watch_frames else [])
        )
    return 0


def _add_lstm_parser(sub) -> None:
    p = sub.add_parser(
        "lstm",
        help="LSTM/GRU/RNN trained by backpropagation through time (PPO or behaviour cloning)",
        description="Train a recurrent policy by BPTT: recurrent PPO from reward, or behaviour "
        "cloning from demonstrations (the solver's by default) with DAgger.",
    )
    p.add_argument("--algo", choices=("ppo", "bc"), default="ppo", help="ppo (default) or bc")
    p.add_argument("--cell", choices=("lstm", "gru", "rnn"), help="recurrent cell (lstm)")
    p.add_argument(
        "--level", action="append", metavar="NAME|PATH", help="training level; repeat (1-1)"
    )
    p.add_argument("--generated", type=int, metavar="N", help="N generated training levels")
    p.add_argument("--difficulty", type=float, help="of generated levels (0.3)")
    p.add_argument("--length", type=int, help="of generated levels (150)")
    p.add_argument("--frames", type=int, metavar="F", help="PPO frame budget (2,000,000)")
    p.add_argument("--config", type=Path, metavar="PATH", help="configs/ppo.json or bc.json")
    p.add_argument("--demos", type=Path, metavar="FILE", help="BC demonstrations (.npz)")
    p.add_argument("--dagger-iters", type=int, metavar="N", help="BC: DAgger rounds")
    p.add_argument("--seed", type=int, help="random seed (0; on --resume, the run's own)")
    p.add_argument("--out", type=Path, metavar="DIR", help="run directory (runs/ALGO-CELL-...)")
    p.add_argument("--resume", type=Path, metavar="DIR", help="continue the run in DIR")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run_lstm(args: argparse.Namespace) -> int:
    """``train.py lstm``: validate, train, and say where the model went."""
    import dataclasses as dc

    from agent.rnn.bc import load_bc_config, train_bc
    from agent.rnn.ppo import load_ppo_config, train_ppo

    try:
        if args.frames is not None and args.frames < 1:
            raise ValueError(f"--frames must be positive, got {args.frames}")
        if args.algo == "bc" and args.frames is not None:
            raise ValueError("--frames is the PPO budget; BC's length is set in configs/bc.json")
        loader = load_ppo_config if args.algo == "ppo" else load_bc_config
        if args.resume:
            # the run's own settings; only what was typed is passed (and checked against them)
            model_config = algo_config = None
            if args.config or args.cell:
                model_config, algo_config = loader(args.config)
                model_config = dc.replace(model_config, cell=args.cell or model_config.cell)
                algo_config = algo_config if args.config else None
            levels = args.level
        else:
            model_config, algo_config = loader(args.config)
            if args.cell:
                model_config = dc.replace(model_config, cell=args.cell)
            levels = args.level or (None if args.generated else ["1-1"])
        out = args.out or args.resume or _default_lstm_out(args, levels)
        common = dict(
            levels=levels,
            generated=args.generated,
            difficulty=0.3 if args.difficulty is None else args.difficulty,
            length=150 if args.length is None else args.length,
            seed=0 if args.seed is None and not args.resume else args.seed,
            out_dir=out,
            device=args.device,
            progress=not args.quiet,
        )
        if args.algo == "ppo":
            extra = {"frames": args.frames} if args.frames is not None else {}
            result = train_ppo(model_config, algo_config, resume=args.resume, **common, **extra)
        else:
            result = train_bc(
                model_config, algo_config, demos=args.demos, dagger_iters=args.dagger_iters,
                resume=args.resume, **common,
            )  # fmt: skip
    except (ValueError, OSError) as exc:  # TrainError, ModelError, DeviceError, DemoError, ...
        print(f"{PROG}: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        hint = f"; continue with: python train.py lstm --resume {shlex.quote(str(out))}"
        print(f"\ninterrupted{hint}", file=sys.stderr)
        return 130
    first = result.first_completion_frames
    print(
        f"{args.algo.upper()}{'-' + model_config.cell.upper() if model_config else ''}: "
        f"{result.wall_seconds:.1f} s; "
        + (f"first completion after {first:,} frames" if first else "no completion yet")
    )
    print(f"model:          {result.model_dir} (model.pt, model.json)")
    print(f"run files:      {result.out} (metrics.jsonl)")
    level = f" --level {shlex.quote(str(levels[0]))}" if levels else " [--level NAME|PATH]"
    print(f"watch it:       python play.py {shlex.quote(str(result.out))}{level}")
    return 0


def _default_lstm_out(args: argparse.Namespace, levels: list[str] | None) -> Path:
    tags = [args.algo, args.cell or "lstm"] + [Path(x).stem for x in (levels or [])]
    if args.generated:
        tags.append(f"gen{args.generated}")
    return Path("runs") / f"{'-'.join(tags)}-{time.strftime('%Y%m%d-%H%M%S')}"


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in (*SUBCOMMANDS, "-h", "--help"):
        argv = ["neat", *argv]
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or an argument error (2, already printed)
        return int(exc.code or 0)
    if args.command == "neat":
        return run_neat(args)
    if args.command == "lstm":
        return run_lstm(args)
    raise AssertionError(args.command)


def _terminate(signum: int, frame: object) -> None:
    # SIGTERM (kill, a job scheduler) stops a run the way Ctrl-C does: worker processes and
    # the Ray session are shut down, and the last checkpoint is there to resume from.
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    sys.exit(main())
