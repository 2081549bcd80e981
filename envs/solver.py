"""A search-based level solver: weighted A* over clones of the simulator, expanded in batches.

This is the approach of Robin Baumgarten's entry that won the 2009 Mario AI Competition: the
game is deterministic and can be cloned, so the planner searches over *real* simulator states
instead of a model of them.

Algorithm
---------
* A **node** is a full copy of one world's state (its rows of ``P``, ``E`` and ``D``) plus the
  parent pointer, the action that led to it and its cost ``g``. Nodes live in growing numpy
  buffers (``_NodeStore``); the buffers double as a ``World`` so children are gathered with
  ``World.take``.
* A **step** holds one button combo from :data:`ACTIONS` for ``frame_skip`` frames, the
  granularity at which agents act. ``g`` counts steps, so the search minimises time to the flag.
* The **heuristic** ``h`` is the number of steps needed to cover the remaining distance to the
  flag at the level's top speed (its physics profile's ``top_speed``; ``RUN_MAX`` for the
  built-in levels), which no state can beat: admissible. Nodes are
  ordered by ``f = g + weight * h`` (weighted A*, ``weight`` = 2 by default: greedy enough to
  run a long level in a straight line, see ``SolverConfig.weight``) plus a small *crowding*
  term that grows with the number of nodes already generated in the node's coarse cell, so a
  dead end the heuristic likes is not exhausted state by state before the search tries the
  way around it (``SolverConfig.crowd_penalty``). Ties go by insertion order, which makes the
  search deterministic.
* **Batching**: each iteration pops the ``beam`` best open nodes, builds one ``World`` holding
  every (node, action) child, and advances all of them with a single ``World.step`` call (one
  compiled loop), so Python overhead is paid per batch, not per child.
* **Terminals**: a COMPLETED child ends the search; DEAD and TIMEOUT children are dropped.
* **Duplicate pruning**: a child whose state key (see ``_state_keys``) was already generated
  is dropped (closed on generation; the first arrival is kept). The key buckets the player's
  position and velocity and holds ground contact, jump tier, the held A button, which enemies
  are alive, and the positions of enemies near the player. Time (``P_FRAMES``) is deliberately
  left out: with it every node would be unique and nothing would be pruned, and two arrivals
  at the same place and speed differ in time only through where the enemies are, which the
  near-enemy positions keep (so waiting for an enemy still gives new states). The level timer
  (200 s by default) is far longer than any plan. The camera is left out too: it follows the
  rightmost x, so it barely differs between states in one bucket.
* The plan is read back through parent pointers and **verified** by :func:`replay` in a fresh
  world; ``completed=True`` is reported only if the replay completes the level.

Limits: the buckets and the budget make the search incomplete. ``completed=False`` means "no
plan found within ``max_expansions``", not a proof that the level is impossible, though a
plain impossibility (a pit or a wall beyond any jump) shows up as that.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from envs.levels.level import Level
from envs.sim.constants import (
    BUTTONS,
    COMPLETED,
    E_ACTIVE,
    E_ALIVE,
    EX,
    EY,
    P_APREV,
    P_FALLDOWN,
    P_FRAMES,
    P_GROUND,
    P_LEVEL,
    P_MOVEDIR,
    P_RIGHTMOST,
    P_RUNSPEED,
    P_RUNTIMER,
    P_STATUS,
    P_TIER,
    PLAYER_W,
    PVX,
    PVY,
    PX,
    PY,
    RUNNING,
    TILE,
    UNIT,
)
from envs.sim.world import LevelBank, World


def _combo(name: str) -> list[int]:
    """Buttons row of a combo name such as ``"right+A+B"`` (``"none"`` presses nothing)."""
    pressed = {b.upper() for b in name.split("+")}
    return [1 if button in pressed else 0 for button in BUTTONS]


# The button combos the search branches over (NES order A, B, UP, DOWN, LEFT, RIGHT). UP and
# DOWN do nothing in this game. Combos with and without A are both present so a jump can be held
# for a variable number of steps (higher jump) or released (a jump starts only on a new press).
ACTION_NAMES: tuple[str, ...] = (
    "right+B", "right+A+B", "right", "right+A", "A", "none", "left", "left+A", "left+B",
    "left+A+B",
)  # fmt: skip
ACTIONS: np.ndarray = np.array([_combo(name) for name in ACTION_NAMES], dtype=np.uint8)  # (10, 6)
ACTIONS.flags.writeable = False


@dataclass(frozen=True)
class SolverConfig:
    """Search settings. The defaults solve every shipped level in a fraction of a second."""

    # Frames each search step holds one button combo (agents act at the same granularity).
    frame_skip: int = 5
    # Search budget in expanded nodes (each expansion simulates len(ACTIONS) children). When it
    # runs out, or the open list empties, the best partial path is returned.
    max_expansions: int = 50_000
    # Open nodes expanded together per batch; all their children are advanced by one World.step
    # call. Bigger batches amortise Python overhead but make the search less strictly
    # best-first (16 was the fastest on the shipped levels; 8..64 all solve them).
    beam: int = 16
    # w in f = g + w * h. w = 1 is plain A*: optimal plans, but it expands every state that
    # could still tie a top-speed run, and times out on long levels. w > 1 is greedier; a plan
    # then takes at most w times the fewest steps (on the shipped levels, within 2-7% of the
    # top-speed lower bound, which ignores the run-up from standstill).
    weight: float = 2.0
    # Added to a child's f for every node generated before it in the same coarse cell (player
    # tile, enemies alive, tiles of the near enemies). Without it, a dead end ranked well by
    # the heuristic (a pocket under a ledge, a wall that needs a climb to the left) has all of
    # its fine states expanded before the search returns to the way out; with it, crowded
    # cells sink and untried ones surface. It only reorders the search, it never prunes.
    crowd_penalty: float = 0.1
    # Duplicate pruning: a child is dropped when a node with the same key was generated before.
    # The key buckets the player position (px) ...
    pos_bucket_px: int = 2
    # ... and speeds (sub-pixel units per frame; RUN_MAX = 640, a jump starts at -1024 or
    # -1280, gravity adds 30..144 a frame), and holds ground contact, the jump tier in the air,
    # the held A button (needed to jump again) and which enemies are alive.
    vx_bucket: int = 32
    vy_bucket: int = 64
    # Enemies within this many px of the player (in x) add their position, in enemy_bucket_px
    # buckets, to the key: this is the part of time that matters, so waiting for an enemy to
    # pass gives new states. Enemies walk 2.5 px per default step, so a 2 px bucket makes
    # every wait step distinct while an enemy is near.
    enemy_range_px: int = 96
    enemy_bucket_px: int = 2

    def __post_init__(self) -> None:
        for name in ("frame_skip", "beam", "pos_bucket_px", "vx_bucket", "vy_bucket"):
            if getattr(self, name) < 1:
                raise ValueError(f"SolverConfig.{name} must be at least 1")
        if self.enemy_bucket_px < 1 or self.max_expansions < 0 or self.weight <= 0:
            raise ValueError("SolverConfig: enemy_bucket_px >= 1, max_expansions >= 0, weight > 0")


@dataclass(frozen=True)
class Solution:
    """What :func:`solve` found."""

    completed: bool
    # (steps, 6) uint8 buttons, one row per step of frame_skip frames; replaying them from the
    # level's start completes it when ``completed``, else it is the path to ``best_x``.
    actions: np.ndarray
    frames: int  # frames simulated in the replay until completion (or of the best partial path)
    expansions: int  # nodes expanded by the search
    best_x: float  # rightmost player x (px, left edge of the hitbox) reached by the best path


class _NodeStore:
    """Search nodes in growing arrays; ``world`` views the state buffers for ``World.take``."""

    def __init__(self, template: World, capacity: int = 4096):
        self.n = 0
        self.world = World.__new__(World)
        self.world.bank = template.bank
        self.world.P = np.zeros((capacity,) + template.P.shape[1:], dtype=template.P.dtype)
        self.world.E = np.zeros((capacity,) + template.E.shape[1:], dtype=template.E.dtype)
        self.world.D = np.zeros((capacity,) + template.D.shape[1:], dtype=template.D.dtype)
        self.parent = np.zeros(capacity, dtype=np.int64)
        self.action = np.zeros(capacity, dtype=np.int64)
        self.g = np.zeros(capacity, dtype=np.int64)

    def _grow(self, need: int) -> None:
        cap = self.parent.shape[0]
        if need <= cap:
            return
        new_cap = max(need, 2 * cap)
        w = self.world
        for name in ("P", "E", "D"):
            old = getattr(w, name)
            buf = np.zeros((new_cap,) + old.shape[1:], dtype=old.dtype)
            buf[: self.n] = old[: self.n]
            setattr(w, name, buf)
        for name in ("parent", "action", "g"):
            old = getattr(self, name)
            buf = np.zeros(new_cap, dtype=old.dtype)
            buf[: self.n] = old[: self.n]
            setattr(self, name, buf)

    def add(
        self,
        batch: World,
        rows: np.ndarray,
        parent: np.ndarray | int,
        action: np.ndarray | int,
        g: np.ndarray | int,
    ) -> np.ndarray:
        """Append ``batch``'s worlds at ``rows``; return the new node ids."""
        k = len(rows)
        self._grow(self.n + k)
        ids = np.arange(self.n, self.n + k)
        w = self.world
        w.P[ids], w.E[ids], w.D[ids] = batch.P[rows], batch.E[rows], batch.D[rows]
        self.parent[ids], self.action[ids], self.g[ids] = parent, action, g
        self.n += k
        return ids

    def path(self, node: int) -> np.ndarray:
        """The (steps, 6) buttons from the root to ``node``."""
        steps = []
        while self.parent[node] >= 0:
            steps.append(self.action[node])
            node = int(self.parent[node])
        return ACTIONS[np.asarray(steps[::-1], dtype=np.int64)].reshape(-1, 6).copy()


def _as_bytes(key: np.ndarray) -> list[bytes]:
    """Rows of an int32 matrix as hashable, exactly comparable byte strings."""
    key = np.ascontiguousarray(key, dtype=np.int32)
    return key.view(np.dtype((np.void, key.shape[1] * 4))).ravel().tolist()


def _state_keys(
    P: np.ndarray, E: np.ndarray, n_enemies: int, cfg: SolverConfig, vx_scale: int = 1
) -> tuple[list[bytes], list[bytes]]:
    """Keys of worlds' states: fine ones for duplicate pruning, coarse cells for crowding.
    ``vx_scale`` is the level profile's vx units per world unit (``vx_bucket`` is in world
    units); the real game's direction, running and gravity state is part of the key."""
    pos = cfg.pos_bucket_px * UNIT
    ground = P[:, P_GROUND]
    player = np.stack(
        [
            P[:, PX] // pos,
            P[:, PY] // pos,
            P[:, PVX] // (cfg.vx_bucket * vx_scale),
            P[:, PVY] // cfg.vy_bucket,
            ground,
            np.where(ground != 0, -1, P[:, P_TIER]),  # the tier only shapes the rest of a jump
            P[:, P_APREV],
            P[:, P_MOVEDIR],
            P[:, P_RUNSPEED],
            P[:, P_RUNTIMER],
            P[:, P_FALLDOWN],
        ],
        axis=1,
    )
    cell = np.stack([P[:, PX] // TILE, P[:, PY] // TILE], axis=1)
    if n_enemies:
        e = E[:, :n_enemies]
        alive = e[:, :, E_ALIVE] != 0
        near = alive & (e[:, :, E_ACTIVE] > 0)
        near &= np.abs(e[:, :, EX] - P[:, PX, None]) < cfg.enemy_range_px * UNIT
        eb = cfg.enemy_bucket_px * UNIT
        fine_e = [np.where(near, e[:, :, EX] // eb, -1), np.where(near, e[:, :, EY] // eb, -1)]
        cell_e = [np.where(near, e[:, :, EX] // TILE, -1), np.where(near, e[:, :, EY] // TILE, -1)]
        player = np.concatenate([player, alive, *fine_e], axis=1)
        cell = np.concatenate([cell, alive, *cell_e], axis=1)
    return _as_bytes(player), _as_bytes(cell)


def _heuristic(P: np.ndarray, flag_col: int, frame_skip: int, top_speed: int) -> np.ndarray:
    """Steps to reach the flag at the top speed (world units per frame) from each world: a
    lower bound on the rest."""
    # Completion needs x + PLAYER_W > flag_col * TILE.
    remaining = np.maximum(flag_col * TILE + 1 - (P[:, PX] + PLAYER_W), 0)
    return remaining / float(top_speed * frame_skip)


def _new_world(level: Level) -> World:
    world = World(LevelBank([level]), 1)
    world.reset(0)
    return world


def solve(level: Level, config: SolverConfig = SolverConfig()) -> Solution:
    """Search for button presses that complete ``level`` from its start (see module doc)."""
    return solve_from(_new_world(level), config)


def solve_from(world: World, config: SolverConfig = SolverConfig()) -> Solution:
    """The search from the current state of a one-world batch (any point of an episode: the
    expert that labels a student's states in DAgger). The plan is verified by replaying it from
    a copy of that state; ``completed`` is True only if the replay reaches the flag."""
    if world.n != 1:
        raise ValueError(f"solve_from needs a one-world batch, got {world.n}")
    return solve_many(world, config)[0]


class _Search:
    """One weighted-A* search rooted at a one-world batch (the module doc's algorithm); it
    hands out the children to simulate (``expand``) and takes them back simulated (``absorb``),
    so many searches can share one ``World.step`` call (``solve_many``)."""

    def __init__(self, root: World, cfg: SolverConfig):
        self.root, self.cfg = root, cfg
        slot = int(root.P[0, P_LEVEL])
        level, profile = root.bank.levels[slot], root.bank.profiles[slot]
        self.flag, self.n_enemies = level.flag_col, len(level.enemies)
        self.top_speed, self.vx_scale = profile.top_speed, profile.vx_unit // UNIT
        self.store = _NodeStore(root)
        self.store.add(root, np.array([0]), -1, -1, 0)
        # Sets and dicts are only probed, never iterated, so hash randomisation cannot change
        # the search: the order is fixed by (f, insertion counter).
        self.seen = set(_state_keys(root.P, root.E, self.n_enemies, cfg, self.vx_scale)[0])
        self.cells: dict[bytes, int] = {}
        self.counter = 0
        self.open: list[tuple[float, int, int]] = [(0.0, 0, 0)]
        self.best_node, self.best_right = 0, int(root.P[0, P_RIGHTMOST])
        self.expansions = 0
        self.result: Solution | None = None
        if root.P[0, P_STATUS] != RUNNING:  # nothing to search from a finished episode
            self.open = []

    def expand(self) -> np.ndarray | None:
        """The node of each child of the next ``beam`` best open nodes (None: search over)."""
        cfg = self.cfg
        if self.result is not None or not self.open or self.expansions >= cfg.max_expansions:
            return None
        k = min(cfg.beam, cfg.max_expansions - self.expansions, len(self.open))
        parents = np.array([heapq.heappop(self.open)[2] for _ in range(k)], dtype=np.int64)
        self.expansions += k
        return np.repeat(parents, len(ACTIONS))

    def absorb(self, batch: World, src: np.ndarray) -> None:
        """Take back the children of ``expand`` (``batch``: the stepped worlds of ``src``)."""
        cfg, store, n_act = self.cfg, self.store, len(ACTIONS)
        status = batch.P[:, P_STATUS]
        done = np.flatnonzero(status == COMPLETED)
        if done.size:
            # Several children may finish in this batch: keep the earliest finish in frames,
            # ties by batch order.
            j = int(done[np.argmin(batch.P[done, P_FRAMES])])
            node = int(store.add(batch, np.array([j]), src[j], j % n_act, store.g[src[j]] + 1)[0])
            actions = store.path(node)
            st, frames, x = _replay_from(self.root, actions, cfg.frame_skip)
            self.result = Solution(st == COMPLETED, actions, frames, self.expansions, x)
            return
        running = np.flatnonzero(status == RUNNING)
        keys, cell_keys = _state_keys(
            batch.P[running], batch.E[running], self.n_enemies, cfg, self.vx_scale
        )
        fresh, crowd = [], []
        for j, key, cell in zip(running.tolist(), keys, cell_keys, strict=True):
            if key in self.seen:
                continue
            self.seen.add(key)
            count = self.cells.get(cell, 0)
            self.cells[cell] = count + 1
            fresh.append(j)
            crowd.append(count)
        if not fresh:
            return
        rows = np.asarray(fresh, dtype=np.int64)
        par = src[rows]
        g = store.g[par] + 1
        ids = store.add(batch, rows, par, rows % n_act, g)
        f = g + cfg.weight * _heuristic(batch.P[rows], self.flag, cfg.frame_skip, self.top_speed)
        f = f + cfg.crowd_penalty * np.asarray(crowd, dtype=np.float64)
        for node, fv in zip(ids.tolist(), f.tolist(), strict=True):
            self.counter += 1
            heapq.heappush(self.open, (fv, self.counter, node))
        right = batch.P[rows, P_RIGHTMOST]
        i = int(np.argmax(right))
        if right[i] > self.best_right:
            self.best_node, self.best_right = int(ids[i]), int(right[i])

    def solution(self) -> Solution:
        if self.result is None:  # the budget ran out or the open list emptied: the best path
            node = self.best_node
            frames = int(self.store.world.P[node, P_FRAMES])
            actions = self.store.path(node)
            self.result = Solution(False, actions, frames, self.expansions, self.best_right / UNIT)
        return self.result


def solve_many(world: World, config: SolverConfig = SolverConfig()) -> list[Solution]:
    """``solve_from`` from every world of the batch at once: one search per world, run in
    lockstep so that each round's children of *all* searches are advanced by one ``World.step``
    call (the Python work stays per search). Each search is exactly ``solve_from``'s alone:
    the worlds of a batch never interact, and every search keeps its own budget and order.
    Not faster than one search after another (0.6x measured, ``benchmarks/bench_expert.py``):
    a search is bound by its per-node Python work, not by ``World.step``."""
    searches = [_Search(world.take([i]), config) for i in range(world.n)]
    n_act = len(ACTIONS)
    while True:
        work = [(s, src) for s in searches if (src := s.expand()) is not None]
        if not work:
            break
        parts = [s.store.world.take(src) for s, src in work]
        batch = World.__new__(World)
        batch.bank = world.bank
        batch.P = np.concatenate([w.P for w in parts])
        batch.E = np.concatenate([w.E for w in parts])
        batch.D = np.concatenate([w.D for w in parts])
        batch.step(np.tile(ACTIONS, (batch.n // n_act, 1)), config.frame_skip)
        start = 0
        for s, src in work:
            sub = batch.take(np.arange(start, start + len(src)))
            s.absorb(sub, src)
            start += len(src)
    return [s.solution() for s in searches]


def replay(level: Level, actions: np.ndarray, frame_skip: int = 5) -> tuple[int, int, float]:
    """Play ``actions`` (one row per ``frame_skip`` frames) from the level's start.

    Returns ``(status, frames, x_px)`` where the world stopped: the status code, the frames
    simulated, and the player's x in px. Stops early once the world is no longer running.
    """
    return _replay_from(_new_world(level), actions, frame_skip)


def _replay_from(root: World, actions: np.ndarray, frame_skip: int) -> tuple[int, int, float]:
    """``replay`` from a copy of a one-world batch's state instead of the level's start."""
    world = root.take([0])
    acts = np.ascontiguousarray(np.asarray(actions, dtype=np.uint8).reshape(-1, 6))
    for t in range(acts.shape[0]):
        if world.P[0, P_STATUS] != RUNNING:
            break
        world.step(acts[t : t + 1], frame_skip)
    return int(world.P[0, P_STATUS]), int(world.P[0, P_FRAMES]), float(world.P[0, PX] / UNIT)


class SolverAgent:
    """An expert that plays the solver's plan step by step, ignoring what it observes.

    ``SolverAgent(levels, config)`` solves each level once, lazily, and caches the plan. After
    ``reset(n, slots)``, world ``i`` follows the plan of ``levels[slots[i]]`` (by default
    ``slots[i] = i % len(levels)``); each ``act`` call returns the next row of every world's plan
    (to be held for ``frame_skip`` frames) and nothing pressed once a plan has run out.
    """

    def __init__(self, levels: Level | Sequence[Level], config: SolverConfig = SolverConfig()):
        self.levels: list[Level] = [levels] if isinstance(levels, Level) else list(levels)
        if not self.levels:
            raise ValueError("SolverAgent needs at least one level")
        self.config = config
        self.frame_skip = config.frame_skip
        self._plans: dict[int, Solution] = {}
        self._slots = np.zeros(0, dtype=np.int64)
        self._t = np.zeros(0, dtype=np.int64)

    def solution(self, slot: int = 0) -> Solution:
        """The (cached) solver result for ``levels[slot]``."""
        if slot not in self._plans:
            self._plans[slot] = solve(self.levels[slot], self.config)
        return self._plans[slot]

    def reset(self, n: int, slots: np.ndarray | Sequence[int] | int | None = None) -> None:
        """Start ``n`` worlds at the first step of their level's plan."""
        if slots is None:
            slots = np.arange(n) % len(self.levels)
        self._slots = np.broadcast_to(np.asarray(slots, dtype=np.int64), (n,)).copy()
        self._t = np.zeros(n, dtype=np.int64)

    def act(self, observations: object = None) -> np.ndarray:
        """The (n, 6) uint8 buttons of each world's plan at its current step; then advance."""
        out = np.zeros((self._slots.shape[0], 6), dtype=np.uint8)
        for i, (slot, t) in enumerate(zip(self._slots.tolist(), self._t.tolist(), strict=True)):
            plan = self.solution(slot).actions
            if t < plan.shape[0]:
                out[i] = plan[t]
        self._t += 1
        return out
