"""Sim against emulator: the same button sequences from the start of a stage, Mario's position per
frame in both, and the error between them (the fidelity test and ``bench_smb_fidelity.py``).

Positions are compared in the level's pixels: the sim's hitbox left edge and top (``PX``,
``PY``), and the emulator's Player_X (page 0x6D, 0x86) plus 2 (small Mario's 12 px hitbox starts
2 px into his 16 px sprite) less the area column the level starts at, and Player_Y_Position
(0xCE, high byte 0xB5) plus 16 (the top of small Mario in his 32 px box; level y is screen y).
A run is compared up to the frame either side ends (death, the flag) or the sequence does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from envs.levels.level import Level
from envs.sim.constants import BUTTONS, P_STATUS, PX, PY, RUNNING, UNIT
from envs.sim.world import LevelBank, World
from envs.smb.console import Console
from envs.smb.ram import PLAYER_PAGE, PLAYER_X, is_dying, joypad_byte

PLAYER_Y_POS, PLAYER_Y_HIGH = 0xCE, 0xB5
HITBOX_DX = 2  # the sim's hitbox left edge, from the sprite's left


def combo(name: str) -> np.ndarray:
    """The 6 buttons of ``"right+B+A"`` (``"none"``: nothing)."""
    pressed = {b.upper() for b in name.split("+")}
    return np.array([1 if b in pressed else 0 for b in BUTTONS], dtype=np.uint8)


def script(*parts: tuple[str, int]) -> np.ndarray:
    """A (frames, 6) button sequence from (combo, frames) parts."""
    return np.concatenate([np.repeat(combo(c)[None], n, axis=0) for c, n in parts])


# Scripted sequences from the start of 1-1 (before the first goomba and pipe can interfere).
SEQUENCES: dict[str, np.ndarray] = {
    "walk": script(("right", 150)),
    "run": script(("right+B", 110)),
    "standing jump": script(("A", 45), ("none", 30)),
    "short hop": script(("right", 30), ("right+A", 6), ("right", 50)),
    "walking jump": script(("right", 50), ("right+A", 40), ("right", 40)),
    "running jump": script(("right+B", 60), ("right+B+A", 30), ("right+B", 30)),
    "skid": script(("right+B", 50), ("left", 50), ("none", 20)),
    "let go of B": script(("right+B", 60), ("right", 40)),
    "coast": script(("right+B", 60), ("none", 60)),
    "air turn": script(("right", 40), ("left+A", 35), ("none", 20)),
}


@dataclass(frozen=True)
class Trajectory:
    """Per frame, after each frame: x and y in level pixels (float for the sim's sub-pixels)."""

    x: np.ndarray
    y: np.ndarray


def emulator_trajectory(console: Console, buttons: np.ndarray, first_col: int = 0) -> Trajectory:
    """Play ``buttons`` from the console's start snapshot; stops at the frame Mario dies.

    The game acts on the pad one frame after it is pressed (it reads the pad in one frame's
    interrupt and moves Mario in the next), so the position after frame t is taken after frame
    t + 1: the trajectory lines up with the sim's, which acts on the frame's own buttons.
    """
    console.restart()
    ram = console.ram
    xs, ys = [], []
    console.frame(joypad_byte(buttons[0]) if len(buttons) else 0)
    for t in range(len(buttons)):
        console.frame(joypad_byte(buttons[min(t + 1, len(buttons) - 1)]))
        x = int(ram[PLAYER_PAGE]) * 256 + int(ram[PLAYER_X]) + HITBOX_DX - 16 * first_col
        y = (int(ram[PLAYER_Y_HIGH]) - 1) * 256 + int(ram[PLAYER_Y_POS]) + 16
        xs.append(x)
        ys.append(y)
        if is_dying(ram):
            break
    return Trajectory(np.array(xs, dtype=np.float64), np.array(ys, dtype=np.float64))


def sim_trajectory(level: Level, buttons: np.ndarray) -> Trajectory:
    """Play ``buttons`` from the level's start in the fast world; stops when the run ends."""
    world = World(LevelBank([level]), 1)
    world.reset()
    xs, ys = [], []
    for row in buttons:
        world.step(row[None], 1)
        xs.append(world.P[0, PX] // UNIT)
        ys.append(world.P[0, PY] // UNIT)
        if world.P[0, P_STATUS] != RUNNING:
            break
    return Trajectory(np.array(xs, dtype=np.float64), np.array(ys, dtype=np.float64))


def errors(a: Trajectory, b: Trajectory) -> tuple[np.ndarray, np.ndarray]:
    """|dx|, |dy| per frame over the frames both played (pixels)."""
    n = min(len(a.x), len(b.x))
    return np.abs(a.x[:n] - b.x[:n]), np.abs(a.y[:n] - b.y[:n])
