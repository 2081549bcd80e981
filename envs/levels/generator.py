"""Procedural levels: seeded, difficulty-steered and (by default) proven finishable by the solver.

A level is laid out left to right as a *plan*: a safe start zone, then alternating flat runs and
features (pit, pipe, wall, stairs, enemy group, spike patch, platform over a pit, block row),
then a flat approach to the flag and a few columns of ground after it. Each feature is drawn by
a small segment-generator function from an explicit ``np.random.Generator``; its kind is drawn
with difficulty-dependent weights and its size with difficulty-dependent limits
(:class:`GeneratorConfig`), kept inside the player's reach with a margin:

* pits are at most 5 tiles wide (a running jump clears about 7, a walking one about 4), and a
  pit wider than 3 gets a longer flat run-up before it and a landing zone after it;
* walls, stairs and pipes are at most 4 tiles tall (a standing jump peaks at 3.9 tiles, a
  running one at 4.8), and the tall ones get a run-up long enough to reach running speed;
* block rows float 4 tiles above the ground (3 tiles of head room) and never hang over a run-up,
  so they cannot cut a needed jump short.

The plan is a list of :class:`_Feature` records that are *rendered* into the tile grid. That
makes repair simple: with ``verify=True`` the level is handed to :func:`envs.solver.solve`; if
the solver stalls, the features around where it stalled are *eased* in place (a pit narrowed, an
obstacle lowered, an enemy removed, ...; widths never change, so the rest of the plan stays
put) and the solver runs again. After a few failed repairs the whole level is redrawn from a
seed derived deterministically from the original one (``SeedSequence(seed, spawn_key=(k,))``,
i.e. the k-th spawned child). The returned level is therefore always solver-proven when
``verify=True``, and everything is a pure function of the arguments: same arguments, same level.

Levels are cached (``functools.lru_cache``): a repeated call returns the *same* ``Level``
object, whose tile array is read-only; treat levels as immutable values.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from envs.levels.level import Level, time_seconds_for
from envs.sim.constants import (
    AIR,
    BRICK,
    COIN,
    FLAG,
    GROUND,
    HARD,
    MAX_ROWS,
    PIPE_L,
    PIPE_R,
    PLAYER_W,
    QUESTION,
    SPIKES,
    TILE_PX,
    UNIT,
)

MIN_LENGTH = 32
#: The defaults of every entry point's --difficulty and --length (agent.cli).
DEFAULT_DIFFICULTY = 0.5
DEFAULT_LENGTH = 150
MIN_GEN_ROWS = 10  # room for ground (2 rows), a 4-tall obstacle, jumps above it and the flag

START_COL = 2  # the player's start column
START_SAFE = 10  # columns from the left edge with nothing dangerous or in the way
ENEMY_MIN_COL = 16  # enemies spawn no nearer the start: they wake at once and walk left
FLAG_TAIL = 4  # ground columns after the flag
FLAG_APPROACH = 4  # flat columns before the flag
BLOCK_LIFT = 4  # block rows float this many tiles above the ground (3 tiles of head room)

# Verification: repairs per drawn level before redrawing from a derived seed, and redraws
# before the last draw, which is eased until it passes (a fully eased plan is flat ground).
MAX_REPAIRS = 3
MAX_REDRAWS = 4
# Solver budget per check; a level it cannot finish within this is repaired rather than waited on.
SOLVER_EXPANSIONS = 40_000

FEATURES = ("pit", "pipe", "wall", "stairs", "enemies", "spikes", "platform", "blocks")


def _round(x: float) -> int:
    """Round half up (Python's ``round`` rounds half to even, which makes knobs jumpy)."""
    return int(math.floor(x + 0.5))


@dataclass(frozen=True)
class GeneratorConfig:
    """The generator's knobs, all derived from one ``difficulty`` in [0, 1].

    Sizes are in tiles. Defaults are those of difficulty 0.5; use :meth:`from_difficulty`.
    """

    difficulty: float = 0.5
    min_gap: int = 1  # narrowest pit
    max_gap: int = 3  # widest pit (<= 5: a running jump clears ~7, a walking one ~4)
    max_height: int = 3  # tallest wall / stair (<= 4: running jump apex 4.8 tiles)
    max_pipe: int = 3  # tallest pipe (2..4)
    max_group: int = 2  # enemies per group (1..3)
    max_spikes: int = 2  # widest spike patch (0 disables spikes)
    flat: tuple[int, int] = (4, 9)  # flat run between two features, (min, max)
    # Relative frequency of each kind in FEATURES (pit, pipe, wall, stairs, enemies, spikes,
    # platform, blocks).
    weights: tuple[float, ...] = (1.5, 0.85, 0.45, 0.55, 1.125, 0.5, 0.3, 0.65)

    @classmethod
    def from_difficulty(cls, difficulty: float) -> GeneratorConfig:
        """Knobs for ``difficulty``: 0 is nearly flat with a few small gaps, 1 is dense."""
        d = float(difficulty)
        max_spikes = _round(3 * d)
        weights = (
            1.0 + d,  # pit
            0.7 + 0.3 * d,  # pipe
            0.2 + 0.5 * d,  # wall
            0.3 + 0.5 * d,  # stairs
            0.25 + 1.75 * d,  # enemies
            1.0 * d if max_spikes > 0 else 0.0,  # spikes
            max(0.0, 1.2 * (d - 0.25)),  # platform over a pit
            0.8 - 0.3 * d,  # blocks
        )
        return cls(
            difficulty=d,
            min_gap=1 + int(1.5 * d),
            max_gap=_round(1.5 + 3.5 * d),
            max_height=_round(1 + 3 * d),
            max_pipe=_round(2 + 2 * d),
            max_group=_round(1 + 2 * d),
            max_spikes=max_spikes,
            flat=(_round(6 - 4 * d), _round(12 - 7 * d)),
            weights=weights,
        )

    @property
    def probabilities(self) -> np.ndarray:
        w = np.asarray(self.weights, dtype=np.float64)
        return w / w.sum()


@dataclass
class _Feature:
    """One stretch of the plan: ``kind`` drawn over columns [x0, x0 + width) from ``p``.

    ``p`` holds the kind's size parameters; easing lowers them in place, never the width.
    """

    kind: str
    x0: int
    width: int
    p: dict[str, int | tuple[int, ...]]


@dataclass(frozen=True)
class _Drawn:
    """What a segment generator returns: the feature's parameters and its spacing needs."""

    p: dict[str, int | tuple[int, ...]]
    width: int
    runup: int = 2  # flat, block-free tiles needed before it
    landing: int = 2  # flat tiles needed after it


# --- segment generators: (rng, config) -> _Drawn ---------------------------------------------
def _runup_for_height(h: int) -> int:
    # A 4-tall obstacle needs a running jump (tier 2 needs ~2.3 px/f, ~3 tiles of acceleration),
    # and the player may land a few tiles into the run-up when jumping the previous feature.
    return 2 if h <= 2 else 2 * h - 3


def _pit(rng: np.random.Generator, cfg: GeneratorConfig) -> _Drawn:
    w = int(rng.integers(cfg.min_gap, cfg.max_gap + 1))
    coins = int(w >= 2 and rng.random() < 0.3)  # a coin arc over the jump
    return _Drawn({"w": w, "coins": coins}, w, runup=2 + max(0, w - 3), landing=2 + (w >= 4))


def _pipe(rng: np.random.Generator, cfg: GeneratorConfig) -> _Drawn:
    h = int(rng.integers(2, cfg.max_pipe + 1))
    return _Drawn({"h": h}, 2, runup=_runup_for_height(h))


def _wall(rng: np.random.Generator, cfg: GeneratorConfig) -> _Drawn:
    h = int(rng.integers(1, cfg.max_height + 1))
    w = int(rng.integers(1, 3))
    return _Drawn({"h": h}, w, runup=_runup_for_height(h))


def _stairs_profile(p: dict) -> list[int]:
    """Column heights of a staircase; -1 marks a pit column between its two halves."""
    h, top, gap, down = p["h"], p["top"], p["gap"], p["down"]
    cols = list(range(1, h + 1)) + [h] * (top - 1) + [-1] * gap
    if gap:
        cols += [h] + list(range(h - 1, 0, -1))
    elif down:
        cols += list(range(h - 1, 0, -1))
    return cols


def _stairs(rng: np.random.Generator, cfg: GeneratorConfig) -> _Drawn:
    # Steps are 1 tile each, so stairs may be one taller than walls (still <= 4).
    hi = min(4, cfg.max_height + 1)
    h = int(rng.integers(min(2, hi), hi + 1))
    top = int(rng.integers(1, 3))
    gap = 0
    if cfg.difficulty >= 0.4 and rng.random() < 0.5:  # SMB's pyramid with a pit at the top
        gap = int(rng.integers(1, min(3, cfg.max_gap) + 1))
    down = int(gap > 0 or rng.random() < 0.6)
    p = {"h": h, "top": top, "gap": gap, "down": down}
    return _Drawn(p, len(_stairs_profile(p)), runup=2, landing=2)


def _enemies(rng: np.random.Generator, cfg: GeneratorConfig) -> _Drawn:
    n = int(rng.integers(1, cfg.max_group + 1))
    spacing = int(rng.integers(1, 3)) + 1  # E.E or E..E: room to land between them
    ceiling = int(cfg.difficulty >= 0.3 and rng.random() < 0.3)  # a block row over them
    width = 2 + (n - 1) * spacing + 1
    return _Drawn({"n": n, "spacing": spacing, "ceiling": ceiling}, width, runup=3, landing=2)


def _spikes(rng: np.random.Generator, cfg: GeneratorConfig) -> _Drawn:
    w = int(rng.integers(1, max(1, cfg.max_spikes) + 1))
    return _Drawn({"w": w}, w, runup=2 + max(0, w - 2), landing=2)


def _platform(rng: np.random.Generator, cfg: GeneratorConfig) -> _Drawn:
    # Two hops of at most 3 tiles up to 3 tiles high: well inside a running jump's reach.
    hi = max(2, min(3, cfg.max_gap))
    a, b = int(rng.integers(2, hi + 1)), int(rng.integers(2, hi + 1))
    pw = int(rng.integers(2, 5))
    hp = int(rng.integers(1, 4))
    mat = int(rng.choice([BRICK, HARD, QUESTION], p=[0.5, 0.35, 0.15]))
    p = {"a": a, "pw": pw, "b": b, "hp": hp, "mat": mat, "a0": a}
    return _Drawn(p, a + pw + b, runup=3, landing=3)


def _blocks(rng: np.random.Generator, cfg: GeneratorConfig) -> _Drawn:
    n = int(rng.integers(3, 8))
    row = tuple(int(t) for t in rng.choice([BRICK, QUESTION], size=n, p=[0.65, 0.35]))
    coins = int(rng.random() < 0.35)  # coins resting on the row
    high = int(rng.random() < 0.25)  # a second row higher up, reachable from the first
    p = {"row": row, "coins": coins, "high": high}
    return _Drawn(p, n + 2, runup=0, landing=0)


SEGMENTS: dict[str, Callable[[np.random.Generator, GeneratorConfig], _Drawn]] = {
    "pit": _pit,
    "pipe": _pipe,
    "wall": _wall,
    "stairs": _stairs,
    "enemies": _enemies,
    "spikes": _spikes,
    "platform": _platform,
    "blocks": _blocks,
}
assert tuple(SEGMENTS) == FEATURES


def _flat(rng: np.random.Generator, x0: int, width: int) -> _Feature:
    """A flat run, sometimes with a few coins within a jump's reach."""
    p: dict[str, int | tuple[int, ...]] = {"coins": 0}
    if width >= 4 and rng.random() < 0.35:
        n = int(rng.integers(2, min(4, width - 2) + 1))
        p = {"coins": n, "c0": int(rng.integers(1, width - n + 1)), "lift": int(rng.integers(2, 4))}
    return _Feature("flat", x0, width, p)


# --- planning --------------------------------------------------------------------------------
def _plan(rng: np.random.Generator, cfg: GeneratorConfig, length: int) -> list[_Feature]:
    """Lay out flat runs and features from the start zone to the flag's approach."""
    flag_col = length - 1 - FLAG_TAIL
    end = flag_col - FLAG_APPROACH  # features end before this column
    probs = cfg.probabilities
    plan = [_Feature("flat", 0, START_SAFE, {"coins": 0})]
    x, landing, misses = START_SAFE, 0, 0
    while misses < 3:
        kind = FEATURES[int(rng.choice(len(FEATURES), p=probs))]
        drawn = SEGMENTS[kind](rng, cfg)
        flat = max(int(rng.integers(cfg.flat[0], cfg.flat[1] + 1)), drawn.runup, landing)
        if kind == "enemies":
            flat = max(flat, ENEMY_MIN_COL - x)
        if x + flat + drawn.width > end:
            misses += 1  # try a smaller feature before closing the level
            continue
        plan.append(_flat(rng, x, flat))
        plan.append(_Feature(kind, x + flat, drawn.width, dict(drawn.p)))
        x += flat + drawn.width
        landing = drawn.landing
    plan.append(_flat(rng, x, flag_col - x))
    plan.append(_Feature("flag", flag_col, length - flag_col, {}))  # the flag and the tail
    return plan


# --- rendering -------------------------------------------------------------------------------
def _render(plan: list[_Feature], rows: int, length: int) -> tuple[np.ndarray, list]:
    """Draw the plan; returns the (rows, length) tile codes and the enemy spawn cells."""
    g = rows - 2  # ground top row; the player stands on row g - 1
    t = np.full((rows, length), AIR, dtype=np.uint8)
    t[g:] = GROUND
    enemies: list[tuple[int, int]] = []
    for f in plan:
        x, p = f.x0, f.p
        if f.kind == "flat":
            if p["coins"]:
                c0 = x + p["c0"]
                t[g - p["lift"], c0 : c0 + p["coins"]] = COIN
        elif f.kind == "pit":
            t[:, x : x + p["w"]] = AIR
            if p["coins"] and p["w"] >= 2:
                t[g - 4, x : x + p["w"]] = COIN
        elif f.kind == "pipe":
            if p["h"]:
                t[g - p["h"] : g, x] = PIPE_L
                t[g - p["h"] : g, x + 1] = PIPE_R
        elif f.kind == "wall":
            if p["h"]:
                t[g - p["h"] : g, x : x + f.width] = HARD
        elif f.kind == "stairs":
            for i, h in enumerate(_stairs_profile(p)[: f.width]):
                if h < 0:
                    t[:, x + i] = AIR
                elif h > 0:
                    t[g - h : g, x + i] = HARD
        elif f.kind == "enemies":
            for k in range(p["n"]):
                enemies.append((g - 1, x + 1 + k * p["spacing"]))
            if p["ceiling"]:
                t[g - BLOCK_LIFT, x + 1 : x + f.width - 1] = BRICK
        elif f.kind == "spikes":
            t[g - 1, x : x + p["w"]] = SPIKES
        elif f.kind == "platform":
            # The pit may have been narrowed by easing: ground fills its left end.
            pit0 = x + p["a0"] - p["a"]
            pit1 = x + p["a0"] + p["pw"] + p["b"]
            t[:, pit0:pit1] = AIR
            if p["hp"]:
                t[g - p["hp"], x + p["a0"] : x + p["a0"] + p["pw"]] = p["mat"]
        elif f.kind == "blocks":
            row = p["row"]
            if row:
                t[g - BLOCK_LIFT, x + 1 : x + 1 + len(row)] = row
                if p["coins"]:
                    t[g - BLOCK_LIFT - 1, x + 1 : x + 1 + len(row)] = COIN
                if p["high"] and g - 2 * BLOCK_LIFT >= 0:
                    t[g - 2 * BLOCK_LIFT, x + 2 : x + len(row)] = BRICK
        elif f.kind == "flag":  # a pole on the ground at x, ground after it
            t[max(1, g - 11) : g, x] = FLAG
    return t, enemies


# --- easing (repair) -------------------------------------------------------------------------
def _ease(f: _Feature) -> bool:
    """Make ``f`` one notch easier in place; False when it is already as easy as it gets."""
    p = f.p
    if f.kind in ("pit", "spikes"):
        if p["w"] == 0:
            return False
        p["w"] -= 1
    elif f.kind in ("pipe", "wall"):
        if p["h"] == 0:
            return False
        p["h"] = 0 if (f.kind == "pipe" and p["h"] <= 2) else p["h"] - 1
    elif f.kind == "stairs":
        if p["gap"]:
            p["gap"] -= 1
        elif p["h"] > 1:
            p["h"] -= 1
        elif p["h"] == 1:
            p.update(h=0, top=1, down=0)
        else:
            return False
    elif f.kind == "enemies":
        if p["ceiling"]:
            p["ceiling"] = 0
        elif p["n"]:
            p["n"] -= 1
        else:
            return False
    elif f.kind == "platform":
        if max(p["a"], p["b"]) > 1:
            if p["a"] >= p["b"]:
                p["a"] -= 1
            else:
                p["b"] -= 1
        elif p["hp"] > 1:
            p["hp"] -= 1
        elif p["a"] or p["b"]:
            p.update(a=0, b=0, pw=0, hp=0)  # no pit left: plain ground
        else:
            return False
    elif f.kind == "blocks":
        if not p["row"]:
            return False
        p["row"] = ()
    else:
        return False
    return True


def _repair(plan: list[_Feature], stall_col: int, everywhere: bool = False) -> bool:
    """Ease the features around the column where the solver stalled; False if none could be.

    Terrain is eased just ahead of the stall; enemy groups further ahead too, since enemies walk
    left to meet the player. With ``everywhere`` (or when nothing nearby can be eased) every
    feature is eased, which converges to flat ground.
    """
    eased = False
    if not everywhere:
        for f in plan:
            lo, hi = (
                (stall_col - 4, stall_col + 14)
                if f.kind == "enemies"
                else (stall_col - 3, stall_col + 5)
            )
            if f.x0 + f.width > lo and f.x0 <= hi:
                eased |= _ease(f)
    if not eased:
        for f in plan:
            eased |= _ease(f)
    return eased


# --- public API ------------------------------------------------------------------------------
def generated_seeds(seed: int, count: int) -> list[int]:
    """The seeds of ``count`` generated levels for ``--generated N --seed S``: S .. S + N - 1
    (the levels ``play.py`` and ``compare.py`` show for those flags)."""
    return list(range(seed, seed + count))


def _build(plan: list[_Feature], rows: int, length: int, name: str, meta: dict) -> Level:
    tiles, enemies = _render(plan, rows, length)
    return Level(name, tiles, (rows - 3, START_COL), tuple(enemies), dict(meta), "<generator>")


def _validate(seed: int, difficulty: float, length: int, rows: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if not 0.0 <= difficulty <= 1.0:  # also rejects NaN
        raise ValueError(f"difficulty must be within [0, 1], got {difficulty!r}")
    if length < MIN_LENGTH:
        raise ValueError(f"length must be at least {MIN_LENGTH} columns, got {length!r}")
    if not MIN_GEN_ROWS <= rows <= MAX_ROWS:
        raise ValueError(f"rows must be within {MIN_GEN_ROWS}..{MAX_ROWS}, got {rows!r}")


def generate_level(
    seed: int,
    difficulty: float = DEFAULT_DIFFICULTY,
    length: int = DEFAULT_LENGTH,
    *,
    verify: bool = True,
    rows: int = 15,
) -> Level:
    """A level drawn from ``seed`` at ``difficulty`` in [0, 1], ``length`` columns by ``rows``.

    Deterministic: the same arguments give an equal level (the same cached object, in fact).
    The name is ``gen-s{seed}-d{difficulty:.2f}-l{length}``, with ``-r{rows}`` appended when
    ``rows`` is not the default 15.
    With ``verify`` the solver has completed the returned level (see the module doc); its
    ``meta`` records ``seed``, ``difficulty``, ``length``, ``rows``, ``time`` (seconds),
    ``attempts`` (levels drawn), ``repairs`` (easing rounds) and ``verified``.
    Raises ``ValueError`` naming the offending argument.
    """
    _validate(seed, difficulty, length, rows)
    return _generate(int(seed), float(difficulty), int(length), bool(verify), int(rows))


@functools.lru_cache(maxsize=512)
def _generate(seed: int, difficulty: float, length: int, verify: bool, rows: int) -> Level:
    cfg = GeneratorConfig.from_difficulty(difficulty)
    name = f"gen-s{seed}-d{difficulty:.2f}-l{length}" + (f"-r{rows}" if rows != 15 else "")
    meta = {
        "name": name,
        "seed": str(seed),
        "difficulty": f"{difficulty:.4g}",
        "length": str(length),
        "rows": str(rows),
        "time": str(time_seconds_for(length)),
    }
    if verify:
        level = _verified(lambda k: _plan(_rng(seed, k), cfg, length), rows, length, name, meta)
    else:
        plan = _plan(_rng(seed, 0), cfg, length)
        level = _build(
            plan, rows, length, name, {**meta, "attempts": "1", "repairs": "0", "verified": "no"}
        )
    level.tiles.flags.writeable = False  # cached and shared: keep it immutable
    return level


def _rng(seed: int, attempt: int) -> np.random.Generator:
    """The random generator of draw number ``attempt`` of a seed.

    Draw 0 uses the seed itself, so ``verify=False`` gives the first draw of ``verify=True``;
    redraws use the attempt-th spawned child of the seed's ``SeedSequence``.
    """
    return np.random.default_rng(
        np.random.SeedSequence(seed, spawn_key=(attempt,)) if attempt else seed
    )


def _verified(
    draw: Callable[[int], list[_Feature]], rows: int, length: int, name: str, meta: dict
) -> Level:
    """Draw (``draw(attempt)``), solve, repair, redraw until the solver completes the level.

    See the module doc. The last draw is eased until it passes: local repairs first, then
    everything at once, which ends in flat ground without enemies at worst.
    """
    # Imported lazily: only verification needs the solver (and the compiled physics).
    from envs.solver import SolverConfig, solve

    solver_cfg = SolverConfig(max_expansions=SOLVER_EXPANSIONS)
    repairs = 0
    for attempt in range(MAX_REDRAWS + 1):
        plan = draw(attempt)
        last = attempt == MAX_REDRAWS
        tries = 0
        while True:
            info = {**meta, "attempts": str(attempt + 1), "repairs": str(repairs)}
            level = _build(plan, rows, length, name, {**info, "verified": "solver"})
            sol = solve(level, solver_cfg)
            if sol.completed:
                return level
            if tries >= MAX_REPAIRS and not last:
                break
            stall = int(sol.best_x + PLAYER_W / UNIT / 2) // TILE_PX  # player centre
            if not _repair(plan, stall, everywhere=last and tries >= MAX_REPAIRS):
                break
            tries += 1
            repairs += 1
    raise RuntimeError(f"{name}: the solver could not complete even a fully eased level")
