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
import sys
from pathlib import Path

from envs.levels.generator import DEFAULT_DIFFICULTY, DEFAULT_LENGTH, generated_seeds

__all__ = [
    "BUDGET",
    "DEFAULT_DIFFICULTY",
    "DEFAULT_LENGTH",
    "EXIT_BAD_INPUT",
    "EXIT_INTERRUPTED",
    "Parser",
    "add_level_options",
    "add_run_options",
    "fail",
    "generated_seeds",
    "non_negative",
    "positive",
]

EXIT_BAD_INPUT = 2
BUDGET = "training budget in game frames"
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


def _whole_number(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
    return value


def positive(text: str) -> int:
    """An ``argparse`` type: an integer of at least 1."""
    return _whole_number(text, 1)


def non_negative(text: str) -> int:
    """An ``argparse`` type: an integer of at least 0 (``--max-frames 0``: no cap)."""
    return _whole_number(text, 0)


def add_level_options(parser: argparse.ArgumentParser, what: str = "levels") -> None:
    """``--level``, ``--generated``, ``--difficulty``, ``--length``, ``--env`` and ``--seed``,
    with ``what`` naming what the levels are for in the help."""
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
        type=positive,
        metavar="N",
        help="N generated levels (seeded by --seed)",
    )
    g.add_argument(
        "--difficulty",
        type=float,
        metavar="D",
        help=f"of the generated levels, 0..1 ({DEFAULT_DIFFICULTY})",
    )
    g.add_argument(
        "--length",
        type=positive,
        metavar="COLS",
        help=f"of the generated levels, in columns ({DEFAULT_LENGTH})",
    )
    g.add_argument(
        "--env",
        choices=("world", "smb"),
        help="world: the built-in platformer (default); smb: the real Super Mario Bros. in "
        'the NES emulator (pip install -e ".[nes]")',
    )
    g.add_argument("--seed", type=int, metavar="S", help="random seed (0)")


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
