"""``train.py neat --generalist``: the generalist preset (the flags are ``agent.neat.flags``).

* ``GENERALIST``: the recommended recipe for a generalist, an agent meant to finish levels it
  never saw: a new draw of generated levels every generation (from a pool of proven levels
  seeded by ``--seed``), many of them, each scored on one scale (``score = "progress"``), the
  champion chosen on held-out generated validation levels; never a shipped level.
  ``generalist_settings`` lays it under the flags a user gave (which win), and refuses what
  would break the protocol (``--level``, the real game). Measured against its alternatives in
  BENCHMARKS.md ("Generalists").
"""

from __future__ import annotations

from typing import Any

from agent.runs import TrainError

__all__ = ["GENERALIST", "GENERALIST_HELP", "generalist_settings"]

#: ``train.py neat --generalist``: ``TrainSettings`` fields (BENCHMARKS.md, "Generalists").
GENERALIST: dict[str, Any] = {
    "levels": [],
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
    "on {validation} held-out generated levels, {generations} generations; never a shipped "
    "level. Flags given override its values".format(**GENERALIST)
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
