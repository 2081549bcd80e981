"""The command-line vocabulary shared by ``train.py``, ``play.py`` and ``compare.py``.

A flag means the same thing, with the same default, in every entry point that has it (the
table is in the README, "Command-line vocabulary"):

* ``--level NAME|PATH`` (repeat for several): a built-in level, a level file, or with
  ``--env smb`` a stage of the real game (``1-1``).
* ``--generated N``: N generated levels; ``--seed S`` seeds them (``generated_seeds``) along
  with everything else random; ``--difficulty D`` (``DEFAULT_DIFFICULTY``) and ``--length C``
  (``DEFAULT_LENGTH``) shape them.
* ``--env world|smb``: the built-in platformer or the real game in the NES emulator.
* ``--frames F``: a training budget in game frames; ``--max-frames F``: a cap on each episode.
* ``--episodes N``, ``--out DIR``, ``--resume DIR``, ``--config PATH``, ``--device``,
  ``--quiet``.

Every argument error is one line on stderr, ``PROG: error: MESSAGE``, and exit status 2;
``fail`` prints other bad input the same way.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from envs.levels.generator import DEFAULT_DIFFICULTY, DEFAULT_LENGTH, MIN_LENGTH, generated_seeds

__all__ = [
    "BUDGET",
    "DEFAULT_DIFFICULTY",
    "DEFAULT_LENGTH",
    "EXIT_BAD_INPUT",
    "EXIT_INTERRUPTED",
    "MAX_EPISODES",
    "MAX_FRAMES",
    "MAX_LENGTH",
    "MAX_LEVELS",
    "SEED_MAX",
    "Parser",
    "add_level_options",
    "add_run_options",
    "check_generated_options",
    "check_writable",
    "difficulty_range",
    "fail",
    "generated_seeds",
    "level_warnings",
    "non_negative",
    "positive",
    "seed",
    "unit_interval",
    "warn_about_levels",
    "whole",
    "world_levels",
]

EXIT_BAD_INPUT = 2
BUDGET = "training budget in game frames"
SEED_MAX = 2**32 - 1  # seeds fit every generator the project seeds (numpy, torch, random)
MAX_LEVELS = 10_000  # --generated, --validation
MAX_LENGTH = 2_000  # --length, in columns (the generator proves each level completable)
MAX_EPISODES = 100_000  # --episodes per level
MAX_FRAMES = 10**9  # --max-frames, a cap on each episode (the longest time limit: 6e7)
EXIT_INTERRUPTED = 130


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (no usage block) with exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"{self.prog}: error: {message} (see --help)", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)


def fail(prog: str, error: BaseException | str) -> int:
    """Print ``PROG: error: MESSAGE`` (the first line of the message) and return exit status 2."""
    text = str(error).strip()
    first = text.splitlines()[0] if text else type(error).__name__
    print(f"{prog}: error: {first}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _whole_number(text: str, minimum: int, maximum: int | None = None) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise argparse.ArgumentTypeError(f"must be at most {maximum:,}, got {value:,}")
    return value


def positive(text: str) -> int:
    """An ``argparse`` type: an integer of at least 1."""
    return _whole_number(text, 1)


def non_negative(text: str) -> int:
    """An ``argparse`` type: an integer of at least 0 (``--max-frames 0``: no cap)."""
    return _whole_number(text, 0)


def whole(minimum: int, maximum: int) -> Callable[[str], int]:
    """An ``argparse`` type: an integer within ``minimum..maximum`` (sizes that would take
    forever or exhaust memory are refused before anything starts)."""

    def parse(text: str) -> int:
        return _whole_number(text, minimum, maximum)

    parse.__name__ = f"whole number {minimum}..{maximum}"
    return parse


def seed(text: str) -> int:
    """An ``argparse`` type: a seed, ``0..SEED_MAX``."""
    return _whole_number(text, 0, SEED_MAX)


def unit_interval(text: str) -> float:
    """An ``argparse`` type: a number within [0, 1] (a difficulty)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.0 <= value <= 1.0:  # NaN too
        raise argparse.ArgumentTypeError(f"must be within 0..1, got {text}")
    return value


def difficulty_range(text: str) -> float | tuple[float, float]:
    """An ``argparse`` type: a difficulty (``unit_interval``) or a range ``LO:HI`` of them."""
    if ":" not in text:
        return unit_interval(text)
    lo, hi = (unit_interval(x) for x in text.split(":", 1))
    if lo > hi:
        raise argparse.ArgumentTypeError(f"a range LO:HI needs LO <= HI, got {text}")
    return (lo, hi)


def add_level_options(
    parser: argparse.ArgumentParser, what: str = "levels", ranges: bool = False
) -> None:
    """``--level``, ``--generated``, ``--difficulty``, ``--length``, ``--env`` and ``--seed``,
    with ``what`` naming what the levels are for in the help; with ``ranges``, ``--difficulty``
    also takes a range ``LO:HI`` (``difficulty_range``) the generated levels spread over."""
    g = parser.add_argument_group(what)
    g.add_argument(
        "--level",
        action="append",
        metavar="NAME|PATH",
        help="a built-in level (1-1 .. 1-8), a level file, or with --env smb a stage (1-1); "
        "repeat for several",
    )
    g.add_argument(
        "--generated",
        type=whole(1, MAX_LEVELS),
        metavar="N",
        help="N generated levels (seeded by --seed)",
    )
    g.add_argument(
        "--difficulty",
        type=difficulty_range if ranges else unit_interval,
        metavar="D|LO:HI" if ranges else "D",
        help=f"of the generated levels, 0..1 ({DEFAULT_DIFFICULTY})"
        + ("; LO:HI spreads them evenly from LO to HI" if ranges else ""),
    )
    g.add_argument(
        "--length",
        type=whole(MIN_LENGTH, MAX_LENGTH),
        metavar="COLS",
        help=f"of the generated levels, in columns ({DEFAULT_LENGTH})",
    )
    g.add_argument(
        "--env",
        choices=("world", "smb"),
        help="world: the built-in platformer (default); smb: the real Super Mario Bros. in "
        'the NES emulator (pip install -e ".[nes]")',
    )
    g.add_argument("--seed", type=seed, metavar="S", help=f"random seed, 0..{SEED_MAX} (0)")


def add_run_options(
    parser: argparse.ArgumentParser,
    out_help: str,
    config_help: str = "settings file",
    device_default: str | None = None,
    checkpoint_help: str = "",
) -> argparse._ArgumentGroup:
    """``--out``, ``--resume``, ``--config``, ``--device`` and ``--quiet`` (``config_help``,
    ``device_default`` and ``checkpoint_help``, what the checkpoint is, only change the help
    text); returns the group, for a trainer's own run options."""
    g = parser.add_argument_group("run")
    g.add_argument("--out", type=Path, metavar="DIR", help=out_help)
    g.add_argument(
        "--resume",
        type=Path,
        metavar="DIR",
        help=f"continue the run in DIR from its checkpoint{checkpoint_help}",
    )
    g.add_argument("--config", type=Path, metavar="PATH", help=config_help)
    device = "where networks run: auto (CUDA when present), cpu, cuda or cuda:N"
    g.add_argument(
        "--device",
        metavar="auto|cpu|cuda",
        help=device if device_default is None else f"{device} ({device_default})",
    )
    g.add_argument("--quiet", action="store_true", help="no progress bar or per-iteration lines")
    return g


def check_generated_options(
    args: argparse.Namespace, generated: bool | None = None, uses: str = "--generated N"
) -> None:
    """``ValueError`` for ``--difficulty`` or ``--length`` with no generated levels to shape
    (``generated``: whether there are any, default ``args.generated``; ``uses``: what makes
    some, for the message). Nothing to check on ``--resume`` (the run's levels are fixed)."""
    if getattr(args, "resume", None) is not None:
        return
    if args.generated if generated is None else generated:
        return
    for flag, value in (("--difficulty", args.difficulty), ("--length", args.length)):
        if value is not None:
            raise ValueError(f"{flag} shapes generated levels, and there are none; add {uses}")


def check_writable(path: str | Path, flag: str) -> None:
    """``ValueError`` (one line naming ``flag``) unless a file can be created where ``path``
    goes: in its directory or, for a directory still to be made, in the nearest existing one.
    Tried for real (a temporary file created and removed), so permissions, a read-only or
    full file system and a missing parent are all found before anything starts."""
    path = Path(path)
    where = path if path.is_dir() else path.parent
    while not where.exists() and where != where.parent:
        where = where.parent
    if not where.is_dir():
        raise ValueError(f"{flag} {path}: {where} is not a directory")
    probe = where / f".write-test.{secrets.token_hex(8)}.tmp"  # agent.files' temporary name
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, b"x")
        finally:
            os.close(fd)
    except OSError as exc:
        raise ValueError(f"{flag} {path}: cannot write in {where} ({exc.strerror})") from None
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()


def level_warnings(level) -> list[str]:
    """What is wrong with a level that loads: a flag that is not right of the start (the level
    is over at its first frame) or too far for its time limit even at full running speed."""
    from envs.sim.constants import FPS, PLAYER_W, RUN_MAX, TILE

    out = []
    flag, start = level.flag_col, level.start[1]
    if flag <= start:
        out.append(
            f"its flag (column {flag}) is not right of the start (column {start}): every "
            "episode is completed at its first frame"
        )
        return out
    distance = flag * TILE - (start * TILE + PLAYER_W)  # sub-pixel units to touch the flag
    fastest = -(-distance // RUN_MAX)  # frames at top running speed, from the first frame
    limit = level.time_seconds * FPS
    if fastest > limit:
        out.append(
            f"it cannot be finished in its time limit: the flag needs at least {fastest} "
            f"frames at full running speed, the limit is {limit} ({level.time_seconds} s)"
        )
    return out


def warn_about_levels(prog: str, specs: Iterable[str] | None, env: str | None = None) -> None:
    """``PROG: warning: ...`` on stderr for each ``--level`` with a ``level_warnings`` problem
    (a level that does not load is left to the command's own error)."""
    if env == "smb":
        return
    from envs.levels.level import load_level

    for spec in specs or ():
        try:
            level = load_level(spec)
        except (ValueError, OSError, ImportError):  # the command's own loading says why
            continue
        for problem in level_warnings(level):
            print(f"{prog}: warning: level {spec}: {problem}", file=sys.stderr)


def world_levels(args: argparse.Namespace, default: str = "1-1") -> list:
    """The built-in world's levels an entry point's arguments name: each ``--level`` (or
    ``default`` with none and no ``--generated``), then ``--generated N`` (``--seed``,
    ``--difficulty``, ``--length``)."""
    from envs.levels.generator import generate_level
    from envs.levels.level import load_level

    specs = args.level or ([] if args.generated else [default])
    levels = [load_level(spec) for spec in specs]
    difficulty = DEFAULT_DIFFICULTY if args.difficulty is None else args.difficulty
    for seed_ in generated_seeds(args.seed or 0, args.generated or 0):
        levels.append(generate_level(seed_, difficulty, args.length or DEFAULT_LENGTH))
    return levels
