"""Levels built from rows, worlds for them, and scripted buttons (physics and agent tests)."""

from __future__ import annotations

import numpy as np

from envs.levels.level import Level, parse_level
from envs.sim.constants import BTN_A, BTN_B, BTN_LEFT, BTN_RIGHT, P_STATUS, RUNNING
from envs.sim.world import LevelBank, World


def level_from_rows(*rows: str, name: str = "test", time: int | None = None) -> Level:
    head = [f"; name: {name}"] + ([f"; time: {time}"] if time else [])
    return parse_level("\n".join(head + list(rows)), source=name)


# 16x8 tiles: ground on row 7; on row 6 the player starts at column 2, a coin waits at
# column 4 and an enemy at column 12; the flag fills column 15 on rows 5-6 (drawing tests).
SMALL = """; name: small
................
................
................
................
................
...............F
..S.C.......E..F
XXXXXXXXXXXXXXXX
"""


def small_level() -> Level:
    return parse_level(SMALL, source="small.txt")


def world_for(level: Level, n: int = 1) -> World:
    world = World(LevelBank([level]), n)
    world.reset()
    return world


def buttons(*names: str, n: int = 1) -> np.ndarray:
    """An (n, 6) action array with the named buttons held (A, B, LEFT, RIGHT)."""
    index = {"A": BTN_A, "B": BTN_B, "LEFT": BTN_LEFT, "RIGHT": BTN_RIGHT}
    act = np.zeros((n, 6), dtype=np.uint8)
    for name in names:
        act[:, index[name]] = 1
    return act


def run(world: World, action: np.ndarray, frames: int) -> list[np.ndarray]:
    """Step one frame at a time; return the player rows after each frame."""
    trace = []
    for _ in range(frames):
        world.step(action, 1)
        trace.append(world.P.copy())
        if (world.P[:, P_STATUS] != RUNNING).all():
            break
    return trace
