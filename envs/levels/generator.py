"""Procedural levels: seeded, difficulty-steered and (by default) proven finishable by the solver.

A level is laid out left to right as a *plan*: a safe start zone, then alternating flat runs and
features, then a flat approach to the flag and a few columns of ground after it. The feature
kinds (``envs.levels.features``: pit, pipe, wall, stairs, enemies, spikes, floating platforms,
block rows, ceilings and low passages) cover the vocabulary of the shipped levels; each is drawn
from an explicit ``np.random.Generator`` with difficulty-dependent kind weights, size caps and
size leanings (:class:`GeneratorConfig`), kept inside the player's reach with a margin and given
the run-up and landing room it needs. With ``GeneratorConfig.near_start`` the first feature is
enemies or spikes within 16 columns of the start, as in the shipped levels (the player starts
9 or more tiles from them, with several seconds to react before an enemy arrives).

The plan is a list of :class:`~envs.levels.features.Feature` records that are *rendered* into
the tile grid (``envs.levels.layout``). That makes repair simple: with ``verify=True`` the level
is handed to :func:`envs.solver.solve`; if the solver stalls, the features around where it
stalled are *eased* in place (a pit narrowed, an obstacle lowered, an enemy removed, ...; widths
never change, so the rest of the plan stays put) and the solver runs again. After a few failed
repairs the whole level is redrawn from a seed derived deterministically from the original one
(``SeedSequence(seed, spawn_key=(k,))``, i.e. the k-th spawned child). The returned level is
therefore always solver-proven when ``verify=True``, and everything is a pure function of the
arguments: same arguments, same level. ``meta["features"]`` lists the kinds the final level
holds (after any easing), in :data:`FEATURES` order.

Levels are cached (``functools.lru_cache``): a repeated call returns the *same* ``Level``
object, whose tile array is read-only; treat levels as immutable values.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from envs.levels.features import (
    FEATURES,
    SEGMENTS,
    Feature,
    GeneratorConfig,
)
from envs.levels.layout import ease, holds_enemies, present, render
from envs.levels.level import Level, time_seconds_for
from envs.sim.constants import MAX_ROWS, PLAYER_W, TILE_PX, UNIT

__all__ = [
    "DEFAULT_DIFFICULTY",
    "DEFAULT_LENGTH",
    "FEATURES",
    "GeneratorConfig",
    "Difficulty",
    "HELD_OUT_COUNT",
    "difficulty_spread",
    "generate_level",
    "generated_seeds",
    "held_out_seed",
    "held_out_seeds",
    "clear_of_held_out",
]

MIN_LENGTH = 32
#: The defaults of every entry point's --difficulty and --length (agent.cli).
DEFAULT_DIFFICULTY = 0.5
DEFAULT_LENGTH = 150
MIN_GEN_ROWS = 10  # room for ground (2 rows), a 4-tall obstacle, jumps above it and the flag

START_COL = 2  # the player's start column
START_SAFE = 10  # columns from the left edge with nothing dangerous or in the way
NEAR_START = 16  # "near the start": enemies or spikes in the first 16 columns
FLAG_TAIL = 4  # ground columns after the flag
FLAG_APPROACH = 4  # flat columns before the flag
# Flat columns between a ceiling or passage and a feature with enemies, so that the enemies,
# which wake about 10 tiles ahead of the player, meet it after the corridor rather than in it.
CORRIDOR_CLEAR = 4

# Verification: repairs per drawn level before redrawing from a derived seed, and redraws
# before the last draw, which is eased until it passes (a fully eased plan is flat ground).
MAX_REPAIRS = 3
MAX_REDRAWS = 4
# Solver budget per check; a level it cannot finish within this is repaired rather than waited on.
SOLVER_EXPANSIONS = 40_000


def _flat(rng: np.random.Generator, x0: int, width: int) -> Feature:
    """A flat run, sometimes with a few coins within a jump's reach."""
    p: dict[str, int | tuple[int, ...]] = {"coins": 0}
    if width >= 4 and rng.random() < 0.35:
        n = int(rng.integers(2, min(4, width - 2) + 1))
        p = {"coins": n, "c0": int(rng.integers(1, width - n + 1)), "lift": int(rng.integers(2, 4))}
    return Feature("flat", x0, width, p)


# --- planning --------------------------------------------------------------------------------
def _plan(rng: np.random.Generator, cfg: GeneratorConfig, length: int, rows: int) -> list[Feature]:
    """Lay out flat runs and features from the start zone to the flag's approach."""
    flag_col = length - 1 - FLAG_TAIL
    end = flag_col - FLAG_APPROACH  # features end before this column
    probs = cfg.probabilities
    plan = [Feature("flat", 0, START_SAFE, {"coins": 0})]
    x, landing, misses = START_SAFE, 0, 0
    # The shipped levels meet the player with an enemy or spikes within a screen of the start.
    near = rng.random() < cfg.near_start
    prev_covered = False
    while misses < 3:
        if near:
            kind = "enemies" if rng.random() < 0.65 else "spikes"
        else:
            kind = FEATURES[int(rng.choice(len(FEATURES), p=probs))]
        drawn = SEGMENTS[kind](rng, cfg, rows)
        if near:
            flat = int(rng.integers(0, 4))  # the hazard starts at column 10..13
        else:
            flat = max(int(rng.integers(cfg.flat[0], cfg.flat[1] + 1)), drawn.runup, landing)
        f = Feature(kind, x + flat, drawn.width, dict(drawn.p))
        if prev_covered and holds_enemies(f):
            flat = max(flat, CORRIDOR_CLEAR)
            f.x0 = x + flat
        if x + flat + drawn.width > end:
            misses += 1  # try a smaller feature before closing the level
            near = False
            continue
        near = False
        plan.append(_flat(rng, x, flat))
        plan.append(f)
        x += flat + drawn.width
        landing = drawn.landing
        prev_covered = kind in ("ceiling", "passage")
    plan.append(_flat(rng, x, flag_col - x))
    plan.append(Feature("flag", flag_col, length - flag_col, {}))  # the flag and the tail
    return plan


def feature_kinds(plan: list[Feature]) -> list[str]:
    """The kinds the plan holds (features eased away do not count), in FEATURES order."""
    kinds = {f.kind for f in plan if present(f)}
    return [k for k in FEATURES if k in kinds]


# --- repair ----------------------------------------------------------------------------------
def _repair(plan: list[Feature], stall_col: int, everywhere: bool = False) -> bool:
    """Ease the features around the column where the solver stalled; False if none could be.

    Terrain is eased just ahead of the stall; features with enemies further ahead too, since
    enemies walk left to meet the player. With ``everywhere`` (or when nothing nearby can be
    eased) every feature is eased, which converges to flat ground.
    """
    eased = False
    if not everywhere:
        for f in plan:
            lo, hi = (
                (stall_col - 4, stall_col + 14)
                if holds_enemies(f)
                else (stall_col - 3, stall_col + 5)
            )
            if f.x0 + f.width > lo and f.x0 <= hi:
                eased |= ease(f)
    if not eased:
        for f in plan:
            eased |= ease(f)
    return eased


# --- public API ------------------------------------------------------------------------------
#: One difficulty, or a range ``(lo, hi)`` that a set of generated levels spreads over.
Difficulty = float | tuple[float, float]
#: Held-out levels reserved per difficulty (benchmarks/bench_generalist.py plays the first
#: ``--held-out`` of them); trainers never draw a seed among them.
HELD_OUT_COUNT = 1000


def held_out_seed(index: int) -> int:
    """Seed of held-out generated level ``index``: a ``SeedSequence`` stream (spawn key 2) apart
    from every training schedule and validation set (spawn keys 0 and 1, or small integers)."""
    return int(np.random.SeedSequence([index], spawn_key=(2,)).generate_state(1)[0])


@functools.cache
def held_out_seeds() -> frozenset[int]:
    """The seeds of the first ``HELD_OUT_COUNT`` held-out levels, which no trainer uses."""
    return frozenset(held_out_seed(i) for i in range(HELD_OUT_COUNT))


def clear_of_held_out(seed: int) -> int:
    """``seed``, or, when it is a held-out level's (``held_out_seeds``), a substitute derived
    from it on a stream of its own (spawn key 5), again until it is none: every trainer's
    generated-level seeds pass through here, so no trainer ever plays a held-out level."""
    held = held_out_seeds()
    while seed in held:
        seed = int(np.random.SeedSequence([seed], spawn_key=(5,)).generate_state(1)[0])
    return seed


def difficulty_spread(difficulty: Difficulty, count: int) -> list[float]:
    """The difficulties of ``count`` generated levels: ``difficulty`` for each, or for a range
    ``(lo, hi)`` evenly spaced from ``lo`` to ``hi`` (both included), rounded to 3 decimals."""
    if not isinstance(difficulty, tuple):
        return [float(difficulty)] * count
    lo, hi = (float(x) for x in difficulty)
    if not 0.0 <= lo <= hi <= 1.0:  # also rejects NaN
        raise ValueError(f"a difficulty range must be 0 <= lo <= hi <= 1, got {lo}:{hi}")
    step = (hi - lo) / max(count - 1, 1)
    return [round(lo + step * i, 3) for i in range(count)]


def generated_seeds(seed: int, count: int) -> list[int]:
    """The seeds of ``count`` generated levels for ``--generated N --seed S``: S .. S + N - 1
    (the levels ``play.py`` and ``compare.py`` show for those flags)."""
    return list(range(seed, seed + count))


def _build(plan: list[Feature], rows: int, length: int, name: str, meta: dict) -> Level:
    tiles, enemies = render(plan, rows, length)
    meta = {**meta, "features": ",".join(feature_kinds(plan))}
    return Level(name, tiles, (rows - 3, START_COL), tuple(enemies), meta, "<generator>")


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
    ``attempts`` (levels drawn), ``repairs`` (easing rounds), ``verified`` and ``features``
    (the kinds of :data:`FEATURES` the level holds, comma-separated).
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
        draw = functools.partial(_draw, seed=seed, cfg=cfg, length=length, rows=rows)
        level = _verified(draw, rows, length, name, meta)
    else:
        plan = _draw(0, seed=seed, cfg=cfg, length=length, rows=rows)
        level = _build(
            plan, rows, length, name, {**meta, "attempts": "1", "repairs": "0", "verified": "no"}
        )
    level.tiles.flags.writeable = False  # cached and shared: keep it immutable
    return level


def _draw(attempt: int, *, seed: int, cfg: GeneratorConfig, length: int, rows: int) -> list:
    """The plan of draw number ``attempt`` of a seed."""
    return _plan(_rng(seed, attempt), cfg, length, rows)


def _rng(seed: int, attempt: int) -> np.random.Generator:
    """The random generator of draw number ``attempt`` of a seed.

    Draw 0 uses the seed itself, so ``verify=False`` gives the first draw of ``verify=True``;
    redraws use the attempt-th spawned child of the seed's ``SeedSequence``.
    """
    return np.random.default_rng(
        np.random.SeedSequence(seed, spawn_key=(attempt,)) if attempt else seed
    )


def _verified(
    draw: Callable[[int], list[Feature]], rows: int, length: int, name: str, meta: dict
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
