"""The batched world: levels packed for the kernels (``LevelBank``) and N worlds' state (``World``).

``World`` owns three integer arrays: ``P`` (player and bookkeeping, one row per world), ``E``
(enemies) and ``D`` (which coins and question blocks are used up). Cloning, restoring and
gathering worlds is copying those arrays. The rules themselves are in ``envs.sim.physics``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from envs.levels.level import Level
from envs.sim import physics, view
from envs.sim.constants import (
    AIR,
    COIN,
    COMPLETED,
    DEAD,
    DYNAMIC,
    E_ALIVE,
    E_COLS,
    ENEMY_H,
    ENEMY_W,
    EVX,
    EX,
    EY,
    FPS,
    P_CAMERA,
    P_COINS,
    P_COLS,
    P_FACING,
    P_FRAMES,
    P_GROUND,
    P_LAST_PROGRESS,
    P_LEVEL,
    P_RIGHTMOST,
    P_STATUS,
    P_STOMPS,
    P_TIME_LIMIT,
    PLAYER_H,
    PLAYER_W,
    PVX,
    PVY,
    PX,
    PY,
    QUESTION,
    RUNNING,
    SHIFTS_KEY,
    TILE,
    TIMEOUT,
    UNIT,
    USED,
)
from envs.sim.levelinfo import (
    LD_COLS,
    LD_FLAG,
    LD_H,
    LD_ND,
    LD_NE,
    LD_PROFILE,
    LD_SX,
    LD_SY,
    LD_TIME,
    LD_W,
)
from envs.sim.profiles import PhysicsProfile, profile_for
from envs.sim.rules import out_of_time


class LevelBank:
    """Levels in padded arrays indexed by slot; slots can be replaced (fresh generated levels).

    Each slot's row of ``info`` also holds its physics profile (``envs.sim.profiles``:
    ``profile_for`` its name), so worlds on different level families share one batch.
    Capacity (rows, columns, enemies, dynamic cells) grows on demand; worlds adapt their arrays
    when they next reset.
    """

    def __init__(self, levels: Sequence[Level]):
        if not levels:
            raise ValueError("a LevelBank needs at least one level")
        self.levels: list[Level] = []
        self.names = np.empty(len(levels), dtype=object)  # per slot, for info without loops
        self.profiles: list[PhysicsProfile] = []
        self.tiles = np.zeros((len(levels), 1, 1), dtype=np.uint8)
        self.dyn = np.full((len(levels), 1, 1), -1, dtype=np.int16)
        self.info = np.zeros((len(levels), LD_COLS), dtype=np.int32)
        self.spawns = np.zeros((len(levels), 1, 3), dtype=np.int32)  # x, y, wake offset
        self.d_max = 1
        for slot, level in enumerate(levels):
            self.levels.append(level)
            self.profiles.append(profile_for(level.name))
            self.set(slot, level)

    @property
    def e_max(self) -> int:
        return self.spawns.shape[1]

    def __len__(self) -> int:
        return len(self.levels)

    def _grow(self, rows: int, cols: int, enemies: int, dynamic: int) -> None:
        n, h, w = self.tiles.shape
        if rows > h or cols > w:
            h2, w2 = max(h, rows), max(w, cols + cols // 4)
            self.tiles = np.pad(self.tiles, ((0, 0), (0, h2 - h), (0, w2 - w)))
            self.dyn = np.pad(self.dyn, ((0, 0), (0, h2 - h), (0, w2 - w)), constant_values=-1)
        if enemies > self.e_max:
            extra = max(enemies, self.e_max + self.e_max // 2) - self.e_max
            self.spawns = np.pad(self.spawns, ((0, 0), (0, extra), (0, 0)))
        if dynamic > self.d_max:
            self.d_max = max(dynamic, self.d_max + self.d_max // 2)

    def add(self, level: Level) -> int:
        """Append ``level`` in a new slot and return the slot."""
        self.levels.append(level)
        self.profiles.append(profile_for(level.name))
        self.names = np.append(self.names, None)
        self.tiles = np.pad(self.tiles, ((0, 1), (0, 0), (0, 0)))
        self.dyn = np.pad(self.dyn, ((0, 1), (0, 0), (0, 0)), constant_values=-1)
        self.info = np.pad(self.info, ((0, 1), (0, 0)))
        self.spawns = np.pad(self.spawns, ((0, 1), (0, 0), (0, 0)))
        self.set(len(self.levels) - 1, level)
        return len(self.levels) - 1

    def set(self, slot: int, level: Level) -> None:
        """Put ``level`` into ``slot``; worlds on that slot must be reset afterwards."""
        dyn_cells = np.argwhere(DYNAMIC[level.tiles])
        self._grow(level.height, level.width, len(level.enemies), len(dyn_cells))
        profile = profile_for(level.name)
        self.levels[slot] = level
        self.profiles[slot] = profile
        self.names[slot] = level.name
        self.tiles[slot] = 0
        self.tiles[slot, : level.height, : level.width] = level.tiles
        self.dyn[slot] = -1
        self.dyn[slot, dyn_cells[:, 0], dyn_cells[:, 1]] = np.arange(len(dyn_cells))
        srow, scol = level.start
        info = self.info[slot]
        info[LD_H], info[LD_W], info[LD_FLAG] = level.height, level.width, level.flag_col
        info[LD_SX] = scol * TILE + (TILE - PLAYER_W) // 2 + profile.start_dx
        info[LD_SY] = (srow + 1) * TILE - PLAYER_H
        info[LD_NE], info[LD_ND] = len(level.enemies), len(dyn_cells)
        info[LD_TIME] = level.time_seconds * FPS
        info[LD_PROFILE:] = profile.row()
        self.spawns[slot] = 0
        shifts = enemy_shifts(level)
        for k, (r, c) in enumerate(level.enemies):
            dx, wake = shifts.get((r, c), (0, 0))
            x = c * TILE + (TILE - ENEMY_W) // 2 + dx * UNIT
            self.spawns[slot, k] = (x, (r + 1) * TILE - ENEMY_H, wake * UNIT)


def enemy_shifts(level: Level) -> dict[tuple[int, int], tuple[int, int]]:
    """The level's ``enemy-shifts`` metadata (the real game's stages: ``envs.smb.levels``):
    per enemy cell ``row,col:dx:wake``, its sprite ``dx`` px right of the cell's usual place,
    and woken when the camera is ``wake`` px nearer than for an enemy there (a group's members
    load together, 24 px apart). Malformed entries are a ``ValueError``."""
    out: dict[tuple[int, int], tuple[int, int]] = {}
    for item in level.meta.get(SHIFTS_KEY, "").split():
        try:
            cell, dx, wake = item.split(":")
            r, c = cell.split(",")
            out[int(r), int(c)] = (int(dx), int(wake))
        except ValueError:
            raise ValueError(f"{level.name}: bad {SHIFTS_KEY} entry {item!r}") from None
    return out


@dataclass(frozen=True)
class WorldState:
    """A copy of the state of a batch of worlds (see ``World.clone``)."""

    P: np.ndarray
    E: np.ndarray
    D: np.ndarray


@dataclass(frozen=True)
class WorldView:
    """What a renderer needs to draw one world, in pixels; no simulation objects inside."""

    level: Level
    tiles: np.ndarray  # (rows, cols) tile codes with taken coins and used blocks applied
    player: tuple[float, float]  # top-left of the player's hitbox
    player_size: tuple[int, int]
    facing: int
    on_ground: bool
    velocity: tuple[float, float]  # pixels per frame
    enemies: tuple[tuple[float, float, int], ...]  # (x, y, direction) of living enemies
    enemy_size: tuple[int, int]
    camera: float  # x of the screen's left edge
    frames: int
    time_limit: int  # frames
    status: int
    coins: int
    stomps: int
    rightmost: float


class World:
    """N worlds advancing in lockstep; world ``i`` plays the level in bank slot ``P[i, LEVEL]``."""

    def __init__(self, bank: LevelBank, n: int):
        self.bank = bank
        self.P = np.zeros((n, P_COLS), dtype=np.int32)
        self.E = np.zeros((n, bank.e_max, E_COLS), dtype=np.int32)
        self.D = np.zeros((n, bank.d_max), dtype=np.uint8)

    @property
    def n(self) -> int:
        return self.P.shape[0]

    def _fit_bank(self) -> None:
        """Pad the enemy and dynamic-cell arrays after the bank grew."""
        if self.E.shape[1] < self.bank.e_max:
            self.E = np.pad(self.E, ((0, 0), (0, self.bank.e_max - self.E.shape[1]), (0, 0)))
        if self.D.shape[1] < self.bank.d_max:
            self.D = np.pad(self.D, ((0, 0), (0, self.bank.d_max - self.D.shape[1])))

    def reset(self, slots: np.ndarray | int = 0, mask: np.ndarray | None = None) -> None:
        """Restart worlds (all, or where ``mask``) on the given level slot(s)."""
        self._fit_bank()
        levels = np.broadcast_to(np.asarray(slots, dtype=np.int32), (self.n,))
        if mask is None:
            mask = np.ones(self.n, dtype=np.bool_)
        physics.reset(self.P, self.E, self.D, self.bank.info, self.bank.spawns, mask, levels)

    def step(self, actions: np.ndarray, frames: int = 1) -> None:
        """Hold the (N, 6) buttons for ``frames`` frames in every running world."""
        actions = np.ascontiguousarray(actions, dtype=np.uint8)
        if actions.shape != (self.n, 6):
            raise ValueError(f"actions must have shape ({self.n}, 6), got {actions.shape}")
        b = self.bank
        physics.step(self.P, self.E, self.D, b.tiles, b.dyn, b.info, actions, frames)

    def observe(self, radius: int = 6, out: np.ndarray | None = None) -> np.ndarray:
        """The (N, 2r+1, 2r+1) float32 tile grids centred on each player."""
        size = 2 * radius + 1
        if out is None:
            out = np.empty((self.n, size, size), dtype=np.float32)
        # The kernel writes whole rows at once, so it needs them contiguous.
        grid = out if out.flags.c_contiguous else np.empty(out.shape, dtype=np.float32)
        view.observe(self.P, self.E, self.bank.tiles, self.bank.info, radius, grid)
        if grid is not out:
            out[...] = grid
        return out

    # --- cloning -------------------------------------------------------------------------------
    def clone(self) -> WorldState:
        return WorldState(self.P.copy(), self.E.copy(), self.D.copy())

    def restore(self, state: WorldState) -> None:
        if state.P.shape[0] != self.n:
            raise ValueError(f"state holds {state.P.shape[0]} worlds, this batch {self.n}")
        if state.P.shape[1] > self.P.shape[1]:
            raise ValueError(f"state has {state.P.shape[1]} player columns, this world {P_COLS}")
        self._fit_bank()
        # A state saved before the real game's columns (P_MOVEDIR .. P_FALLDOWN) were added has
        # fewer: those columns start at 0, as a reset sets them, and only smb: profiles read them.
        self.P[:] = 0
        self.P[:, : state.P.shape[1]] = state.P
        self.E[:] = 0
        self.E[:, : state.E.shape[1]] = state.E
        self.D[:] = 0
        self.D[:, : state.D.shape[1]] = state.D

    def take(self, indices: np.ndarray | Sequence[int]) -> World:
        """A new batch (same level bank) holding copies of the worlds at ``indices``."""
        idx = np.asarray(indices, dtype=np.intp)
        out = World.__new__(World)
        out.bank = self.bank
        out.P, out.E, out.D = self.P[idx], self.E[idx], self.D[idx]
        return out

    # --- reading -------------------------------------------------------------------------------
    def status(self) -> np.ndarray:
        return self.P[:, P_STATUS]

    def x_px(self) -> np.ndarray:
        return self.P[:, PX] / UNIT

    def rightmost_px(self) -> np.ndarray:
        return self.P[:, P_RIGHTMOST] / UNIT

    def frames(self) -> np.ndarray:
        return self.P[:, P_FRAMES]

    def frames_since_progress(self) -> np.ndarray:
        return self.P[:, P_FRAMES] - self.P[:, P_LAST_PROGRESS]

    def flag_px(self) -> np.ndarray:
        return self.bank.info[self.P[:, P_LEVEL], LD_FLAG] * (TILE // UNIT)

    def progress(self) -> np.ndarray:
        """How far each player got, as a share of the way to the flag (1 once there): the
        rightmost reach of the player's right edge over the flag's x."""
        reach = (self.rightmost_px() + PLAYER_W // UNIT) / np.maximum(self.flag_px(), 1)
        return np.where(self.status() == COMPLETED, 1.0, np.minimum(reach, 1.0))

    # --- episode endings (the loop of agent.episodes, the envs' EpisodeBatch) ------------------
    def out_of_time(self, timeout: float, growth: float = 0.0) -> np.ndarray:
        """Running worlds whose no-progress allowance (``envs.sim.rules``) has run out."""
        late = out_of_time(self.frames(), self.frames_since_progress(), timeout, growth)
        return (self.status() == RUNNING) & late

    def time_out(self, mask: np.ndarray) -> None:
        """End the running worlds in ``mask`` (status TIMEOUT: frozen from now on)."""
        self.P[np.asarray(mask) & (self.status() == RUNNING), P_STATUS] = TIMEOUT

    def records(self) -> list[dict]:
        """Every world's episode so far: level, how it ended (``fell``: died below the map, in
        a pit), progress (0..1), frames and the rightmost x reached (px), as the episode loop of
        ``agent.episodes`` reports them."""
        status, progress, rightmost = self.status(), self.progress(), self.rightmost_px()
        slots = self.P[:, P_LEVEL]
        names = self.bank.names[slots]
        below = self.P[:, PY] > self.bank.info[slots, LD_H] * TILE
        return [
            {
                "level": str(names[i]),
                "completed": bool(status[i] == COMPLETED),
                "dead": bool(status[i] == DEAD),
                "fell": bool(status[i] == DEAD and below[i]),
                "timeout": bool(status[i] == TIMEOUT),
                "progress": float(progress[i]),
                "frames": int(self.P[i, P_FRAMES]),
                "rightmost": float(rightmost[i]),
            }
            for i in range(self.n)
        ]

    def view(self, i: int = 0) -> WorldView:
        """A drawing-ready copy of world ``i``."""
        p = self.P[i]
        slot = int(p[P_LEVEL])
        level = self.bank.levels[slot]
        vx_unit = self.bank.profiles[slot].vx_unit
        tiles = level.tiles.copy()
        dyn = self.bank.dyn[slot, : level.height, : level.width]
        used = np.zeros(tiles.shape, dtype=np.bool_)
        used[dyn >= 0] = self.D[i, dyn[dyn >= 0]] != 0
        tiles[used & (tiles == COIN)] = AIR
        tiles[used & (tiles == QUESTION)] = USED
        alive = self.E[i, : self.bank.info[slot, LD_NE]]
        alive = alive[alive[:, E_ALIVE] != 0]
        return WorldView(
            level=level,
            tiles=tiles,
            player=(p[PX] / UNIT, p[PY] / UNIT),
            player_size=(PLAYER_W // UNIT, PLAYER_H // UNIT),
            facing=int(p[P_FACING]),
            on_ground=bool(p[P_GROUND]),
            velocity=(p[PVX] / vx_unit, p[PVY] / UNIT),
            enemies=tuple((e[EX] / UNIT, e[EY] / UNIT, 1 if e[EVX] > 0 else -1) for e in alive),
            enemy_size=(ENEMY_W // UNIT, ENEMY_H // UNIT),
            camera=p[P_CAMERA] / UNIT,
            frames=int(p[P_FRAMES]),
            time_limit=int(p[P_TIME_LIMIT]),
            status=int(p[P_STATUS]),
            coins=int(p[P_COINS]),
            stomps=int(p[P_STOMPS]),
            rightmost=p[P_RIGHTMOST] / UNIT,
        )
