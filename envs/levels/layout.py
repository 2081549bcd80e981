"""Turning a generator plan into tiles, and easing its features when the solver gets stuck.

A plan is a list of :class:`envs.levels.features.Feature` records laid left to right. ``render``
draws them into a tile grid with the ground two rows deep at the bottom; ``ease`` makes one
feature a notch easier *in place* without changing its width (so the rest of the plan stays
put), which is how ``envs.levels.generator`` repairs a level the solver could not finish;
``present`` says whether a feature is still there after easing (for ``meta["features"]``).
"""

from __future__ import annotations

import numpy as np

from envs.levels.features import (
    FEATURES,
    INNER_ENEMIES,
    INNER_NONE,
    INNER_PIT,
    INNER_SPIKES,
    Feature,
    stairs_profile,
)
from envs.sim.constants import AIR, BRICK, COIN, FLAG, GROUND, HARD, PIPE_L, PIPE_R, SPIKES

BLOCK_LIFT = 4  # block rows float this many tiles above the ground (3 tiles of head room)


def render(plan: list[Feature], rows: int, length: int) -> tuple[np.ndarray, list]:
    """Draw the plan; returns the (rows, length) tile codes and the enemy spawn cells, in the
    row-major order a level file lists them (so a level equals its text round trip)."""
    g = rows - 2  # ground top row; the player stands on row g - 1
    t = np.full((rows, length), AIR, dtype=np.uint8)
    t[g:] = GROUND
    enemies: list[tuple[int, int]] = []
    for f in plan:
        _DRAW[f.kind](t, enemies, g, f)
    return t, sorted(enemies)


def _flat(t, enemies, g, f):
    if f.p["coins"]:
        c0 = f.x0 + f.p["c0"]
        t[g - f.p["lift"], c0 : c0 + f.p["coins"]] = COIN


def _pit(t, enemies, g, f):
    x, w = f.x0, f.p["w"]
    t[:, x : x + w] = AIR
    if f.p["coins"] and w >= 2:
        t[g - 4, x : x + w] = COIN


def _pipe(t, enemies, g, f):
    p = f.p
    c = f.x0 + p["lead0"]
    t[g - 1, c - p["lead"] : c] = SPIKES
    for i, h in enumerate(p["h"]):
        if h:
            t[g - h : g, c] = PIPE_L
            t[g - h : g, c + 1] = PIPE_R
        c += 2
        if i < len(p["gaps"]):
            gap, fill = p["gaps"][i], p["fill"][i]
            if fill == 1:  # spikes on the middle (up to 3) columns: pipe-to-pipe jumps
                k = min(gap, 3)
                s = c + (gap - k) // 2
                t[g - 1, s : s + k] = SPIKES
            elif fill == 2:  # an enemy walking to and fro between the pipes
                enemies.append((g - 1, c + gap // 2))
            c += gap
    t[g - 1, c : c + p["trail"]] = SPIKES


def _wall(t, enemies, g, f):
    if f.p["h"]:
        t[g - f.p["h"] : g, f.x0 : f.x0 + f.width] = HARD


def _stairs(t, enemies, g, f):
    for i, h in enumerate(stairs_profile(f.p)[: f.width]):
        x = f.x0 + i
        if h == -1:
            t[:, x] = AIR
        elif h == -2:
            t[g - 1, x] = SPIKES
        elif h > 0:
            t[g - h : g, x] = HARD


def _enemies(t, enemies, g, f):
    p = f.p
    for k in range(p["n"]):
        enemies.append((g - 1, f.x0 + 1 + k * p["spacing"]))
    if p["ceiling"]:
        t[g - BLOCK_LIFT, f.x0 + 1 : f.x0 + f.width - 1] = BRICK


def _spikes(t, enemies, g, f):
    t[g - 1, f.x0 : f.x0 + f.p["w"]] = SPIKES


def _platform(t, enemies, g, f):
    p = f.p
    x = f.x0
    n = len(p["pw"])
    for i in range(n + 1):
        hop0, hop = p["hops0"][i], p["hops"][i]
        if not p["filled"]:  # an eased hop keeps ground at its left end
            t[:, x + hop0 - hop : x + hop0] = AIR
        x += hop0
        if i == n:
            break
        w, h = p["pw"][i], p["hp"][i]
        if not p["filled"]:
            t[:, x : x + w] = AIR
        if p["island"]:
            t[g - h :, x : x + w] = GROUND
        else:
            t[g - h, x : x + w] = p["mat"]
        if p["enemy"] == i:
            enemies.append((g - h - 1, x + w // 2))
        x += w


def _blocks(t, enemies, g, f):
    p, x = f.p, f.x0
    row = p["row"]
    if not row:
        return
    t[g - BLOCK_LIFT, x + 1 : x + 1 + len(row)] = row
    if p["coins"]:
        t[g - BLOCK_LIFT - 1, x + 1 : x + 1 + len(row)] = COIN
    if p["high"] and g - 2 * BLOCK_LIFT >= 0:
        t[g - 2 * BLOCK_LIFT, x + 2 : x + len(row)] = BRICK
    if p["enemy"]:
        enemies.append((g - BLOCK_LIFT - 1, x + 1 + len(row) // 2))


def _covered(t, enemies, g, f):
    """A ceiling or passage: rock from the top row down to ``c`` tiles above the ground (so it
    cannot be jumped over), with its contents centred below."""
    p, x, w = f.p, f.x0, f.width
    if not p["c"]:
        return
    t[: g - p["c"], x : x + w] = p["mat"]
    inner, k = p["inner"], p["amount"]
    s = x + (w - k) // 2
    if inner == INNER_PIT:
        t[g:, s : s + k] = AIR
    elif inner == INNER_SPIKES:
        t[g - 1, s : s + k] = SPIKES
    elif inner == INNER_ENEMIES:
        e0 = x + (w - (2 * k - 1)) // 2
        enemies.extend((g - 1, e0 + 2 * j) for j in range(k))


def _flag(t, enemies, g, f):  # a pole on the ground at x0, ground after it
    t[max(1, g - 11) : g, f.x0] = FLAG


# The drawing function of each kind in FEATURES order, plus flat runs and the flag.
_KIND_DRAW = (
    _pit, _pipe, _wall, _stairs, _enemies, _spikes, _platform, _blocks, _covered, _covered,
)  # fmt: skip
_DRAW = {"flat": _flat, **dict(zip(FEATURES, _KIND_DRAW, strict=True)), "flag": _flag}


# --- easing (repair) -------------------------------------------------------------------------
def _lower_max(values: tuple[int, ...], floor: int, drop_to: int | None = None) -> tuple | None:
    """``values`` with its largest entry above ``floor`` one lower (to ``drop_to`` when it is
    at ``floor + 1`` and ``drop_to`` is given); None when none is above ``floor``."""
    i = int(np.argmax(values)) if values else 0
    if not values or values[i] <= floor:
        return None
    v = values[i] - 1
    if drop_to is not None and v <= floor:
        v = drop_to
    return values[:i] + (v,) + values[i + 1 :]


def ease(f: Feature) -> bool:
    """Make ``f`` one notch easier in place; False when it is already as easy as it gets.

    Hazards that come with a feature (enemies, spikes) go first, then sizes shrink.
    """
    p = f.p
    kind = f.kind
    if kind in ("pit", "spikes"):
        if p["w"] == 0:
            return False
        p["w"] -= 1
    elif kind == "pipe":
        if any(p["fill"]) or p["lead"] or p["trail"]:
            p.update(fill=(0,) * len(p["fill"]), lead=0, trail=0)
        else:
            lowered = _lower_max(p["h"], 1, drop_to=0)  # a 2-high pipe goes away altogether
            if lowered is None:
                return False
            p["h"] = lowered
    elif kind == "wall":
        if p["h"] == 0:
            return False
        p["h"] -= 1
    elif kind == "stairs":
        if p["gap"]:
            p["gap"] -= 1
        elif p["h"] > 1:
            p["h"] -= 1
        elif p["h"] == 1:
            p.update(h=0, top=1, down=0)
        else:
            return False
    elif kind == "enemies":
        if p["ceiling"]:
            p["ceiling"] = 0
        elif p["n"]:
            p["n"] -= 1
        else:
            return False
    elif kind == "platform":
        return _ease_platform(p)
    elif kind == "blocks":
        if p["enemy"]:
            p["enemy"] = 0
        elif p["row"]:
            p["row"] = ()
        else:
            return False
    elif kind in ("ceiling", "passage"):
        if p["inner"] != INNER_NONE:
            p.update(inner=INNER_NONE, amount=0)
        elif p["c"]:
            p["c"] = 0
        else:
            return False
    else:
        return False
    return True


def _ease_platform(p: dict) -> bool:
    if p["enemy"] >= 0:
        p["enemy"] = -1
        return True
    for key, floor in (("hops", 2), ("hp", 1), ("hops", 0)):  # wide hops, heights, gaps
        lowered = _lower_max(p[key], floor)
        if lowered is not None:
            p[key] = lowered
            return True
    if p["filled"]:
        return False
    p["filled"] = 1  # no gap left: ground under the platforms too
    return True


def present(f: Feature) -> bool:
    """Whether feature ``f`` still shows in the level (easing can remove one entirely)."""
    p = f.p
    return {
        "pit": lambda: p["w"] > 0,
        "spikes": lambda: p["w"] > 0,
        "pipe": lambda: any(p["h"]),
        "wall": lambda: p["h"] > 0,
        "stairs": lambda: p["h"] > 0,
        "enemies": lambda: p["n"] > 0,
        "platform": lambda: not p["filled"],
        "blocks": lambda: bool(p["row"]),
        "ceiling": lambda: p["c"] > 0,
        "passage": lambda: p["c"] > 0,
    }.get(f.kind, lambda: False)()


def holds_enemies(f: Feature) -> bool:
    """Whether feature ``f`` spawns enemies (they walk left, so easing looks further ahead)."""
    p = f.p
    if f.kind == "enemies":
        return p["n"] > 0
    if f.kind == "pipe":
        return 2 in p["fill"]
    if f.kind == "platform":
        return p["enemy"] >= 0
    if f.kind == "blocks":
        return bool(p["enemy"] and p["row"])
    if f.kind in ("ceiling", "passage"):
        return p["c"] > 0 and p["inner"] == INNER_ENEMIES
    return False
