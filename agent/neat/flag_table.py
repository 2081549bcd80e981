"""``train.py neat``'s own flags, each with the ``TrainSettings`` field it sets.

``NEAT_FLAGS`` holds ``(flag, field, argparse keywords)``: ``train.py`` adds each flag and
``agent.neat.flags.neat_settings`` copies what was given to its field. Kept apart from that so
the settings layer can name a field's flag in its errors (``flag_of``) without importing the
trainer's command line.
"""

from __future__ import annotations

import argparse

from agent.cli import BUDGET, MAX_LEVELS, whole
from agent.neat.inputs import PLANES, parse_box
from envs.checks import MAX_FRAME_SKIP

__all__ = ["FRAMES", "NEAT_FLAGS", "PLAY_FIELDS", "flag_of"]

FRAMES, GENERATIONS, LEVELS = whole(1, 10**13), whole(1, 10**6), whole(1, MAX_LEVELS)
#: Flags that set fields of the run's FitnessSettings (how genomes play: saved in champion.json,
#: so the champion is replayed the same way): the input encoding (``agent.neat.inputs``), the
#: decision interval and the network updates per decision.
PLAY_FIELDS = ("view_box", "view_planes", "frame_skip", "activations_per_step")


def _box(text: str) -> tuple[int, int, int, int]:
    """An ``argparse`` type: ``--view-box``'s four numbers."""
    try:
        return parse_box(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# NEAT's own flags: (flag, TrainSettings field, add_argument keywords)
NEAT_FLAGS = (
    ("--frames", "max_frames", dict(type=FRAMES, metavar="F", help=f"{BUDGET}: stop after "
     "the generation that reaches F frames simulated (none; --generations stops it too)")),
    ("--generations", "generations", dict(type=GENERATIONS, metavar="G", help="generations in "
     "all, resumes included (100)")),
    ("--aggregate", "aggregate", dict(choices=("mean", "min"), help="fitness over several "
     "levels (mean)")),
    ("--score", "score", dict(choices=("mario", "progress"), help="each level's score: "
     "MarI/O's fitness (mario, the default) or the share of the way to the flag plus 1 for "
     "finishing (progress: one scale for every level)")),
    ("--level-pool", "level_pool", dict(type=whole(0, MAX_LEVELS), metavar="P", help="draw "
     "each generation's --generated levels from a fixed pool of P generated levels, proven "
     "once (default: new levels every generation; 0: new ones, also under --generalist)")),
    ("--validation", "validation", dict(type=LEVELS, metavar="N", help="choose the champion "
     "by its score on N held-out generated levels (at --difficulty; default: training fitness)")),
    ("--curriculum", "curriculum", dict(type=float, metavar="D0", help="generated levels start "
     "at difficulty D0, rising to --difficulty as the generation's best finishes them")),
    ("--curriculum-step", "curriculum_step", dict(type=float, metavar="S", help="curriculum: "
     "raise the difficulty by S at a time (0.05)")),
    ("--curriculum-share", "curriculum_share", dict(type=float, metavar="F", help="curriculum: "
     "raise it after a generation whose best finished this share of the levels (0.5)")),
    ("--view-box", "view_box", dict(type=_box, metavar="B,A,U,D", help="the network reads "
     "only a box of the 13 x 13 grid: B columns behind the player's cell to A ahead, U rows "
     "above to D below (for example 1,6,4,3: 8 x 8 = 64 inputs; the config's num_inputs must "
     "match; default: the whole grid; --generalist: 1,6,4,3)")),
    ("--planes", "view_planes", dict(choices=PLANES, help="mixed (MarI/O's: one input per "
     "cell, 1 solid, -1 enemy or spikes, the default) or split (two per cell: a solid plane "
     "and a hazard plane, each 0 or 1: twice the inputs; --generalist's)")),
    ("--frame-skip", "frame_skip", dict(type=whole(1, MAX_FRAME_SKIP), metavar="K", help="the "
     "network decides every K frames, its buttons held in between (MarI/O's 5)")),
    ("--activations", "activations_per_step", dict(type=GENERATIONS, metavar="N",
     help="synchronous network updates per decision (1: a signal crosses one link per "
     "decision)")),
    ("--checkpoint-every", "checkpoint_every", dict(type=GENERATIONS, metavar="K", help="write "
     "the checkpoint every K generations (5)")),
    ("--backend", "backend", dict(choices=("local", "processes", "ray"), help="where genomes "
     "are evaluated: this process (local, the default), worker processes or a Ray cluster; "
     "the results are identical")),
    ("--workers", "workers", dict(type=whole(1, 4096), metavar="N", help="processes or Ray "
     "shards (the CPUs); without --backend, N > 1 means processes")),
    ("--ray-address", "ray_address", dict(metavar="ADDRESS", help="join a Ray cluster: auto or "
     "ray://HOST:10001 (implies --backend ray)")),
)  # fmt: skip


def flag_of(field: str) -> str:
    """The ``train.py neat`` flag that sets ``field`` (``--view-box`` for ``view_box``), or the
    field's own name if no flag does."""
    return next((flag for flag, name, _ in NEAT_FLAGS if name == field), field)
