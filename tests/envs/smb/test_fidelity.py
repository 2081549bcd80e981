"""The fast world against the emulator: scripted button sequences from the start of 1-1 (open
ground, walls, blocks, a goomba) move Mario through the same pixels, frame for frame, in
``smb:1-1`` (the SMB physics profile) and in the real game; and along a recorded run the
sim's MarI/O grid, with its player and enemies put where the game has them, equals the grid
MarI/O reads from the game's RAM. Needs the ``nes`` extra (skipped with the reason otherwise);
the level is made once into a temporary cache (about 5 s).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from envs.levels.level import load_level
from envs.sim.world import LevelBank, World
from envs.smb import fidelity
from envs.smb.console import NES_EXTRA_HINT, Console
from envs.smb.levels import CACHE_ENV
from envs.smb.ram import is_dying, joypad_byte
from envs.solver import solve

# Per-frame tolerance on |x| and |y| (whole pixels; both worlds act on the pad a frame late): 0
# for every sequence (walls, a head bump, a goomba's side and a stomp included).
TOLERANCE_PX = {name: 0 for name in fidelity.SEQUENCES}
# Frames the sim's run may outlast the game's: the goomba that ends the head bump sequence (it
# walks 1-2 px apart in the two worlds, sub-pixels) kills Mario one frame later in the sim.
LATE_DEATH = {name: 0 for name in fidelity.SEQUENCES} | {"head bump": 1}


@pytest.fixture(scope="module")
def game(tmp_path_factory):
    pytest.importorskip("nes_py", reason=NES_EXTRA_HINT)
    pytest.importorskip("gym_super_mario_bros", reason="the nes extra brings the ROM")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(CACHE_ENV, str(tmp_path_factory.mktemp("smb-cache")))
        level = load_level("smb:1-1")
    console = Console(1, 1)
    yield level, console
    console.close()


@pytest.mark.parametrize("name", list(fidelity.SEQUENCES))
def test_scripted_sequence_matches_the_emulator_frame_for_frame(game, name):
    """Mario's x and y (level pixels) agree with the emulator's within the sequence's
    TOLERANCE_PX on every frame, and both runs last the same number of frames (a death by a
    goomba on the same frame; LATE_DEATH frames later in the sim at most)."""
    level, console = game
    buttons = fidelity.SEQUENCES[name]
    real = fidelity.emulator_trajectory(console, buttons)
    sim = fidelity.sim_trajectory(level, buttons)
    assert 0 <= len(sim.x) - len(real.x) <= LATE_DEATH[name]
    dx, dy = fidelity.errors(real, sim)
    tol = TOLERANCE_PX[name]
    assert dx.max() <= tol, f"x off by {dx.max()} px at frame {int(dx.argmax())}"
    assert dy.max() <= tol, f"y off by {dy.max()} px at frame {int(dy.argmax())}"
    assert np.ptp(real.x) > 0 or np.ptp(real.y) > 0  # the sequence does move Mario


def test_the_default_physics_does_not_match(game):
    """The check can fail: the same level under the lab's physics (renamed so it gets the
    DEFAULT profile) is pixels off the game on the plain walk within a second."""
    level, console = game
    buttons = fidelity.SEQUENCES["walk"][:60]
    real = fidelity.emulator_trajectory(console, buttons)
    lab = fidelity.sim_trajectory(dataclasses.replace(level, name="lab-1-1"), buttons)
    dx, _ = fidelity.errors(real, lab)
    assert dx.max() > 4


def _grids_along_the_solver_run(level, console, view_level):
    """Play the solver's plan for ``level`` (made in the fast world) in the emulator until
    Mario dies or the plan ends; per frame, the game's grid, the sim's at the game's positions
    on ``view_level`` and the comparable cells."""
    plan = np.repeat(solve(level).actions, 5, axis=0)
    world = World(LevelBank([view_level]), 1)
    world.reset()
    console.restart()
    out = []
    for row in plan:
        console.frame(joypad_byte(row))
        if is_dying(console.ram):
            break
        out.append(fidelity.view_pair(world, console.ram))
    return out


def test_the_sim_grid_equals_marios_grid_along_a_recorded_run(game):
    """Along the solver's run in the game (hundreds of frames: scrolling, jumps, pipes and
    goombas in view), every comparable cell of the sim's grid equals the game's (MarI/O's
    geometry: centred one tile above small Mario; enemies within 8 px of a cell), and most cells
    are comparable."""
    level, console = game
    frames = _grids_along_the_solver_run(level, console, level)
    assert len(frames) > 300
    cells = sum(int(ok.sum()) for _, _, ok in frames)
    assert cells > 0.8 * len(frames) * 169
    enemy_cells = sum(int((real == -1).sum()) for real, _, _ in frames)
    assert enemy_cells > 100
    bad = [(t, int(((real != sim) & ok).sum())) for t, (real, sim, ok) in enumerate(frames)]
    bad = [b for b in bad if b[1]]
    assert not bad, f"grids differ on {len(bad)} frames, first (frame, cells): {bad[:3]}"


def test_the_lab_grid_is_not_marios(game):
    """The check can fail: the lab's grid (centred on the player, one cell per enemy) at the
    same places differs from MarI/O's on most frames."""
    level, console = game
    lab = dataclasses.replace(level, name="lab-1-1")
    frames = _grids_along_the_solver_run(level, console, lab)[:200]
    differ = sum(bool(((real != sim) & ok).any()) for real, sim, ok in frames)
    assert differ > 0.5 * len(frames)
