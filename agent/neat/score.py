"""Score a trained champion headless: ``python -m agent.neat.score RUN/champion.json``.

The champion plays each level once, under the settings it was trained with (its
``env_settings``), through the trainer's own evaluator (the real game's for a champion trained
with ``env = "smb"``), and its per-level fitness, progress and frames are printed. Bad input (a
broken champion file, an unknown level, the NES extra missing) is one line on stderr, exit
status 2.
"""

from __future__ import annotations

import sys
from pathlib import Path

from agent.cli import Parser, fail
from agent.neat.champion import Champion, ChampionError, load_champion
from agent.neat.evaluator import PopulationEvaluator
from agent.neat.fitness import Evaluation, FitnessSettings
from agent.neat.smb_evaluator import SmbPopulationEvaluator
from envs.levels.level import LevelError, load_level
from envs.smb.console import NES_EXTRA_HINT, nes_available

PROG = "python -m agent.neat.score"


def score(champ: Champion, levels: list[str] | None = None) -> tuple[list[str], Evaluation]:
    """Play ``champ`` once on each of ``levels`` (default: the named levels it was trained on,
    else 1-1); the level names and the evaluation (one genome). Raises ``LevelError`` or
    ``ValueError`` (one line) for bad input."""
    names = levels or champ.env_settings.get("levels") or ["1-1"]
    settings = FitnessSettings.from_env_settings(champ.env_settings)
    if champ.env_settings.get("env") == "smb":  # trained on the real game: scored there
        if not nes_available():
            raise ValueError(NES_EXTRA_HINT)
        evaluator = SmbPopulationEvaluator(names, settings, emulators=1)
        try:
            return names, evaluator.evaluate([(0, champ.genome)], champ.config)
        finally:
            evaluator.close()
    world = PopulationEvaluator([load_level(name) for name in names], settings)
    return names, world.evaluate([(0, champ.genome)], champ.config)


def main(argv: list[str] | None = None) -> int:
    """Play a champion headless on levels and print its scores."""
    parser = Parser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("champion", type=Path, help="a champion.json written by the trainer")
    parser.add_argument(
        "--level",
        action="append",
        metavar="NAME|PATH",
        help="a level to play (repeat for several; default: the levels it was trained on)",
    )
    args = parser.parse_args(argv)
    try:
        champ = load_champion(args.champion)
        names, ev = score(champ, args.level)
    except (ChampionError, LevelError, ValueError) as exc:
        return fail(PROG, exc)
    print(f"{args.champion}: generation {champ.generation}, trained fitness {champ.fitness:.1f}")
    for j, name in enumerate(names):
        done = "completed" if ev.completed[0, j] else "not completed"
        progress = ev.progress[0, j]
        where = "" if progress != progress else f" ({100 * progress:.0f}% of the way)"
        print(
            f"  {name}: fitness {ev.level_fitness[0, j]:.1f}, rightmost {ev.rightmost[0, j]:.0f} "
            f"px{where}, {ev.frames[0, j]:.0f} frames, {done}"
        )
    aggregate = champ.env_settings.get("aggregate", "mean")
    print(f"  {aggregate} fitness {ev.fitness[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
