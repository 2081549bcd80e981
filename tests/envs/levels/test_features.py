"""Tests of drawing and easing the generator's features (``envs.levels.features`` and
``envs.levels.layout``): size draws lean with difficulty, every kind renders inside its own
columns, and easing any feature ends, hazard-free, in a finite number of steps."""

from __future__ import annotations

import numpy as np
import pytest

from envs.levels.features import FEATURES, SEGMENTS, Feature, GeneratorConfig, size
from envs.levels.layout import ease, holds_enemies, present, render
from envs.sim.constants import AIR, GROUND, SOLID, SPIKES

ROWS, X0, PAD = 15, 10, 10


def _drawn(kind: str, seed: int, difficulty: float) -> Feature:
    rng = np.random.default_rng(seed)
    d = SEGMENTS[kind](rng, GeneratorConfig.from_difficulty(difficulty), ROWS)
    return Feature(kind, X0, d.width, dict(d.p))


def _alone(f: Feature) -> tuple[np.ndarray, list]:
    """The feature rendered on flat ground with PAD columns either side."""
    return render([f], ROWS, X0 + f.width + PAD)


def test_size_leans_with_the_lean():
    """size() stays within [lo, hi], gives every value some chance at a lean of -3 or 3, leans
    to small values below 0 and big ones above, and is uniform-ish at 0."""
    rng = np.random.default_rng(0)
    for lean in (-3.0, 0.0, 3.0):
        draws = np.array([size(rng, 2, 8, lean) for _ in range(4000)])
        assert draws.min() == 2 and draws.max() == 8
        counts = np.bincount(draws, minlength=9)[2:]
        assert counts.min() >= 60, (lean, counts)  # at least ~1/70 each
        if lean < 0:
            assert counts[0] > counts[-1] * 10
        elif lean > 0:
            assert counts[-1] > counts[0] * 10
        else:
            assert counts.max() < 2 * counts.min()
    assert size(rng, 3, 3, 1.0) == 3


@pytest.mark.parametrize("kind", FEATURES)
def test_each_kind_renders_inside_its_columns(kind):
    """Over 30 draws at difficulties 0.3 and 0.9, a feature changes tiles and spawns enemies
    only within its own columns; ground to both sides stays untouched."""
    for seed in range(30):
        for d in (0.3, 0.9):
            f = _drawn(kind, seed, d)
            t, enemies = _alone(f)
            g = ROWS - 2
            outside = np.r_[0:X0, X0 + f.width : t.shape[1]]
            assert (t[g:, outside] == GROUND).all() and (t[:g, outside] == AIR).all(), seed
            assert all(X0 <= c < X0 + f.width for _, c in enemies), (seed, enemies)
            assert all(t[r, c] == AIR and SOLID[t[r + 1, c]] for r, c in enemies), seed
            assert present(f)


@pytest.mark.parametrize("kind", FEATURES)
def test_easing_ends_hazard_free(kind):
    """Easing any drawn feature again and again stops (ease() returns False) within 40 steps
    without changing its width; the fully eased feature is gone (present() is False), holds
    no enemies, no spikes and no pit, and nothing on it is more than 1 tile tall."""
    for seed in range(30):
        f = _drawn(kind, seed, 1.0)
        width = f.width
        for _ in range(40):
            if not ease(f):
                break
        else:
            pytest.fail(f"{kind} seed {seed}: easing never ends")
        assert f.width == width
        t, enemies = _alone(f)
        g = ROWS - 2
        assert not present(f) and not holds_enemies(f) and not enemies, (seed, f.p)
        assert not (t == SPIKES).any() and (t[g:] == GROUND).all(), (seed, f.p)
        assert not SOLID[t[: g - 1]].any(), (seed, f.p)


def test_holds_enemies_matches_the_spawns():
    """holds_enemies() is True exactly for drawn features that spawn enemies when rendered."""
    seen = set()
    for kind in FEATURES:
        for seed in range(30):
            f = _drawn(kind, seed, 0.9)
            spawns = bool(_alone(f)[1])
            assert holds_enemies(f) == spawns, (kind, seed, f.p)
            if spawns:
                seen.add(kind)
    assert seen == {"pipe", "enemies", "platform", "blocks", "ceiling", "passage"}
