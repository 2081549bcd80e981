"""Memory levels: a cue at the start says which of two routes is safe, D tiles before the fork.

The family measures *sequential memory* (the recurrent-network material of this project): an
agent must see the cue, carry one bit over a stretch of identical corridor, and use it at the
fork. Layout (14 rows; ``u`` = 7 is the corridor's floor row, the player walks on row 6)::

    cue  sync  corridor (D tiles in all)               hole  upper route   gate  drop  flag
    ###  ####  (or ^^^ : the cue, row 0)                     ..............####
    S    ....  .................................................................  (row 6)
    XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX..XXXXXXXXXXXXXXXXXXXX
    XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX..XXXXXXXXXXXXXXXXXXXX
    XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX..........lower.......   (tunnel, row 11)
    XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX ...

* **Cue** (columns ``c0 .. c0+2``, row 0, out of reach): hard blocks in variant 0 ("take the
  upper route"), spikes in variant 1 ("the upper route is spiked; take the tunnel"). It is in
  the 13 x 13 view only while the player is within 6 columns of it.
* **Corridor**: the cue leaves the 13-column view when the player's centre is 7 columns past
  its last column; from there ``distance`` = D columns (4 to 512) lead to the fork's hole, so
  the take-off for the hole (1 to 3 columns before it) is always made with the cue out of
  view. Right after the cue, still within its view, a 4-column *sync slot*, 1 tile high under
  a wall reaching the top row, brings every player to the ground whatever it did while it saw
  the cue, so the cue cannot be carried across in a jump's phase. ``corridor="bumpy"`` (the
  default): the seed adds bumps (1 tile high) and short pits after the slot, the same in both
  variants, so reaching the fork takes some navigation. ``corridor="plain"``: the corridor is
  flat, holding RIGHT+B reaches the fork, and the only hard decision of the level is the fork
  (jump the hole or run into it). Plain layouts differ only in the cue's column, drawn from 16
  columns (3 for bumpy), so that held-out layouts differ from training ones in the player's
  sub-tile phase at the fork (a running player covers 12.5 pixels a step, so whole-tile shifts
  give 16 different phases); see the caveat below for why that matters.
* **Fork** (the commitment point): a 2-wide hole. Jumping over it keeps the player on the upper
  route; walking into it drops 5 tiles into a 1-tile-high tunnel, the lower route. The shaft
  is deeper than any jump (a running jump rises 4.8 tiles), so the drop cannot be undone.
* **Gate**, ``POST_FORK`` (16) columns past the hole: both routes pass a 3-column, 1-tile-high
  slot (a wall rises to the top row above the upper one), and spikes fill the slot of the
  wrong route, so the wrong route is an unavoidable death. When the spikes come into view
  (6 columns before the gate) the camera, which never scrolls back, already keeps the player
  more than 2 columns right of the hole, so the routes cannot be switched then.
* After the gate the upper route ends and both drop to the flag's ground.

Everything outside the cue and the gate is identical in the two variants of a pair, so from
the moment the cue leaves the view until the gate comes into view, the same actions give the
same observations in both (``tests/envs/test_memory.py`` checks this, the solver's completion
of both variants, the impossibility of the wrong route, and that memoryless policies finish at
most one variant of each pair). One caveat, stated for honesty: the bound is exact for
memoryless policies that act alike while the cue is in view. One that reacts to the cue (say,
jumps in one variant and runs in the other) leaves the sync slot a few pixels or a little speed
apart, and that can flip a later choice, by chance rather than by design: the tests find random
lookup-table policies at or below 50% and rarely finishing both levels of a pair. Evolution
can find such a policy: a feed-forward NEAT network that released B for one step when it saw
the spikes ran 3 pixels behind for the rest of the level and finished both levels of a pair
(docs/results.md). The phase a take-off depends on is specific to a layout, hence the varied
cue column of the plain corridor.

Levels are cached and immutable, as the generator's are.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy as np

from envs.levels.level import Level, time_seconds_for
from envs.sim.constants import (
    AIR,
    COMPLETED,
    FLAG,
    GROUND,
    HARD,
    P_STATUS,
    P_TIME_LIMIT,
    PLAYER_H,
    PLAYER_W,
    PX,
    PY,
    RUNNING,
    SPIKES,
    TILE,
    TIMEOUT,
)
from envs.sim.world import LevelBank, World

ROWS = 14
FLOOR = 7  # the corridor's floor row (solid from here down); the player walks on row 6
TUNNEL = 11  # the lower route's player row (floor 12..13, ceiling = the upper floor 7..10)
START_COL = 2
CUE_WIDTH = 3
CUE_ROW = 0  # out of reach: a running jump from the corridor rises to row 1.2
HOLE_WIDTH = 2
POST_FORK = 16  # columns from the hole's right edge to the gate (see the module doc)
GATE_WIDTH = 3
DROP_RUN = 4  # columns from the gate's end to the flag
FLAG_TAIL = 3
SYNC_WIDTH = 4  # a 1-tile-high slot right after the cue (see the module doc)
MIN_DISTANCE = 4  # the take-off for the hole (1-3 columns before it) happens out of the cue's view
MAX_DISTANCE = 512
VIEW_RADIUS = 6  # the observation radius the design is checked against

UPPER, LOWER = 0, 1  # variant = which route is safe
CORRIDORS = ("bumpy", "plain")  # seeded bumps and pits before the fork, or a flat corridor
PLAIN_CUE_SPAN = 16  # plain corridor: the cue's column is drawn from 16 (bumpy: 3) columns


def _validate(distance: int, variant: int, seed: int, corridor: str = "bumpy") -> None:
    if isinstance(distance, bool) or not isinstance(distance, int | np.integer):
        raise ValueError(f"distance must be an integer number of tiles, got {distance!r}")
    if not MIN_DISTANCE <= distance <= MAX_DISTANCE:
        raise ValueError(
            f"distance must be within {MIN_DISTANCE}..{MAX_DISTANCE} tiles, got {distance}"
        )
    if variant not in (0, 1) or isinstance(variant, bool):
        raise ValueError(f"variant must be 0 (upper route safe) or 1 (lower route safe), got "
                         f"{variant!r}")  # fmt: skip
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if corridor not in CORRIDORS:
        raise ValueError(f"corridor must be one of {', '.join(CORRIDORS)}, got {corridor!r}")


def memory_level(
    distance: int, variant: int, seed: int = 0, *, verify: bool = True, corridor: str = "bumpy"
) -> Level:
    """The memory level with ``distance`` corridor tiles between cue and fork.

    ``variant`` 0: the upper route is safe (cue: blocks); 1: the lower route (cue: spikes).
    ``seed`` draws the cue's column and (``corridor="bumpy"``) the corridor's bumps and pits,
    the same for both variants; ``corridor="plain"`` keeps the corridor flat (module doc).
    With ``verify`` the solver has completed the level. Name:
    ``mem-d{distance}-s{seed}-v{variant}`` (``-plain`` appended for the plain corridor);
    ``meta`` records distance, variant, seed, corridor, the columns ``cue`` (first), ``fork``
    (the hole) and ``gate``, and ``time``. Raises ``ValueError`` naming a bad argument.
    """
    _validate(distance, variant, seed, corridor)
    return _memory_level(int(distance), int(variant), int(seed), bool(verify), corridor)


def memory_pairs(
    distance: int, pairs: int, seed: int = 0, *, verify: bool = True, corridor: str = "bumpy"
) -> list[Level]:
    """``pairs`` seeded pairs of memory levels (both variants of each), 2 * pairs levels.

    Pair k uses the layout seed ``SeedSequence([seed, distance, k])``; the list alternates
    variant 0 and 1 of the same layout. ``corridor`` as for ``memory_level``.
    """
    if isinstance(pairs, bool) or not isinstance(pairs, int) or pairs < 1:
        raise ValueError(f"pairs must be a positive integer, got {pairs!r}")
    _validate(distance, 0, seed, corridor)
    out = []
    for k in range(pairs):
        s = int(np.random.SeedSequence([seed, distance, k]).generate_state(1)[0] >> 1)
        out += [memory_level(distance, v, s, verify=verify, corridor=corridor) for v in (0, 1)]
    return out


def _decorate(tiles: np.ndarray, rng: np.random.Generator, lo: int, hi: int) -> None:
    """Bumps (1 tile high, 1-2 wide) and pits (1-2 wide) on the corridor's columns [lo, hi)."""
    x = lo + int(rng.integers(1, 5))
    while True:
        kind = int(rng.integers(3))  # 0: nothing, 1: bump, 2: pit
        w = int(rng.integers(1, 3))
        if x + w > hi:
            return
        if kind == 1:
            tiles[FLOOR - 1, x : x + w] = HARD
        elif kind == 2:
            tiles[FLOOR:, x : x + w] = AIR
        x += w + int(rng.integers(3, 8))  # flat room to land and take a run-up


@functools.lru_cache(maxsize=1024)  # keyed on every argument, the corridor included
def _memory_level(distance: int, variant: int, seed: int, verify: bool, corridor: str) -> Level:

    rng = np.random.default_rng(seed)
    cue = START_COL + 2 + int(rng.integers(0, 3 if corridor == "bumpy" else PLAIN_CUE_SPAN))
    hole = cue + CUE_WIDTH + VIEW_RADIUS + distance  # the cue leaves the view D columns before
    gate = hole + HOLE_WIDTH + POST_FORK
    flag = gate + GATE_WIDTH + DROP_RUN
    width = flag + 1 + FLAG_TAIL

    t = np.full((ROWS, width), AIR, dtype=np.uint8)
    t[FLOOR:, :hole] = GROUND  # start and corridor
    t[TUNNEL + 1 :, hole:] = GROUND  # the shaft's bottom, the tunnel's floor, the flag's ground
    t[FLOOR:TUNNEL, hole + HOLE_WIDTH : gate + GATE_WIDTH] = GROUND  # upper route / tunnel roof
    t[: FLOOR - 1, gate : gate + GATE_WIDTH] = HARD  # the wall above the upper slot
    sync = cue + CUE_WIDTH
    t[: FLOOR - 1, sync : sync + SYNC_WIDTH] = HARD  # the sync slot: no jump passes through it
    if corridor == "bumpy":
        _decorate(t, rng, sync + SYNC_WIDTH, hole - 3)  # keep a flat run-up to the hole
    t[CUE_ROW, cue : cue + CUE_WIDTH] = HARD if variant == UPPER else SPIKES
    wrong_row = TUNNEL if variant == UPPER else FLOOR - 1
    t[wrong_row, gate : gate + GATE_WIDTH] = SPIKES
    t[1 : TUNNEL + 1, flag] = FLAG

    name = f"mem-d{distance}-s{seed}-v{variant}" + ("-plain" if corridor == "plain" else "")
    meta = {
        "name": name,
        "kind": "memory",
        "distance": str(distance),
        "variant": str(variant),
        "seed": str(seed),
        "corridor": corridor,
        "cue": str(cue),
        "fork": str(hole),
        "gate": str(gate),
        "time": str(time_seconds_for(width)),
    }
    level = Level(name, t, (FLOOR - 1, START_COL), (), meta, "<memory>")
    if verify:
        from envs.solver import solve

        if not solve(level).completed:  # the design guarantees a path; this proves it
            raise RuntimeError(f"{name}: the solver could not complete the safe route")
        level.meta["verified"] = "solver"
    level.tiles.flags.writeable = False
    return level


def play_policy(
    policy: Callable[[np.ndarray], np.ndarray],
    levels: Sequence[Level],
    *,
    frame_skip: int = 5,
    view_radius: int = VIEW_RADIUS,
    no_progress_frames: int = 300,
    max_steps: int | None = None,
    on_step: Callable[[World], None] | None = None,
) -> np.ndarray:
    """Play one episode per level with ``policy`` ((n, 2r+1, 2r+1) grids -> (n, 6) buttons,
    each held ``frame_skip`` frames); returns a bool array: which levels were completed.

    An episode ends at the flag, a death, the level's time limit, or ``no_progress_frames``
    frames without new rightmost progress. ``policy`` is called with every world's grid each
    step (finished worlds included: a batched agent keeps its rows aligned); ``on_step(world)``,
    if given, sees the worlds after every step.
    """
    world = World(LevelBank(list(levels)), len(levels))
    world.reset(np.arange(len(levels)))
    limit = max_steps or int(world.P[:, P_TIME_LIMIT].max()) // frame_skip + 1
    for _ in range(limit):
        running = world.status() == RUNNING
        if not running.any():
            break
        actions = np.asarray(policy(world.observe(view_radius)), dtype=np.uint8)
        world.step(actions, frame_skip)
        stalled = running & (world.status() == RUNNING)
        stalled &= world.frames_since_progress() >= no_progress_frames
        world.P[stalled, P_STATUS] = TIMEOUT
        if on_step is not None:
            on_step(world)
    return world.status() == COMPLETED


def route_taken(world: World, levels: Sequence[Level]) -> np.ndarray:
    """Per world: 0 if the player is past the fork on the upper route, 1 on the lower route,
    -1 if it is not past the fork (its centre left of the hole's right edge)."""
    fork = np.array([int(lv.meta["fork"]) for lv in levels])
    col = (world.P[:, PX] + PLAYER_W // 2) // TILE
    row = (world.P[:, PY] + PLAYER_H // 2) // TILE
    return np.where(col >= fork + HOLE_WIDTH, np.where(row < FLOOR, UPPER, LOWER), -1)
