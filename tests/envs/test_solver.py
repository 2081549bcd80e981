"""Tests of the search-based solver (``envs.solver``): it completes levels, deterministically,
gives up on impossible ones, and its plans replay to completion in a fresh world."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from envs.levels.level import Level, builtin_names, load_level, parse_level
from envs.sim.constants import BTN_RIGHT, COMPLETED, DEAD, PLAYER_W, RUNNING, TILE_PX, UNIT
from envs.sim.world import LevelBank, World
from envs.solver import ACTIONS, Solution, SolverAgent, SolverConfig, replay, solve

FRAME_SKIP = SolverConfig().frame_skip

# A pit 3 tiles wide, a wall 3 tiles high that needs a jump, and an enemy walking toward the
# player on the stretch before the flag.
SMALL = """\
; name: small
........................................
........................................
........................................
........................................
........................................
........................................
.....................................F..
.....................................F..
.....................#...............F..
.....................#...............F..
.S...................#.........E.....F..
XXXXXXXXXX...XXXXXXXXXXXXXXXXXXXXXXXXXXX
XXXXXXXXXX...XXXXXXXXXXXXXXXXXXXXXXXXXXX
"""

# A pit 12 tiles wide: longer than any jump (about 8.5 tiles at top speed).
WIDE_PIT = """\
; name: wide-pit
........................................
........................................
........................................
........................................
........................................
.....................................F..
.....................................F..
.S...................................F..
XXXXXXXXXX............XXXXXXXXXXXXXXXXXX
XXXXXXXXXX............XXXXXXXXXXXXXXXXXX
"""

# A wall 8 tiles high: a jump rises at most about 5 tiles.
HIGH_WALL = """\
; name: high-wall
........................................
........................................
........................................
....................#...................
....................#...................
....................#...................
....................#...................
....................#...................
....................#................F..
....................#................F..
.S..................#................F..
XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX
XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX
"""

# Flat ground: the second level of the multi-level agent test.
FLAT = """\
; name: flat
........................
........................
........................
........................
........................
...................F....
...................F....
.S.................F....
XXXXXXXXXXXXXXXXXXXXXXXX
XXXXXXXXXXXXXXXXXXXXXXXX
"""


def _play(level: Level, actions: np.ndarray) -> World:
    """Step a fresh single World through ``actions`` by hand (independent of ``replay``)."""
    world = World(LevelBank([level]), 1)
    world.reset(0)
    for row in actions:
        if world.status()[0] != RUNNING:
            break
        world.step(row[None], FRAME_SKIP)
    return world


@pytest.fixture(scope="module")
def small_solution() -> Solution:
    return solve(parse_level(SMALL))


def test_small_level_completed_and_replays(small_solution: Solution) -> None:
    """The solver completes a level with a pit, a jump-height wall and an enemy; replaying its
    actions in a fresh World from reset ends COMPLETED after exactly the reported frames, and
    the plan uses only the solver's action set."""
    level = parse_level(SMALL)
    sol = small_solution
    assert sol.completed
    assert sol.actions.dtype == np.uint8 and sol.actions.ndim == 2 and sol.actions.shape[1] == 6
    assert 0 < len(sol.actions) <= 200
    assert 0 < sol.expansions <= SolverConfig().max_expansions
    assert replay(level, sol.actions, FRAME_SKIP) == (COMPLETED, sol.frames, sol.best_x)
    world = _play(level, sol.actions)
    assert world.status()[0] == COMPLETED
    assert world.frames()[0] == sol.frames
    assert sol.best_x + PLAYER_W / UNIT > level.flag_col * TILE_PX  # hitbox in the flag column
    assert {tuple(r) for r in sol.actions.tolist()} <= {tuple(r) for r in ACTIONS.tolist()}


def test_plan_has_no_tail(small_solution: Solution) -> None:
    """The plan ends on the step that completes the level: without it the world still runs."""
    status, _, _ = replay(parse_level(SMALL), small_solution.actions[:-1])
    assert status == RUNNING


def test_deterministic() -> None:
    """Two solves of the same level with the same config give identical results."""
    level = parse_level(SMALL)
    a, b = solve(level), solve(level)
    assert np.array_equal(a.actions, b.actions)
    assert (a.completed, a.frames, a.expansions, a.best_x) == (
        b.completed,
        b.frames,
        b.expansions,
        b.best_x,
    )


@pytest.mark.slow
def test_deterministic_across_processes(small_solution: Solution) -> None:
    """The plan does not depend on the process (Python's hash seed), so a generator that
    re-checks a level elsewhere gets the same verdict and plan."""
    code = (
        "import sys; from envs.levels.level import parse_level; from envs.solver import solve; "
        "print(solve(parse_level(sys.stdin.read())).actions.tobytes().hex())"
    )
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONHASHSEED="12345", PYTHONPATH=str(root))
    out = subprocess.run(
        [sys.executable, "-c", code], input=SMALL, capture_output=True, text=True, env=env,
        cwd=root, check=True, timeout=120,
    )  # fmt: skip
    assert out.stdout.strip() == small_solution.actions.tobytes().hex()


@pytest.mark.slow
@pytest.mark.parametrize("text", [WIDE_PIT, HIGH_WALL], ids=["wide-pit", "high-wall"])
def test_impossible_level_gives_up(text: str) -> None:
    """An impossible level returns completed=False within the default budget, with best_x well
    short of the flag; the partial plan replays, without completing, to exactly best_x (the
    rightmost x) after the reported frames."""
    level = parse_level(text)
    sol = solve(level)
    assert not sol.completed
    assert sol.expansions <= SolverConfig().max_expansions
    assert sol.best_x < (level.flag_col - 8) * TILE_PX
    world = _play(level, sol.actions)
    assert world.status()[0] != COMPLETED
    assert world.frames()[0] == sol.frames
    assert world.rightmost_px()[0] == sol.best_x


def test_budget_is_respected() -> None:
    """max_expansions bounds the search even on a solvable level: a tiny budget gives up."""
    sol = solve(parse_level(SMALL), SolverConfig(max_expansions=20))
    assert not sol.completed
    assert sol.expansions <= 20


def test_replay_reports_death() -> None:
    """Replaying a plan that runs into the wide pit ends DEAD and stops simulating there."""
    right = np.zeros((200, 6), dtype=np.uint8)
    right[:, BTN_RIGHT] = 1
    status, frames, _ = replay(parse_level(WIDE_PIT), right)
    assert status == DEAD
    assert frames < 200 * FRAME_SKIP


def test_solver_agent_plays_plan(small_solution: Solution) -> None:
    """SolverAgent returns the plan row by row for every world and presses nothing once it runs
    out; its buttons complete the level in every world of a batch."""
    level = parse_level(SMALL)
    agent = SolverAgent(level)
    n = 3
    agent.reset(n)
    world = World(LevelBank([level]), n)
    world.reset(0)
    for t in range(len(small_solution.actions)):
        buttons = agent.act(None)
        assert buttons.shape == (n, 6) and buttons.dtype == np.uint8
        assert np.array_equal(buttons, np.repeat(small_solution.actions[t][None], n, axis=0))
        world.step(buttons, agent.frame_skip)
    assert (world.status() == COMPLETED).all()
    assert not agent.act(None).any()


def test_solver_agent_several_levels() -> None:
    """With several levels, world i follows the plan of levels[slots[i]] (default i % levels),
    and reset restarts the plans."""
    levels = [parse_level(SMALL), parse_level(FLAT)]
    agent = SolverAgent(levels)
    world = World(LevelBank(levels), 4)
    for _ in range(2):  # the second round checks that reset starts the plans over
        agent.reset(4)
        world.reset(np.arange(4) % 2)
        for _ in range(max(len(agent.solution(s).actions) for s in (0, 1))):
            world.step(agent.act(None), agent.frame_skip)
        assert (world.status() == COMPLETED).all()
    agent.reset(2, slots=[1, 1])
    assert np.array_equal(agent.act(None), np.repeat(agent.solution(1).actions[:1], 2, axis=0))


_BUILTIN = builtin_names()


@pytest.mark.parametrize("name", _BUILTIN)
def test_builtin_level_completed(name: str) -> None:
    """Every shipped level is completed by the default solver, and the plan replays to the
    flag in a fresh World."""
    level = load_level(name)
    sol = solve(level)
    assert sol.completed, f"{name}: best x {sol.best_x:.0f} px of {level.flag_col * TILE_PX}"
    world = _play(level, sol.actions)
    assert world.status()[0] == COMPLETED and world.frames()[0] == sol.frames


def test_solve_many_equals_one_search_per_world() -> None:
    """``solve_many`` over a batch of worlds (two levels, states reached by random buttons, one
    walking left, one whose episode is over) returns for each world exactly what
    ``solve_from`` finds from it alone: the same plan, outcome, frames, expansions and best x,
    within the budget."""
    from envs.sim.constants import P_STATUS
    from envs.solver import solve_from, solve_many

    levels = [parse_level(SMALL), load_level("1-1")]
    world = World(LevelBank(levels), 6)
    world.reset(np.array([0, 1, 0, 1, 0, 1]))
    rng = np.random.default_rng(3)
    for _ in range(12):
        acts = rng.integers(0, 2, (6, 6)).astype(np.uint8)
        acts[:, BTN_RIGHT] = 1
        acts[4] = 0
        acts[4, 4] = 1  # world 4 walks left (LEFT), towards the start wall
        world.step(acts, FRAME_SKIP)
    world.P[5, P_STATUS] = DEAD  # nothing to search from a finished episode
    cfg = SolverConfig(max_expansions=3000)
    many = solve_many(world, cfg)
    for i, got in enumerate(many):
        alone = solve_from(world.take([i]), cfg)
        assert got.completed == alone.completed, i
        assert np.array_equal(got.actions, alone.actions), i
        assert (got.frames, got.expansions, got.best_x) == (
            alone.frames,
            alone.expansions,
            alone.best_x,
        ), i
    assert any(s.completed for s in many)
