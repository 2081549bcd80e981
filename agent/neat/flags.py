"""The settings ``train.py neat``'s own flags make (the flags: ``agent.neat.flag_table``).

``neat_settings`` copies what was given to each flag's ``TrainSettings`` field (on
``--resume``, only what was given, over the run's own), after refusing options that nothing
would use.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

from agent.cli import DEFAULT_DIFFICULTY, check_generated_options
from agent.neat.flag_table import NEAT_FLAGS, PLAY_FIELDS, flag_of

__all__ = ["default_out", "neat_settings"]


def default_out(tags: list[str]) -> Path:
    """The default run directory: ``runs/TAGS-DATE-TIME``."""
    return Path("runs") / f"{'-'.join(tags)}-{time.strftime('%Y%m%d-%H%M%S')}"


def _with_play_fields(given: dict, fitness) -> dict:
    """``given`` with its ``PLAY_FIELDS`` moved into a copy of ``fitness`` (``given``'s own
    ``fitness`` if it has one)."""
    from agent.runs import TrainError

    play = {k: given[k] for k in PLAY_FIELDS if k in given}
    rest = {k: v for k, v in given.items() if k not in PLAY_FIELDS}
    if play:
        try:
            rest["fitness"] = dataclasses.replace(rest.get("fitness", fitness), **play)
        except ValueError as exc:  # a range that depends on the run (the box on its grid)
            bad = [k for k in play if str(exc).startswith(k)] or list(play)
            raise TrainError(f"{', '.join(map(flag_of, bad))}: {exc}") from None
    return rest


def neat_settings(args: argparse.Namespace):
    """TrainSettings from the arguments (on --resume: the run's own, overlaid by those given)."""
    from agent.neat.cli import generalist_settings
    from agent.neat.fitness import FitnessSettings  # checks the ranges of the play fields
    from agent.neat.settings import continue_on
    from agent.neat.trainer import TrainSettings, load_run_settings
    from agent.runs import TrainError

    given = {field: getattr(args, flag[2:].replace("-", "_")) for flag, field, _ in NEAT_FLAGS}
    given.update(
        env=args.env, levels=args.level, generated=args.generated, difficulty=args.difficulty,
        generated_length=args.length, config=args.config, seed=args.seed, device=args.device,
        stop_when_solved=None if args.keep_going is None else not args.keep_going,
        backend=args.backend or ("ray" if args.ray_address is not None else None),
    )  # fmt: skip
    given = {k: v for k, v in given.items() if v is not None}
    if given.get("level_pool") == 0:  # new levels every generation, over --generalist's pool
        given["level_pool"] = None
    check_generated_options(args, bool(args.generated or args.validation or args.generalist),
                            "--generated N, --validation N or --generalist")  # fmt: skip
    for name in ("curriculum_step", "curriculum_share"):
        if args.resume is None and args.curriculum is None and getattr(args, name) is not None:
            raise TrainError(f"--{name.replace('_', '-')}: only with --curriculum D0")
    if args.resume is not None:
        if args.out is not None and args.out.resolve() != args.resume.resolve():
            raise TrainError("--out and --resume name different directories; give --resume only")
        base = continue_on(  # the same environment, or the built-in world's run on the game
            load_run_settings(args.resume, trust_checkpoint=args.trust_checkpoint), given
        )
        if "backend" in given:  # a new backend: its workers and address as given, or defaults
            base = dataclasses.replace(base, workers=None, ray_address=None)
        if args.generalist:
            raise TrainError("--resume continues a run with its own settings; drop --generalist")
        # a change of the play fields is refused (the run's fitness settings differ)
        given = _with_play_fields(given, base.fitness)
        return dataclasses.replace(base, **given, out=str(args.resume))
    given = generalist_settings(given) if args.generalist else given
    given = _with_play_fields(given, FitnessSettings())
    given.setdefault("levels", [] if args.generated else ["1-1"])
    given.setdefault("difficulty", DEFAULT_DIFFICULTY)
    tags = (["smb"] if args.env == "smb" else []) + [Path(x).stem for x in given["levels"][:2]]
    out = args.out or default_out(["neat", *tags, *(["gen"] if given.get("generated") else [])])
    return TrainSettings(**given, out=str(out))
