"""``train.py neat``'s own flags, each with the ``TrainSettings`` field it sets.

``NEAT_FLAGS`` holds ``(flag, field, argparse keywords)``: ``train.py`` adds each flag and
copies what was given to the field (on ``--resume``, only what was given, over the run's own).
"""

from __future__ import annotations

from agent.cli import BUDGET, positive

__all__ = ["NEAT_FLAGS"]

# NEAT's own flags: (flag, TrainSettings field, add_argument keywords)
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
