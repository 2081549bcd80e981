"""Tests of the procedural level generator (``envs.levels.generator``): determinism, layout,
reach limits, how difficulty steers it, the shipped levels' vocabulary at every difficulty
(counted over 200 seeds, read from the tiles as well as from ``meta["features"]``), and the
solver's proof of every level."""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest

from envs.levels import generator
from envs.levels.features import FEATURES, INNER_ENEMIES, Feature, GeneratorConfig
from envs.levels.generator import generate_level
from envs.levels.level import Level, parse_level
from envs.sim.constants import (
    AIR,
    COMPLETED,
    FLAG,
    GROUND,
    HARD,
    LEGEND_CHARS,
    PIPE_L,
    SOLID,
    SPIKES,
    TILE_PX,
)
from envs.solver import SolverConfig, replay, solve

SEEDS = range(20)
COUNT_SEEDS = range(200)  # the vocabulary is counted over this many levels per difficulty
DIFFICULTIES = (0.0, 0.3, 0.6, 0.9)


def _fresh(seed: int, difficulty: float, length: int = 150, verify: bool = False, rows: int = 15):
    """Generate bypassing the cache, so determinism is tested rather than memoisation."""
    return generator._generate.__wrapped__(seed, difficulty, length, verify, rows)


# --- reading the vocabulary from the tiles (independent of the generator's own records) -------
def _footing(level: Level) -> np.ndarray:
    """Per column: is there a solid tile with room (no solid, no spikes) above it to stand on
    (row 0 excluded)."""
    s = SOLID[level.tiles]
    free = ~s & (level.tiles != SPIKES)
    return (s[1:] & free[:-1]).any(axis=0)


def _gaps(level: Level) -> list[tuple[int, int]]:
    """(first column, width) of each run of columns with nothing to stand on."""
    runs, c, f = [], 0, _footing(level)
    while c < level.width:
        if not f[c]:
            start = c
            while c < level.width and not f[c]:
                c += 1
            runs.append((start, c - start))
        c += 1
    return runs


def _heights(level: Level, tile: int | None = None) -> np.ndarray:
    """Per column: how many tiles (solid ones, or only ``tile``) stand on the ground row."""
    t, g = level.tiles, level.height - 2
    out = np.zeros(level.width, dtype=int)
    for c in range(level.width):
        h = 0
        while h < g and (SOLID[t[g - 1 - h, c]] if tile is None else t[g - 1 - h, c] == tile):
            h += 1
        out[c] = h
    return out


def _clearances(level: Level) -> np.ndarray:
    """Per column: head room under rock that reaches the top row (0 where there is none)."""
    s, g = SOLID[level.tiles], level.height - 2
    out = np.zeros(level.width, dtype=int)
    for c in np.flatnonzero(s[0] & ~s[g - 1]):
        k = 0
        while s[k + 1, c]:
            k += 1
        if not s[k + 1 : g, c].any():
            out[c] = g - 1 - k
    return out


def _traits(level: Level) -> dict[str, bool]:
    """The shipped levels' vocabulary, read from the tiles and spawns."""
    t = level.tiles
    cl = _clearances(level)
    en = sorted(level.enemies)
    pairs = zip(en, en[1:], strict=False)
    return {
        "enemy near start": any(c < generator.NEAR_START for _, c in level.enemies),
        "spikes near start": bool((t[:, : generator.NEAR_START] == SPIKES).any()),
        "4-high pipe": bool((_heights(level, PIPE_L) >= 4).any()),
        "7-8-high stairs": bool((_heights(level, HARD) >= 7).any()),
        "enemy group": any(a[0] == b[0] and 0 < b[1] - a[1] <= 3 for a, b in pairs),
        "low passage": bool(((cl >= 1) & (cl <= 2)).any()),
        "ceiling": bool(((cl >= 3) & (cl <= 5)).any()),
        "floating platform": bool((_footing(level) & (t[-1] == AIR)).any()),
    }


def _busy(level: Level) -> float:
    """The share of columns that are not plain ground: air (or coins) above two ground rows."""
    t, g = level.tiles, level.height - 2
    plain = (t[g:] == GROUND).all(axis=0) & ~SOLID[t[:g]].any(axis=0)
    plain &= ~(t[:g] == SPIKES).any(axis=0)
    occupied = np.zeros(level.width, dtype=bool)
    occupied[[c for _, c in level.enemies]] = True
    return float(np.mean(~plain | occupied))


@functools.cache
def _levels(difficulty: float, length: int = 150) -> list[Level]:
    """The unverified counting set: one level per seed of COUNT_SEEDS."""
    return [generate_level(s, difficulty, length, verify=False) for s in COUNT_SEEDS]


def _share(levels: list[Level], test) -> float:
    return float(np.mean([bool(test(lvl)) for lvl in levels]))


# --- API, determinism, layout ----------------------------------------------------------------
def test_same_arguments_give_the_same_level():
    """Same (seed, difficulty, length, rows) -> equal tiles, start, enemies, name and meta."""
    for seed, d in [(0, 0.0), (7, 0.5), (123456789, 1.0)]:
        a = generate_level(seed, d, verify=False)
        b = _fresh(seed, d)
        assert a == b  # Level.__eq__ compares name, start, enemies and tiles
        assert np.array_equal(a.tiles, b.tiles) and a.enemies == b.enemies
        assert a.meta == b.meta
    v = generate_level(3, 0.6)
    assert v == _fresh(3, 0.6, verify=True) and v.meta == _fresh(3, 0.6, verify=True).meta


def test_different_seeds_give_different_levels():
    """Different seeds (or difficulties) at the same size give different tile grids."""
    levels = [generate_level(s, 0.5, verify=False) for s in SEEDS]
    grids = {lvl.tiles.tobytes() for lvl in levels}
    assert len(grids) == len(levels)
    assert generate_level(1, 0.2, verify=False) != generate_level(1, 0.8, verify=False)


def test_cached_level_is_shared_and_read_only():
    """Repeated calls return the cached object, whose tiles cannot be written by accident."""
    a = generate_level(5, 0.4, verify=False)
    assert generate_level(5, 0.4, verify=False) is a
    with pytest.raises(ValueError):
        a.tiles[0, 0] = GROUND


@pytest.mark.parametrize("rows,length,d", [(15, 150, 0.5), (10, 32, 1.0), (32, 64, 0.0)])
def test_text_round_trip(rows, length, d):
    """``parse_level(level.to_text())`` gives back the same level, metadata included."""
    for seed in range(5):
        level = generate_level(seed, d, length, verify=False, rows=rows)
        back = parse_level(level.to_text())
        assert back == level
        assert back.meta == level.meta
        assert level.tiles.shape == (rows, length)


def test_metadata_and_name():
    """meta records seed, difficulty, length, a time long enough to walk the level, and the
    feature kinds it holds (known kinds, in FEATURES order, no repeats)."""
    level = generate_level(42, 0.25, 90, verify=False)
    assert level.name == "gen-s42-d0.25-l90"
    assert level.meta["seed"] == "42" and level.meta["length"] == "90"
    assert float(level.meta["difficulty"]) == 0.25
    assert level.meta["attempts"] == "1" and level.meta["verified"] == "no"
    # The whole length at 1 px/frame must fit in the time limit.
    assert level.time_seconds * 60 >= 90 * TILE_PX / 1.0
    assert generate_level(42, 0.25, 90, verify=False, rows=12).name.endswith("-r12")
    for seed in SEEDS:
        kinds = generate_level(seed, 0.6, verify=False).meta["features"].split(",")
        assert kinds and kinds == [k for k in FEATURES if k in kinds]


def test_layout_start_and_flag():
    """S stands on ground near the left with a safe start zone (nothing solid or deadly in the
    first 10 columns, so a near enemy starts 8+ tiles from the player); the flag is on ground
    near the right end with ground after it."""
    for seed in SEEDS:
        for d in (0.0, 1.0):
            level = generate_level(seed, d, verify=False)
            t, g = level.tiles, level.height - 2
            r, c = level.start
            assert c <= 3 and r == g - 1 and t[g, c] == GROUND
            zone = t[:, : generator.START_SAFE]
            assert (zone[g:] == GROUND).all() and not SOLID[zone[:g]].any()
            assert not (zone == SPIKES).any()
            assert all(ec >= generator.START_SAFE for _, ec in level.enemies)
            fc = level.flag_col
            assert level.width - 8 <= fc < level.width - 2
            assert t[g - 1, fc] == FLAG and (t[g:, fc:] == GROUND).all()


@pytest.mark.parametrize("rows", [15, 10])
def test_features_stay_within_reach(rows):
    """At full difficulty no stretch without footing is over 5 tiles wide, what stands on the
    ground rises at most 4 tiles from one column with footing to the next (staircases climb in
    1-tile steps), nothing is taller than 8, and on a 10-row map 4 (room to jump above it)."""
    for seed in SEEDS:
        level = generate_level(seed, 1.0, verify=False, rows=rows)
        for start, width in _gaps(level):
            assert width <= 5, (seed, start, width)
        h = _heights(level)
        assert (np.diff(h[_footing(level)]) <= 4).all(), seed
        assert h.max() <= (8 if rows == 15 else 4), seed


def test_config_knobs_grow_with_difficulty():
    """GeneratorConfig's defaults are difficulty 0.5's; size caps, the size lean and the
    chance of near-start hazards never shrink as difficulty grows; caps stay within the
    player's reach (pits <= 5, walls and pipes <= 4, stairs <= 8); every kind has some weight
    at every difficulty."""
    default, half = GeneratorConfig(), GeneratorConfig.from_difficulty(0.5)
    for field in dataclasses.fields(GeneratorConfig):
        a, b = getattr(default, field.name), getattr(half, field.name)
        assert np.allclose(a, b), field.name
    cfgs = [GeneratorConfig.from_difficulty(d) for d in np.linspace(0, 1, 11)]
    for knob in (
        "max_gap", "max_height", "max_pipe", "max_pipes", "max_stairs", "max_group",
        "max_spikes", "max_platforms", "max_passage", "lean", "near_start", "extras",
    ):  # fmt: skip
        values = [getattr(c, knob) for c in cfgs]
        assert values == sorted(values), knob
    top = cfgs[-1]
    assert (top.max_gap, top.max_height, top.max_pipe, top.max_stairs) == (5, 4, 4, 8)
    assert all((c.probabilities > 0.01).all() for c in cfgs)
    assert cfgs[0].flat[0] > top.flat[0] and cfgs[0].flat[1] > top.flat[1]  # denser when harder


def test_vocabulary_is_covered():
    """Across a set of seeds at difficulty 0.8 every legend character appears."""
    seen: set[str] = set()
    for seed in range(12):
        text = generate_level(seed, 0.8, verify=False).to_text()
        seen |= set("".join(line for line in text.splitlines() if not line.startswith(";")))
    assert set(LEGEND_CHARS) <= seen


# --- the vocabulary over 200 seeds per difficulty --------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("difficulty", DIFFICULTIES)
def test_every_feature_kind_at_every_difficulty(difficulty):
    """Over 200 seeds, every kind of FEATURES is in at least 15% of the levels (meta
    "features") at difficulties 0, 0.3, 0.6 and 0.9."""
    levels = _levels(difficulty)
    for kind in FEATURES:
        share = _share(levels, lambda lvl, k=kind: k in lvl.meta["features"].split(","))
        assert share >= 0.15, (difficulty, kind, share)


# The least share of levels with each trait, read from the tiles, per difficulty (about half
# of what the generator makes, measured over COUNT_SEEDS). At 0 the hard ones are rare but
# present; they grow with difficulty.
TRAIT_SHARES = {
    #                    d = 0.0  0.3   0.6   0.9
    "enemy near start": (0.02, 0.08, 0.15, 0.25),
    "spikes near start": (0.01, 0.03, 0.06, 0.1),
    "4-high pipe": (0.03, 0.12, 0.25, 0.3),
    "7-8-high stairs": (0.01, 0.05, 0.1, 0.15),
    "enemy group": (0.08, 0.25, 0.4, 0.5),
    "low passage": (0.08, 0.12, 0.15, 0.15),
    "ceiling": (0.08, 0.12, 0.15, 0.15),
    "floating platform": (0.1, 0.15, 0.2, 0.2),
}


@pytest.mark.slow
def test_shipped_vocabulary_at_every_difficulty():
    """Over 200 seeds per difficulty, read from the tiles: enemies and spikes within 16
    columns of the start, 4-high pipes, 7-8-high staircases, groups of 2-3 walking enemies,
    low passages (1-2 tiles of head room), ceilings (3-5), floating platforms over gaps each
    appear in at least TRAIT_SHARES of the levels; the hazards near the start, tall pipes and
    stairs and enemy groups are more common at 0.9 than at 0.3."""
    shares = {d: {} for d in DIFFICULTIES}
    for d in DIFFICULTIES:
        traits = [_traits(lvl) for lvl in _levels(d)]
        for name in TRAIT_SHARES:
            shares[d][name] = float(np.mean([t[name] for t in traits]))
    for name, least in TRAIT_SHARES.items():
        for d, low in zip(DIFFICULTIES, least, strict=True):
            assert shares[d][name] >= low, (name, d, shares[d][name])
    for name in ("enemy near start", "4-high pipe", "7-8-high stairs", "enemy group"):
        assert shares[0.9][name] > shares[0.3][name], name


@pytest.mark.slow
def test_features_record_matches_the_tiles():
    """meta["features"] names "passage" exactly when the tiles hold a 1-2-high corridor,
    "ceiling" exactly when they hold a 3-5-high one, "platform" whenever there is footing over
    a gap, "stairs" whenever a 5+-high hard-block column stands and "pipe" exactly when there
    is a pipe."""
    for d in DIFFICULTIES:
        for level in _levels(d):
            kinds = set(level.meta["features"].split(","))
            tr = _traits(level)
            assert tr["low passage"] == ("passage" in kinds), level.name
            assert tr["ceiling"] == ("ceiling" in kinds), level.name
            assert not tr["floating platform"] or "platform" in kinds, level.name
            assert (_heights(level, HARD).max() < 5) or "stairs" in kinds, level.name
            assert (level.tiles == PIPE_L).any() == ("pipe" in kinds), level.name


@pytest.mark.slow
def test_difficulty_steers_gaps_heights_and_density():
    """Over 200 seeds, the mean widest gap, the mean tallest staircase, the mean enemy count
    and the mean share of columns that are not plain ground (density) grow from difficulty 0
    to 0.3, 0.6 and 0.9; at 0 the widest gap averages at most 2.5 tiles."""

    def stats(d: float) -> tuple[float, ...]:
        levels = _levels(d)
        return (
            float(np.mean([max((w for _, w in _gaps(lvl)), default=0) for lvl in levels])),
            float(np.mean([_heights(lvl, HARD).max() for lvl in levels])),
            float(np.mean([len(lvl.enemies) for lvl in levels])),
            float(np.mean([_busy(lvl) for lvl in levels])),
        )

    rows = [stats(d) for d in DIFFICULTIES]
    for i, name in enumerate(("widest gap", "tallest stairs", "enemies", "density")):
        values = [r[i] for r in rows]
        assert values == sorted(values) and values[0] < values[-1], (name, values)
    assert rows[0][0] <= 2.5


# --- the solver's proof ----------------------------------------------------------------------
@pytest.mark.parametrize("seed,d", [(0, 0.0), (1, 0.3), (2, 0.5), (3, 0.8), (4, 1.0)])
def test_verified_levels_are_solvable(seed, d):
    """With verify=True the solver completes the level and replaying its plan completes it."""
    level = generate_level(seed, d)
    assert level.meta["verified"] == "solver"
    sol = solve(level, SolverConfig())
    assert sol.completed
    status, _, _ = replay(level, sol.actions, 5)
    assert status == COMPLETED


@pytest.mark.slow
@pytest.mark.parametrize("d", [0.3, 0.6, 0.9])
def test_verified_levels_carry_the_vocabulary(d):
    """16 verified levels per difficulty: each is proven by the solver (the first one's plan
    is found again and replays to the flag), and together they hold every feature kind and,
    read from the tiles, enemies near the start, enemy groups, low passages and floating
    platforms."""
    kinds: set[str] = set()
    traits: set[str] = set()
    for seed in range(16):
        level = generate_level(seed, d)
        assert level.meta["verified"] == "solver"
        if seed == 0:
            sol = solve(level, SolverConfig(max_expansions=generator.SOLVER_EXPANSIONS))
            assert sol.completed and replay(level, sol.actions, 5)[0] == COMPLETED
        kinds |= set(level.meta["features"].split(","))
        traits |= {k for k, v in _traits(level).items() if v}
    assert kinds == set(FEATURES), d
    assert {"enemy near start", "enemy group", "low passage", "floating platform"} <= traits


@pytest.mark.slow
def test_long_levels_are_verified():
    """Levels as long as the longest shipped ones (250 columns) are proven at difficulty 0.9
    (the last one's plan replays to the flag) and hold more feature kinds than 150-column
    ones."""
    for seed in range(3):
        long_ = generate_level(seed, 0.9, 250)
        assert long_.meta["verified"] == "solver" and long_.width == 250
    sol = solve(long_, SolverConfig(max_expansions=generator.SOLVER_EXPANSIONS))
    assert sol.completed and replay(long_, sol.actions, 5)[0] == COMPLETED
    long_kinds = np.mean([len(lvl.meta["features"].split(",")) for lvl in _levels(0.9, 250)])
    short_kinds = np.mean([len(lvl.meta["features"].split(",")) for lvl in _levels(0.9)])
    assert long_kinds > short_kinds


@pytest.mark.slow
def test_repair_eases_an_impossible_level():
    """A plan with a pit no jump clears is eased (narrowed) until the solver completes it, and
    meta["features"] then still names the pit (narrowed, not gone)."""

    def draw(attempt: int) -> list:
        return [
            Feature("flat", 0, 12, {"coins": 0}),
            Feature("pit", 12, 11, {"w": 11, "coins": 0}),
            Feature("flat", 23, 21, {"coins": 0}),
            Feature("flag", 44, 5, {}),
        ]

    level = generator._verified(draw, 15, 49, "repair-test", {})
    assert int(level.meta["repairs"]) >= 1
    assert max(w for _, w in _gaps(level)) < 11
    assert level.meta["features"] == "pit"
    sol = solve(level)
    assert sol.completed and replay(level, sol.actions, 5)[0] == COMPLETED


@pytest.mark.slow
def test_repair_removes_enemies_in_a_low_corridor():
    """Enemies that meet the player deep in a long 1-high corridor (where they can be neither
    jumped nor stomped, and the camera bars the way back) are removed by the repair, and the
    corridor stays (meta "features" still names it)."""

    def draw(attempt: int) -> list:
        return [
            Feature("flat", 0, 12, {"coins": 0}),
            Feature("passage", 12, 40, {"c": 1, "inner": INNER_ENEMIES, "amount": 2, "mat": HARD}),
            Feature("flat", 52, 12, {"coins": 0}),
            Feature("flag", 64, 5, {}),
        ]

    assert not solve(generator._build(draw(0), 15, 69, "corridor", {})).completed
    level = generator._verified(draw, 15, 69, "corridor", {})
    assert int(level.meta["repairs"]) >= 1 and not level.enemies
    assert level.meta["features"] == "passage" and (_clearances(level) == 1).sum() == 40
    assert solve(level).completed


@pytest.mark.parametrize(
    "kwargs,name",
    [
        ({"difficulty": -0.1}, "difficulty"),
        ({"difficulty": 1.5}, "difficulty"),
        ({"difficulty": float("nan")}, "difficulty"),
        ({"length": 31}, "length"),
        ({"rows": 9}, "rows"),
        ({"rows": 33}, "rows"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_arguments_raise(kwargs, name):
    """Out-of-range arguments raise ValueError naming the argument."""
    args = {"seed": 0, "verify": False, **kwargs}
    with pytest.raises(ValueError, match=name):
        generate_level(**args)
