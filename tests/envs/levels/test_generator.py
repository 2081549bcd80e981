"""Tests of the procedural level generator (``envs.levels.generator``)."""

from __future__ import annotations

import numpy as np
import pytest

from envs.levels import generator
from envs.levels.generator import GeneratorConfig, generate_level
from envs.levels.level import Level, parse_level
from envs.sim.constants import AIR, COMPLETED, FLAG, GROUND, LEGEND_CHARS, SOLID, SPIKES, TILE_PX
from envs.solver import SolverConfig, replay, solve

SEEDS = range(20)


def _fresh(seed: int, difficulty: float, length: int = 150, verify: bool = False, rows: int = 15):
    """Generate bypassing the cache, so determinism is tested rather than memoisation."""
    return generator._generate.__wrapped__(seed, difficulty, length, verify, rows)


def _pits(level: Level) -> list[tuple[int, int]]:
    """(first column, width) of each run of columns with no ground in the bottom row."""
    open_ = level.tiles[-1] == AIR
    runs, c = [], 0
    while c < level.width:
        if open_[c]:
            start = c
            while c < level.width and open_[c]:
                c += 1
            runs.append((start, c - start))
        c += 1
    return runs


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
    """meta records seed, difficulty, length and a time long enough to walk the level."""
    level = generate_level(42, 0.25, 90, verify=False)
    assert level.name == "gen-s42-d0.25-l90"
    assert level.meta["seed"] == "42" and level.meta["length"] == "90"
    assert float(level.meta["difficulty"]) == 0.25
    assert level.meta["attempts"] == "1" and level.meta["verified"] == "no"
    # The whole length at 1 px/frame must fit in the time limit.
    assert level.time_seconds * 60 >= 90 * TILE_PX / 1.0
    assert generate_level(42, 0.25, 90, verify=False, rows=12).name.endswith("-r12")


def test_layout_start_and_flag():
    """S stands on ground near the left with a safe start zone; the flag is on ground near the
    right end with ground after it; nothing lies outside the map's reach limits."""
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


def test_features_stay_within_reach():
    """At full difficulty plain pits are <= 5 tiles and ground obstacles <= 4 tiles tall."""
    for seed in SEEDS:
        level = generate_level(seed, 1.0, verify=False)
        t, g = level.tiles, level.height - 2
        for start, width in _pits(level):
            bridged = SOLID[t[:g, start : start + width]].any()  # a floating platform
            assert width <= (10 if bridged else 5), (seed, start, width)
        for c in range(level.width):
            h = 0
            while h < g and SOLID[t[g - 1 - h, c]]:
                h += 1
            assert h <= 4, (seed, c, h)


def test_difficulty_steers_gaps_and_enemies():
    """Over 20 seeds, mean widest gap and mean enemy count grow from difficulty 0 to 1."""

    def stats(d: float) -> tuple[float, float]:
        levels = [generate_level(s, d, verify=False) for s in SEEDS]
        gaps = [max((w for _, w in _pits(lvl)), default=0) for lvl in levels]
        return float(np.mean(gaps)), float(np.mean([len(lvl.enemies) for lvl in levels]))

    gap0, enemies0 = stats(0.0)
    gap5, enemies5 = stats(0.5)
    gap1, enemies1 = stats(1.0)
    assert gap0 < gap5 < gap1
    assert enemies0 < enemies5 < enemies1
    assert gap0 <= 2  # difficulty 0 has only small gaps


def test_config_knobs_grow_with_difficulty():
    """GeneratorConfig's defaults are difficulty 0.5's; size limits never shrink as it grows
    and stay within the player's reach (pits <= 5, heights <= 4)."""
    assert GeneratorConfig() == GeneratorConfig.from_difficulty(0.5)
    cfgs = [GeneratorConfig.from_difficulty(d) for d in np.linspace(0, 1, 11)]
    for knob in ("max_gap", "max_height", "max_pipe", "max_group", "max_spikes"):
        values = [getattr(c, knob) for c in cfgs]
        assert values == sorted(values), knob
    assert cfgs[-1].max_gap == 5 and cfgs[-1].max_height == 4 and cfgs[-1].max_pipe == 4
    assert (
        cfgs[0].max_spikes == 0 and cfgs[0].probabilities[generator.FEATURES.index("spikes")] == 0
    )


def test_vocabulary_is_covered():
    """Across a set of seeds at difficulty 0.8 every legend character appears."""
    seen: set[str] = set()
    for seed in range(12):
        text = generate_level(seed, 0.8, verify=False).to_text()
        seen |= set("".join(line for line in text.splitlines() if not line.startswith(";")))
    assert set(LEGEND_CHARS) <= seen


@pytest.mark.parametrize("seed,d", [(0, 0.0), (1, 0.3), (2, 0.5), (3, 0.8), (4, 1.0)])
def test_verified_levels_are_solvable(seed, d):
    """With verify=True the solver completes the level and replaying its plan completes it."""
    level = generate_level(seed, d)
    assert level.meta["verified"] == "solver"
    sol = solve(level, SolverConfig())
    assert sol.completed
    status, _, _ = replay(level, sol.actions, 5)
    assert status == COMPLETED


def test_repair_eases_an_impossible_level():
    """A plan with a pit no jump clears is eased (narrowed) until the solver completes it."""
    F = generator._Feature

    def draw(attempt: int) -> list:
        return [
            F("flat", 0, 12, {"coins": 0}),
            F("pit", 12, 11, {"w": 11, "coins": 0}),
            F("flat", 23, 21, {"coins": 0}),
            F("flag", 44, 5, {}),
        ]

    level = generator._verified(draw, 15, 49, "repair-test", {})
    assert int(level.meta["repairs"]) >= 1
    assert max(w for _, w in _pits(level)) < 11
    sol = solve(level)
    assert sol.completed and replay(level, sol.actions, 5)[0] == COMPLETED


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
