"""``train.py neat``'s own flags and its ``--generalist`` preset.

* ``NEAT_FLAGS``: the flags only ``train.py neat`` has, each as (flag, ``TrainSettings`` field,
  ``add_argument`` keywords); the shared vocabulary is ``agent.cli``'s.
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

from agent.cli import positive
from agent.runs import TrainError

__all__ = ["GENERALIST", "NEAT_FLAGS", "generalist_settings"]

BUDGET = "training budget in game frames"

NEAT_FLAGS = (
    ("--frames", "max_frames", dict(type=positive, metavar="F", help=f"{BUDGET}: stop after "
     "the generation that reaches F frames simulated (none; --generations stops it too)")),
    ("--generations", "generations", dict(type=positive, metavar="G", help="generations in "
     "all, resumes included (100)")),
    ("--aggregate", "aggregate", dict(choices=("mean", "min"), help="fitness over several "
     "levels (mean)")),
    ("--score", "score", dict(choices=("mario", "progress"), help="each level's score: "
     "MarI/O's fitness (mario, the default) or the share of the way to the flag plus 1 for "
     "finishing (progress: one scale for every level)")),
    ("--level-pool", "level_pool", dict(type=positive, metavar="P", help="draw each "
     "generation's --generated levels from a fixed pool of P generated levels, proven once "
     "(default: new levels every generation)")),
    ("--validation", "validation", dict(type=positive, metavar="N", help="choose the champion "
     "by its score on N held-out generated levels (at --difficulty; default: training fitness)")),
    ("--curriculum", "curriculum", dict(type=float, metavar="D0", help="generated levels start "
     "at difficulty D0, rising to --difficulty as the generation's best finishes them")),
    ("--curriculum-step", "curriculum_step", dict(type=float, metavar="S", help="curriculum: "
     "raise the difficulty by S at a time (0.05)")),
    ("--curriculum-share", "curriculum_share", dict(type=float, metavar="F", help="curriculum: "
     "raise it after a generation whose best finished this share of the levels (0.5)")),
    ("--checkpoint-every", "checkpoint_every", dict(type=positive, metavar="K", help="write "
     "the checkpoint every K generations (5)")),
    ("--backend", "backend", dict(choices=("local", "processes", "ray"), help="where genomes "
     "are evaluated: this process (local, the default), worker processes or a Ray cluster; "
     "the results are identical")),
    ("--workers", "workers", dict(type=positive, metavar="N", help="processes or Ray shards "
     "(the CPUs); without --backend, N > 1 means processes")),
    ("--ray-address", "ray_address", dict(metavar="ADDRESS", help="join a Ray cluster: auto or "
     "ray://HOST:10001 (implies --backend ray)")),
)  # fmt: skip

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
