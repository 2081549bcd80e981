"""Sim against emulator: the same button sequences from the start of a stage, Mario's position per
frame in both, and the error between them (the fidelity test and ``bench_smb_fidelity.py``);
and MarI/O's grid in both worlds with the sim's player and enemies put where the game has them
(``view_pair``, the same-view test).

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
from envs.sim.constants import AIR, BUTTONS, E_ALIVE, EX, EY, P_STATUS, PX, PY, RUNNING, UNIT
from envs.sim.world import LevelBank, World
from envs.smb.console import Console
from envs.smb.metatiles import METATILES
from envs.smb.ram import (
    ENEMY_FLAGS,
    ENEMY_PAGE,
    ENEMY_SLOTS,
    ENEMY_X,
    ENEMY_Y,
    PAGE_TILES,
    PLAYER_PAGE,
    PLAYER_X,
    PLAYER_Y,
    TILES,
    is_dying,
    joypad_byte,
    tile_grid,
)
from envs.smb.recorder import PARSER_COLUMN, PARSER_PAGE

PLAYER_Y_POS, PLAYER_Y_HIGH = 0xCE, 0xB5
HITBOX_DX = 2  # the sim's hitbox left edge, from the sprite's left
_TILE_OF = np.full(256, AIR, dtype=np.uint8)
for _m, (_, _t) in METATILES.items():
    _TILE_OF[_m] = _t


def combo(name: str) -> np.ndarray:
    """The 6 buttons of ``"right+B+A"`` (``"none"``: nothing)."""
    pressed = {b.upper() for b in name.split("+")}
    return np.array([1 if b in pressed else 0 for b in BUTTONS], dtype=np.uint8)


def script(*parts: tuple[str, int]) -> np.ndarray:
    """A (frames, 6) button sequence from (combo, frames) parts."""
    return np.concatenate([np.repeat(combo(c)[None], n, axis=0) for c, n in parts])


# Scripted sequences from the start of 1-1: open ground, and the first blocks, goomba and pipe.
SEQUENCES: dict[str, np.ndarray] = {
    "walk": script(("right", 150)),
    "run": script(("right+B", 110)),  # into the first goomba
    "standing jump": script(("A", 45), ("none", 30)),
    "short hop": script(("right", 30), ("right+A", 6), ("right", 50)),
    "walking jump": script(("right", 50), ("right+A", 40), ("right", 40)),
    "running jump": script(("right+B", 60), ("right+B+A", 30), ("right+B", 30)),  # bricks
    "skid": script(("right+B", 50), ("left", 50), ("none", 20)),
    "let go of B": script(("right+B", 60), ("right", 40)),
    "coast": script(("right+B", 60), ("none", 60)),
    "air turn": script(("right", 40), ("left+A", 35), ("none", 20)),
    "past a block": script(("right", 132), ("right+A", 30), ("right", 30)),  # its corner
    "head bump": script(("right", 126), ("A", 30), ("none", 30)),  # under the first ? block
    "stomp, then the pipe": script(("right+B", 60), ("right+B+A", 30), ("right", 90)),
}


@dataclass(frozen=True)
class Trajectory:
    """Per frame, after each frame: x and y in level pixels (float for the sim's sub-pixels)."""

    x: np.ndarray
    y: np.ndarray


def emulator_trajectory(console: Console, buttons: np.ndarray, first_col: int = 0) -> Trajectory:
    """Play ``buttons`` from the console's start snapshot; stops at the frame Mario dies.

    The game acts on the pad one frame after it is pressed (it reads the pad in one frame's
    interrupt and moves Mario in the next); the SMB profile's ``input_lag`` does the same, so
    frame t of both plays ``buttons[t]`` and the positions line up as they are.
    """
    console.restart()
    ram = console.ram
    xs, ys = [], []
    for t in range(len(buttons)):
        console.frame(joypad_byte(buttons[t]))
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


# --- the view: MarI/O's grid in both worlds at the same place --------------------------------
ENEMY_DX, ENEMY_DY = 1, 8  # the sim's enemy hitbox from the sprite's left and Enemy_Y_Position


def place_from_ram(world: World, ram: np.ndarray, first_col: int = 0) -> None:
    """Put world 0's player and enemies where the game has them: the player's hitbox from
    Player_X/Player_Y_Position (module docstring), one sim enemy per occupied enemy slot (RAM
    0x0F + i) with its 14 px box 1 px into the 16 px sprite and its top 8 px below
    Enemy_Y_Position (a goomba on the ground: 184 in the game, 192 here); the rest dead."""
    x = int(ram[PLAYER_PAGE]) * 256 + int(ram[PLAYER_X]) + HITBOX_DX - 16 * first_col
    y = (int(ram[PLAYER_Y_HIGH]) - 1) * 256 + int(ram[PLAYER_Y_POS]) + 16
    world.P[0, PX], world.P[0, PY] = x * UNIT, y * UNIT
    world.E[0, :, E_ALIVE] = 0
    k = 0
    for i in range(ENEMY_SLOTS):
        if int(ram[ENEMY_FLAGS + i]) == 0:
            continue
        ex = int(ram[ENEMY_PAGE + i]) * 256 + int(ram[ENEMY_X + i]) + ENEMY_DX - 16 * first_col
        world.E[0, k, EX], world.E[0, k, EY] = ex * UNIT, (int(ram[ENEMY_Y + i]) + ENEMY_DY) * UNIT
        world.E[0, k, E_ALIVE] = 1
        k += 1


def comparable_cells(ram: np.ndarray, radius: int = 6) -> np.ndarray:
    """(2r+1, 2r+1) mask of the grid cells both worlds can show: columns the game's two-page
    buffer holds now (the 32 before the parser's next column, none left of the level: the ring
    shows columns 32 ahead there, the sim a wall), and
    not a metatile the level cannot hold (hidden blocks and the vine's blank are air there)."""
    mx = int(ram[PLAYER_PAGE]) * 256 + int(ram[PLAYER_X])
    my = int(ram[PLAYER_Y]) + 16
    d = np.arange(-radius, radius + 1) * 16
    cols = (mx + d + 8) // 16
    nxt = int(ram[PARSER_PAGE]) * 16 + int(ram[PARSER_COLUMN])
    ok = np.broadcast_to((cols >= max(nxt - 32, 0)) & (cols < nxt), (len(d), len(d))).copy()
    suby = (my + d - 16 - 32) // 16
    for r, sy in enumerate(suby):
        if 0 <= sy < 13:
            for c, col in enumerate(cols):
                m = int(ram[TILES + (col // 16) % 2 * PAGE_TILES + sy * 16 + col % 16])
                if m and _TILE_OF[m] == AIR:
                    ok[r, c] = False
    return ok


def view_pair(world: World, ram: np.ndarray, radius: int = 6) -> tuple[np.ndarray, ...]:
    """The game's grid (``tile_grid``), the sim's at the game's positions, and the mask of
    comparable cells."""
    place_from_ram(world, ram)
    return tile_grid(ram, radius), world.observe(radius)[0], comparable_cells(ram, radius)
