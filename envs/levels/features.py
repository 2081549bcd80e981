"""The generator's feature vocabulary: the knobs a difficulty sets, and how each kind is drawn.

A generated level is a plan of flat runs and *features*; this module draws one feature's size
parameters from an explicit ``np.random.Generator`` (:data:`SEGMENTS`, one function per kind in
:data:`FEATURES`). The kinds cover what the shipped levels (``1-1`` .. ``1-8``) are made of:

* ``pit``: a gap 1-5 tiles wide (a running jump clears about 7, a walking one about 4);
* ``pipe``: 1-3 pipes 2-4 tiles tall, the ground between them sometimes spiked or holding a
  trapped enemy (1-7's ``^^[]^^``, 1-8's ``[]E.[]``);
* ``wall``: a 1-2-wide block wall 1-4 tiles tall;
* ``stairs``: a staircase 2-8 steps tall, going down again or ending in a drop (the big
  staircase before a flag), sometimes split at the top by a pit or a spike pit;
* ``enemies``: a group of 1-3 walking enemies, sometimes under a block row;
* ``spikes``: a patch 1-3 tiles wide;
* ``platform``: 1-4 floating platforms (or tree-top islands) over one long gap, hops of 2-4
  tiles, sometimes an enemy on a platform;
* ``blocks``: a row of bricks and ? blocks 4 tiles up, sometimes a second row or an enemy on it;
* ``ceiling``: a stretch under a rock ceiling 3-5 tiles up with a pit, spikes or enemies
  below it, to be jumped within the head room;
* ``passage``: a corridor 1-2 tiles high to walk or run through (a 1-wide gap can be run
  over; at 2 tiles high a 1-2-wide pit can be hopped and enemies stomped).

Difficulty ``d`` in [0, 1] steers everything through :class:`GeneratorConfig`: which kinds are
likely (``weights``), how long the flat runs between them are, the caps on sizes, and the *lean*
of every size draw (:func:`size`): at low difficulty small sizes are likely and big ones rare but
possible (a 4-high pipe, a 7-8-high staircase, a group of three), at high difficulty the reverse.
The limits stay inside what the solver (and so a player) can do; ``envs.levels.generator``
proves each level and eases what it cannot finish.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from envs.sim.constants import BRICK, GROUND, HARD, QUESTION

FEATURES = (
    "pit",
    "pipe",
    "wall",
    "stairs",
    "enemies",
    "spikes",
    "platform",
    "blocks",
    "ceiling",
    "passage",
)
# Kinds that may put enemies on the map: easing looks further ahead for them (enemies walk left
# to meet the player) and a flat run after a low ceiling keeps them out of the corridor.
ENEMY_KINDS = ("pipe", "enemies", "platform", "blocks", "ceiling", "passage")

MAX_STAIRS = 8  # the big staircases of 1-5 .. 1-8; steps are one tile, so any height climbs
STAIRS_HEADROOM = 4  # rows kept free above the top step (and so the flag) on short maps


def _round(x: float) -> int:
    """Round half up (Python's ``round`` rounds half to even, which makes knobs jumpy)."""
    return int(math.floor(x + 0.5))


def size(rng: np.random.Generator, lo: int, hi: int, lean: float) -> int:
    """An integer in [lo, hi], its weights rising as ``exp(lean * share of the range)``.

    ``lean`` < 0 makes small values likely, > 0 big ones; every value keeps some chance (at
    ``|lean| = 3`` the least likely end has about 1/20 of the weight of the most likely).
    """
    if hi <= lo:
        return lo
    w = np.exp(lean * np.arange(hi - lo + 1) / (hi - lo))
    return lo + int(rng.choice(hi - lo + 1, p=w / w.sum()))


@dataclass(frozen=True)
class GeneratorConfig:
    """The generator's knobs, all derived from one ``difficulty`` in [0, 1].

    Sizes are in tiles; ``max_*`` are caps, the draws under them lean with ``lean``. Defaults
    are those of difficulty 0.5; use :meth:`from_difficulty`.
    """

    difficulty: float = 0.5
    lean: float = 0.0  # size draws lean small (< 0) or big (> 0)
    min_gap: int = 1  # narrowest pit
    max_gap: int = 4  # widest pit (<= 5: a running jump clears ~7, a walking one ~4)
    max_height: int = 4  # tallest wall (<= 4: running jump apex 4.8 tiles)
    max_pipe: int = 4  # tallest pipe (2..4)
    max_pipes: int = 2  # pipes in a pipe feature
    max_stairs: int = MAX_STAIRS  # tallest staircase
    max_group: int = 3  # enemies per group (1..3)
    max_spikes: int = 2  # widest spike patch
    max_platforms: int = 3  # floating platforms over one gap
    max_passage: int = 11  # longest low passage or ceiling stretch
    near_start: float = 0.4  # chance that enemies or spikes come first, within 16 columns
    extras: float = 0.5  # chance of each optional hazard inside a feature (spikes, an enemy)
    flat: tuple[int, int] = (4, 9)  # flat run between two features, (min, max)
    # Relative frequency of each kind in FEATURES.
    weights: tuple[float, ...] = (1.5, 0.85, 0.45, 0.575, 1.2, 0.575, 0.7, 0.65, 0.3, 0.3)

    @classmethod
    def from_difficulty(cls, difficulty: float) -> GeneratorConfig:
        """Knobs for ``difficulty``: 0 is sparse and small, 1 is dense and big. Every kind and
        every size under the caps has some chance at every difficulty."""
        d = float(difficulty)
        weights = (
            1.0 + d,  # pit
            0.7 + 0.3 * d,  # pipe
            0.2 + 0.5 * d,  # wall
            0.35 + 0.45 * d,  # stairs
            0.4 + 1.6 * d,  # enemies
            0.2 + 0.75 * d,  # spikes
            0.2 + 1.0 * d,  # platform
            0.8 - 0.3 * d,  # blocks
            0.1 + 0.4 * d,  # ceiling
            0.1 + 0.4 * d,  # passage
        )
        return cls(
            difficulty=d,
            lean=3.0 * (2.0 * d - 1.0),
            min_gap=1 + int(1.5 * d),
            max_gap=_round(3 + 2 * d),
            max_height=_round(3 + d),
            max_pipe=4,
            max_pipes=_round(1 + 2 * d),
            max_stairs=MAX_STAIRS,
            max_group=3,
            max_spikes=_round(1 + 2 * d),
            max_platforms=_round(1 + 3 * d),
            max_passage=_round(6 + 10 * d),
            near_start=0.1 + 0.6 * d,
            extras=0.15 + 0.7 * d,
            flat=(_round(6 - 4 * d), _round(12 - 7 * d)),
            weights=weights,
        )

    @property
    def probabilities(self) -> np.ndarray:
        w = np.asarray(self.weights, dtype=np.float64)
        return w / w.sum()


Params = dict[str, int | tuple[int, ...]]


@dataclass
class Feature:
    """One stretch of the plan: ``kind`` drawn over columns [x0, x0 + width) from ``p``.

    ``p`` holds the kind's size parameters; easing lowers them in place, never the width.
    """

    kind: str
    x0: int
    width: int
    p: Params


@dataclass(frozen=True)
class Drawn:
    """What a segment generator returns: the feature's parameters and its spacing needs."""

    p: Params
    width: int
    runup: int = 2  # flat, block-free tiles needed before it
    landing: int = 2  # flat tiles needed after it


def runup_for_height(h: int) -> int:
    """Flat tiles before an obstacle ``h`` tall: a 4-tall one needs a running jump (tier 2 needs
    ~2.3 px/f, ~3 tiles of acceleration), and the player may land a few tiles into the run-up
    when jumping the previous feature."""
    return 2 if h <= 2 else 2 * h - 3


# --- segment generators: (rng, config, rows) -> Drawn -----------------------------------------
def _pit(rng: np.random.Generator, cfg: GeneratorConfig, rows: int) -> Drawn:
    w = size(rng, cfg.min_gap, cfg.max_gap, cfg.lean)
    coins = int(w >= 2 and rng.random() < 0.3)  # a coin arc over the jump
    return Drawn({"w": w, "coins": coins}, w, runup=2 + max(0, w - 3), landing=2 + (w >= 4))


def _pipe(rng: np.random.Generator, cfg: GeneratorConfig, rows: int) -> Drawn:
    n = size(rng, 1, cfg.max_pipes, cfg.lean)
    hs = tuple(size(rng, 2, cfg.max_pipe, cfg.lean) for _ in range(n))
    # Between two pipes: room to land, or a run-up when the next one is much taller.
    gaps = tuple(
        max(size(rng, 2, 4, 0.0), 2 if hs[i + 1] <= hs[i] + 1 else runup_for_height(hs[i + 1]))
        for i in range(n - 1)
    )
    # What lies between: 0 ground, 1 spikes (jump from pipe to pipe), 2 a trapped enemy.
    fill = tuple(int(rng.random() < cfg.extras) * int(rng.integers(1, 3)) for _ in gaps)
    lead = int(rng.random() < 0.6 * cfg.extras) * int(rng.integers(1, 3))  # ^^[] ...
    trail = int(rng.random() < 0.6 * cfg.extras) * int(rng.integers(1, 3))  # ... []^^
    p = {"h": hs, "gaps": gaps, "fill": fill, "lead": lead, "trail": trail, "lead0": lead}
    width = lead + 2 * n + sum(gaps) + trail
    return Drawn(p, width, runup=runup_for_height(hs[0]) + lead, landing=2 + trail)


def _wall(rng: np.random.Generator, cfg: GeneratorConfig, rows: int) -> Drawn:
    h = size(rng, 1, cfg.max_height, cfg.lean)
    w = int(rng.integers(1, 3))
    return Drawn({"h": h}, w, runup=runup_for_height(h))


def stairs_profile(p: Params) -> list[int]:
    """Column heights of a staircase; -1 marks a pit column and -2 a spike column between its
    two halves."""
    h, top, gap, down = p["h"], p["top"], p["gap"], p["down"]
    cols = list(range(1, h + 1)) + [h] * (top - 1) + [-2 if p["spiked"] else -1] * gap
    if gap:
        cols += [h] + list(range(h - 1, 0, -1))
    elif down:
        cols += list(range(h - 1, 0, -1))
    return cols


def _stairs(rng: np.random.Generator, cfg: GeneratorConfig, rows: int) -> Drawn:
    hi = max(2, min(cfg.max_stairs, rows - 2 - STAIRS_HEADROOM))
    h = size(rng, 2, hi, cfg.lean)
    top = int(rng.integers(1, 3))
    gap = 0
    if rng.random() < 0.1 + 0.5 * cfg.difficulty:  # SMB's pyramid with a pit at the top
        gap = size(rng, 1, min(3, cfg.max_gap), cfg.lean)
    spiked = int(gap > 0 and rng.random() < 0.35)  # 1-8's ####^^^####
    down = int(gap > 0 or rng.random() < 0.6)
    p = {"h": h, "top": top, "gap": gap, "down": down, "spiked": spiked}
    # Dropping off a tall top carries the player about half its height forward.
    landing = 2 if down else 2 + h // 2
    return Drawn(p, len(stairs_profile(p)), runup=2, landing=landing)


def _enemies(rng: np.random.Generator, cfg: GeneratorConfig, rows: int) -> Drawn:
    n = size(rng, 1, cfg.max_group, cfg.lean)
    spacing = int(rng.integers(1, 3)) + 1  # E.E or E..E: room to land between them
    ceiling = int(rng.random() < 0.3 * cfg.extras)  # a block row over them
    width = 2 + (n - 1) * spacing + 1
    return Drawn({"n": n, "spacing": spacing, "ceiling": ceiling}, width, runup=3, landing=2)


def _spikes(rng: np.random.Generator, cfg: GeneratorConfig, rows: int) -> Drawn:
    w = size(rng, 1, cfg.max_spikes, cfg.lean)
    return Drawn({"w": w}, w, runup=2 + max(0, w - 2), landing=2)


def _platform(rng: np.random.Generator, cfg: GeneratorConfig, rows: int) -> Drawn:
    # n platforms over one gap: hops of 2-4 tiles between ground, platforms and ground, each
    # platform at most 2 tiles above the one before (3 above the ground) and at most 4 up.
    n = size(rng, 1, cfg.max_platforms, cfg.lean)
    hops = tuple(size(rng, 2, max(2, min(4, cfg.max_gap - 1)), cfg.lean) for _ in range(n + 1))
    widths = tuple(size(rng, 2, 5, -cfg.lean) for _ in range(n))  # narrower when harder
    heights, h = [], 0
    for _ in range(n):
        h = int(np.clip(h + rng.integers(-1, 3), 1, min(4, 3 if h == 0 else 4)))
        heights.append(h)
    island = int(rng.random() < 0.25)  # 1-3's tree tops: ground columns from the bottom up
    mat = int(rng.choice([BRICK, HARD, QUESTION], p=[0.5, 0.35, 0.15])) if not island else GROUND
    wide = [i for i in range(n) if widths[i] >= 3]
    enemy = int(wide[int(rng.integers(len(wide)))]) if wide and rng.random() < cfg.extras else -1
    p = {
        "hops": hops,
        "hops0": hops,
        "pw": widths,
        "hp": tuple(heights),
        "island": island,
        "mat": mat,
        "enemy": enemy,
        "filled": 0,
    }
    return Drawn(p, sum(hops) + sum(widths), runup=3, landing=3)


def _blocks(rng: np.random.Generator, cfg: GeneratorConfig, rows: int) -> Drawn:
    n = int(rng.integers(3, 8))
    row = tuple(int(t) for t in rng.choice([BRICK, QUESTION], size=n, p=[0.65, 0.35]))
    coins = int(rng.random() < 0.35)  # coins resting on the row
    high = int(rng.random() < 0.25)  # a second row higher up, reachable from the first
    enemy = int(n >= 4 and not coins and rng.random() < 0.4 * cfg.extras)  # 1-1's E on bricks
    p = {"row": row, "coins": coins, "high": high, "enemy": enemy}
    return Drawn(p, n + 2, runup=0, landing=0)


# Contents below a ceiling: what can be jumped, hopped or stomped under its head room
# (measured with the solver: a 2-high corridor lets a 1-2-wide pit be hopped and enemies be
# stomped but not spikes cleared; a 3-high one clears pits of 4 and spikes of 2).
INNER_NONE, INNER_PIT, INNER_SPIKES, INNER_ENEMIES = range(4)


def _under(rng: np.random.Generator, cfg: GeneratorConfig, clearance: int) -> tuple[int, int]:
    """(what, how many/wide) lies under a ceiling ``clearance`` tiles up."""
    if rng.random() >= cfg.extras:
        return INNER_NONE, 0
    if clearance == 1:
        return INNER_PIT, 1  # run over it at speed
    if clearance == 2:
        return int(rng.choice([INNER_PIT, INNER_ENEMIES])), size(rng, 1, 2, cfg.lean)
    what = int(rng.choice([INNER_PIT, INNER_SPIKES, INNER_ENEMIES]))
    low = clearance == 3
    cap = {
        INNER_PIT: min(cfg.max_gap, 3 if low else 4),
        INNER_SPIKES: min(cfg.max_spikes, 2 if low else 3),
        INNER_ENEMIES: 2 if low else 3,
    }[what]
    return what, size(rng, 1, cap, cfg.lean)


def _covered(rng: np.random.Generator, cfg: GeneratorConfig, clearance: int) -> Drawn:
    width = size(rng, 4, cfg.max_passage, cfg.lean)
    inner, amount = _under(rng, cfg, clearance)
    if inner == INNER_ENEMIES:
        width = max(width, 3 + 2 * amount)
    elif inner != INNER_NONE:
        width = max(width, amount + 4)  # ceiling over the take-off and the landing
    mat = int(rng.choice([HARD, BRICK], p=[0.6, 0.4]))
    p = {"c": clearance, "inner": inner, "amount": amount, "mat": mat}
    return Drawn(p, width, runup=3, landing=3)


def _ceiling(rng: np.random.Generator, cfg: GeneratorConfig, rows: int) -> Drawn:
    return _covered(rng, cfg, 5 - size(rng, 0, 2, cfg.lean))  # lower when harder


def _passage(rng: np.random.Generator, cfg: GeneratorConfig, rows: int) -> Drawn:
    return _covered(rng, cfg, 1 + int(rng.random() < 0.5))


# One segment generator per kind, in FEATURES order.
SEGMENTS: dict[str, Callable[[np.random.Generator, GeneratorConfig, int], Drawn]] = dict(
    zip(
        FEATURES,
        (_pit, _pipe, _wall, _stairs, _enemies, _spikes, _platform, _blocks, _ceiling, _passage),
        strict=True,
    )
)
