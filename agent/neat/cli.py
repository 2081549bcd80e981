"""``train.py neat --generalist``: the generalist preset (the flags are ``agent.neat.flags``).

* ``GENERALIST``: the recommended recipe for a generalist, an agent meant to finish levels it
  never saw: a new draw of generated levels every generation (from a pool of proven levels
  seeded by ``--seed``), many of them, each scored on one scale (``score = "progress"``), the
  champion chosen on held-out generated validation levels, the networks reading a box of the
  grid ahead of the player in solid and hazard planes (``agent.neat.inputs``, with its config
  ``configs/neat_generalist.ini``); never a shipped level.
  ``generalist_settings`` lays it under the flags a user gave (which win), and refuses what
  would break the protocol (``--level``, the real game). Measured against its alternatives in
  BENCHMARKS.md ("Generalists").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.runs import TrainError

__all__ = ["GENERALIST", "GENERALIST_HELP", "generalist_settings"]

#: The generalist's NEAT config: configs/neat.ini with the input count of its encoding.
GENERALIST_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "neat_generalist.ini"

#: ``train.py neat --generalist``: ``TrainSettings`` fields, and the play fields of its
#: ``FitnessSettings`` (``agent.neat.flag_table.PLAY_FIELDS``: the input encoding) (BENCHMARKS.md,
#: "Generalists").
GENERALIST: dict[str, Any] = {
    "levels": [],
    "config": GENERALIST_CONFIG,
    "view_box": (1, 6, 4, 3),
    "view_planes": "split",
    "generated": 32,
    "level_pool": 400,
    "difficulty": 0.3,
    "generated_length": 150,
    "validation": 20,
    "score": "progress",
    "generations": 300,
    "stop_when_solved": False,
}

GENERALIST_HELP = (
    "the recommended generalist recipe: {generated} generated levels a generation, drawn from "
    "a pool of {level_pool} (difficulty {difficulty}), the progress score, the champion chosen "
    "on {validation} held-out generated levels, {generations} generations, networks reading an "
    "8 x 8 box ahead of the player in solid and hazard planes (--view-box 1,6,4,3 --planes "
    "split, configs/neat_generalist.ini); never a shipped level. Flags given override its "
    "values".format(**GENERALIST)
)


def generalist_settings(given: dict[str, Any]) -> dict[str, Any]:
    """``TrainSettings`` fields for ``--generalist``: the preset, overlaid by the fields the
    user gave (``given``); ``TrainError`` for a shipped level or the real game."""
    if given.get("levels"):
        raise TrainError(
            "--generalist trains on generated levels only; drop --level (play.py and "
            "compare.py test it on the shipped ones)"
        )
    if given.get("env", "world") != "world":
        raise TrainError("--generalist trains on the built-in world's generated levels")
    return {**GENERALIST, **{k: v for k, v in given.items() if k != "levels"}}
