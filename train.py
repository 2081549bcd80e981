"""Train agents for the platformer.

    python train.py                                   # NEAT on level 1-1, configs/neat.ini, seed 0
    python train.py neat --level 1-1 --level 1-2 --generations 50 --out runs/two
    python train.py neat --generated 6 --curriculum 0.1 --validation 10  # easy first, held-out pick
    python train.py neat --generalist --out runs/generalist   # the generalist recipe (docs/neat.md)
    python train.py neat --frames 2000000 --out runs/budget               # a training frame budget
    python train.py neat --resume runs/two --generations 80               # continue a run
    python train.py neat --env smb --level 1-1 --out runs/smb   # the real game (".[nes]" extra)
    python train.py neat --backend processes --workers 4   # or --backend ray [--ray-address auto]
    python train.py rnn --algo ppo --cell lstm --level 1-1 --frames 3000000 --out runs/ppo
    python train.py rnn --algo bc --cell gru --level 1-1 --out runs/bc    # from solver demos
    python train.py rnn --algo ppo --init-from runs/bc --level 1-1     # PPO from a BC policy

``neat``: neuroevolution (docs/neat.md); ``rnn``: LSTM/GRU/RNN policies by recurrent PPO or
behaviour cloning with DAgger (docs/rnn.md). Shared flags mean what they mean in play.py and
compare.py (README, "Command-line vocabulary"). Exit status: 0 done, 2 bad input (one line on
stderr; nothing saved is touched), 130 interrupted (resume from the latest checkpoint).
"""

from __future__ import annotations

import signal
import sys

if __name__ == "__main__":  # Ctrl-C while the libraries load: exit 130, no traceback
    signal.signal(signal.SIGINT, lambda *_: sys.exit(130))

import argparse
import dataclasses
import shlex
from collections.abc import Sequence
from pathlib import Path

from agent.cli import (
    BUDGET,
    DEFAULT_DIFFICULTY,
    EXIT_INTERRUPTED,
    Parser,
    add_level_options,
    add_run_options,
    check_generated_options,
    check_writable,
    fail,
    warn_about_levels,
    whole,
)
from agent.neat.cli import GENERALIST_HELP
from agent.neat.flag_table import FRAMES, NEAT_FLAGS
from agent.neat.flags import default_out, neat_settings

SUBCOMMANDS = ("neat", "rnn")
PROG = "train.py"
PICKLE = (", a pickle, which can run any code when loaded: only directories this user owns "
          "are resumed unless --trust-checkpoint")  # fmt: skip


def _subcommand(sub, name: str, help: str, description: str, group: str, ranges: bool = False):
    """A subcommand with the shared level options (``ranges``: ``--difficulty LO:HI`` too);
    returns it and a group for its own."""
    p = sub.add_parser(name, help=help, description=description)
    add_level_options(p, "levels (default 1-1, or none with --generated)", ranges)
    return p, p.add_argument_group(group)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    p, g = _subcommand(
        sub, "neat", "NEAT: evolve recurrent networks (the default)",
        "Evolve recurrent networks with NEAT (neat-python genetics, batched evaluation). "
        "Options left out on --resume keep the run's own values.", "evolution",
    )  # fmt: skip
    for flag, _, kw in NEAT_FLAGS:
        g.add_argument(flag, **kw)
    g.add_argument("--generalist", action="store_true", help=GENERALIST_HELP)
    g.add_argument("--keep-going", action="store_true", default=None, help="do not stop when "
                   "the champion completes every training level")  # fmt: skip
    g.add_argument("--watch", action="store_true", help="then watch the champion in a window")
    g.add_argument("--watch-frames", type=int, default=0, help=argparse.SUPPRESS)  # for tests
    g = add_run_options(p, "run directory (runs/neat-LEVELS-TIMESTAMP)", "NEAT config "
                        "(configs/neat.ini; on --resume the run's)", "cpu", PICKLE)  # fmt: skip
    g.add_argument(
        "--trust-checkpoint",
        action="store_true",
        help="resume a checkpoint in another user's directory (it can run any code: only if "
        "you trust it)",
    )
    r, g = _subcommand(
        sub, "rnn", "LSTM/GRU/RNN policies trained by backpropagation through time (PPO or BC)",
        "Train a recurrent policy by BPTT: recurrent PPO from reward, or behaviour cloning "
        "from demonstrations (the solver's by default) with DAgger.", "training", ranges=True,
    )  # fmt: skip
    g.add_argument("--algo", choices=("ppo", "bc"), default="ppo", help="recurrent PPO from "
                   "reward, or behaviour cloning with DAgger (ppo)")  # fmt: skip
    g.add_argument("--cell", choices=("lstm", "gru", "rnn"), help="recurrent cell (lstm)")
    g.add_argument("--frames", type=FRAMES, metavar="F", help=f"PPO: {BUDGET} (2,000,000)")
    g.add_argument("--demos", type=Path, metavar="FILE", help="BC demonstrations (.npz)")
    g.add_argument("--dagger-iters", type=whole(0, 1000), metavar="N", help="BC: DAgger rounds")
    g.add_argument("--init-from", type=Path, metavar="DIR", help="PPO: start from the policy "
                   "saved in DIR (e.g. a BC run), in its shape")  # fmt: skip
    add_run_options(r, "run directory (runs/ALGO-CELL-LEVELS-TIMESTAMP)", "configs/ppo.json "
                    "or configs/bc.json (on --resume the run's)", "auto", " (tensors and JSON, "
                    "loaded without unpickling code)")  # fmt: skip
    return parser


def run_neat(args: argparse.Namespace) -> int:
    from agent.neat.trainer import CHECKPOINT_FILE, train

    settings = neat_settings(args)
    check_writable(settings.out, "--out" if args.resume is None else "--resume")
    try:
        result = train(settings, resume=args.resume, progress=not args.quiet,
                       trust_checkpoint=args.trust_checkpoint)  # fmt: skip
    except KeyboardInterrupt:
        return _interrupted(f"neat --resume {shlex.quote(str(settings.out))}")
    if result.resumed_from is not None and result.generations == result.resumed_from:
        why = "its champion already completes every level" if result.solved else (
            f"it already ran {result.generations} generations")  # fmt: skip
        print(f"nothing to do: {why}; raise --generations (or add --keep-going) to go on")
    if result.champion_path is None:
        return 0
    print(
        f"{'solved: ' if result.solved else ''}champion of generation "
        f"{result.champion_generation}, fitness {result.champion_fitness:.1f}, completed "
        f"{result.champion_completed}/{result.champion_levels} training levels; "
        f"{result.generations} generations, {result.wall_seconds:.1f} s"
    )
    watch = [str(result.out)] + (["--env", "smb"] if settings.env == "smb" else [])
    watch += ["--level", result.levels[0]] if result.levels else []
    level = "" if result.levels else " [--level NAME|PATH]"
    print(f"champion:       {result.champion_path}")
    print(f"run files:      {result.out} (metrics.jsonl, {CHECKPOINT_FILE}, config.ini)")
    print(f"watch it:       python play.py {shlex.join(watch)}{level}")
    print(f"score it:       python -m agent.neat.score {shlex.quote(str(result.champion_path))}"
          " [--level NAME|PATH]")  # fmt: skip
    if args.watch:
        import play  # the window; imported only here, so training never loads pygame

        frames = ["--max-frames", str(args.watch_frames)] if args.watch_frames else []
        return play.main(watch + frames)
    return 0


def run_rnn(args: argparse.Namespace) -> int:
    """``train.py rnn``: validate, train, and say where the model went."""
    from agent.rnn.bc import load_bc_config, train_bc
    from agent.rnn.ppo import load_ppo_config, train_ppo
    from agent.runs import TrainError
    from agent.study.metrics import run_summary

    if args.env == "smb":
        raise TrainError("--env smb: the rnn trainers train on the built-in world only")
    if args.algo == "bc" and args.frames is not None:
        raise TrainError("--frames: BC has no frame budget; its length is set in configs/bc.json")
    if args.algo == "ppo" and (args.demos is not None or args.dagger_iters is not None):
        raise TrainError("--demos and --dagger-iters are BC's; add --algo bc")
    if args.init_from is not None and (args.algo != "ppo" or args.resume):
        raise TrainError("--init-from: only a new PPO run starts from a saved policy")
    check_generated_options(args)
    model_config = algo_config = None
    loader = load_ppo_config if args.algo == "ppo" else load_bc_config
    if not args.resume or args.config or args.cell:  # on resume: only what was typed, checked
        model_config, algo_config = loader(args.config)
        model_config = dataclasses.replace(model_config, cell=args.cell or model_config.cell)
        algo_config = None if args.resume and not args.config else algo_config
        if args.init_from is not None and not (args.config or args.cell):
            model_config = None  # the saved policy's shape
    levels = args.level or (None if args.resume or args.generated else ["1-1"])
    tags = [args.algo, args.cell or "lstm", *[Path(x).stem for x in levels or []]]
    tags += [f"gen{args.generated}"] if args.generated else []
    out = args.out or args.resume or default_out(tags)
    check_writable(out, "--out" if args.resume is None else "--resume")
    common = dict(
        levels=levels, generated=args.generated,
        difficulty=DEFAULT_DIFFICULTY if args.difficulty is None else args.difficulty,
        **({} if args.length is None else {"length": args.length}),
        seed=0 if args.seed is None and not args.resume else args.seed,
        out_dir=out, device=args.device or "auto", progress=not args.quiet, resume=args.resume,
    )  # fmt: skip
    try:
        if args.algo == "ppo":
            result = train_ppo(model_config, algo_config, frames=args.frames,
                               init_from=args.init_from, **common)  # fmt: skip
        else:
            result = train_bc(model_config, algo_config, demos=args.demos,
                              dagger_iters=args.dagger_iters, **common)  # fmt: skip
    except KeyboardInterrupt:
        return _interrupted(f"rnn --algo {args.algo} --resume {shlex.quote(str(out))}")
    cell = f"-{model_config.cell.upper()}" if model_config else ""
    print(f"{args.algo.upper()}{cell}: {run_summary(result.out, args.algo)}")
    print(f"run files:      {result.out} (model.pt, model.json, metrics.jsonl)")
    level = f" --level {shlex.quote(str(levels[0]))}" if levels else " [--level NAME|PATH]"
    print(f"watch it:       python play.py {shlex.quote(str(result.out))}{level}")
    return 0


def _interrupted(resume: str) -> int:
    print(f"\n{PROG}: interrupted; continue with: python train.py {resume}", file=sys.stderr)
    return EXIT_INTERRUPTED


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    except KeyboardInterrupt:  # while loading and checking: nothing was written yet
        print(f"\n{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _main(argv: list[str]) -> int:
    if argv and argv[0] == "lstm":
        return fail(PROG, "'train.py lstm' is now 'train.py rnn' (LSTM, GRU or RNN policies)")
    if not argv or argv[0] not in (*SUBCOMMANDS, "-h", "--help"):
        argv = ["neat", *argv]
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or an argument error (2, already printed)
        return int(exc.code or 0)
    warn_about_levels(PROG, args.level, args.env)
    try:
        return run_neat(args) if args.command == "neat" else run_rnn(args)
    except (ValueError, OSError) as exc:  # TrainError, ConfigError, LevelError, ModelError, ...
        return fail(PROG, exc)


if __name__ == "__main__":
    # SIGTERM (kill, a job scheduler) stops a run the way Ctrl-C does (KeyboardInterrupt):
    # worker processes and the Ray session are shut down, the last checkpoint stays resumable.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    sys.exit(main())
