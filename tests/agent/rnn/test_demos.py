"""Demonstration files: the format round-trips, bad files are refused clearly, recorders work."""

from __future__ import annotations

import json

import numpy as np
import pytest

from agent.rnn.demos import (
    DemoError,
    DemoRecorder,
    Demos,
    load_demos,
    record_agent_demos,
    record_solver_demos,
    save_demos,
)
from envs.solver import SolverAgent
from tests.helpers.rnn import flat_level


@pytest.fixture(scope="module")
def level():
    return flat_level()


def _demos(n_episodes: int = 2, steps: int = 5) -> Demos:
    rng = np.random.default_rng(0)
    eps = [
        (f"lvl{i}", rng.integers(-1, 2, (steps + i, 5, 5)), rng.integers(0, 2, (steps + i, 6)))
        for i in range(n_episodes)
    ]
    return Demos.from_episodes(eps, {"source": "test", "frame_skip": 5})


def _write(path, **arrays):
    np.savez(path, **arrays)
    return path


def _valid_arrays(d: Demos) -> dict:
    meta = {"format": "mario-neat-lab/demos", "version": 1, "view_radius": 2, "frame_skip": 5}
    return {
        "obs": d.obs,
        "actions": d.actions,
        "episode_starts": d.episode_starts,
        "level_names": np.asarray(d.level_names),
        "metadata": np.asarray(json.dumps(meta)),
    }


def test_round_trip(tmp_path):
    """save_demos then load_demos gives the same arrays, names and metadata; obs are stored as
    int8 and episodes are recovered from episode_starts."""
    d = _demos()
    path = save_demos(tmp_path / "d.npz", d)
    e = load_demos(path)
    assert e.obs.dtype == np.int8 and np.array_equal(e.obs, d.obs)
    assert np.array_equal(e.actions, d.actions)
    assert np.array_equal(e.episode_starts, d.episode_starts)
    assert e.level_names == ["lvl0", "lvl1"] and e.num_episodes == 2
    assert e.metadata["source"] == "test" and e.metadata["view_radius"] == 2
    assert [len(a) for _, _, a in e.episodes()] == [5, 6]
    joined = d.concat(e)
    assert len(joined) == 22 and joined.num_episodes == 4


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a: a.pop("actions"), "missing array.*actions"),
        (lambda a: a.pop("metadata"), "missing array.*metadata"),
        (lambda a: a.update(obs=a["obs"][:, :, :4]), r"obs must be \(T, S, S\)"),
        (lambda a: a.update(obs=a["obs"].astype(np.float64)), "obs must be int8 or float32"),
        (lambda a: a.update(actions=a["actions"][:, :5]), r"actions must be \(T, 6\)"),
        (lambda a: a.update(actions=a["actions"].astype(np.int64)), "actions must be uint8"),
        (lambda a: a.update(actions=a["actions"] * 3), "actions must be 0 or 1"),
        (lambda a: a.update(episode_starts=a["episode_starts"][1:]), "episode_starts must be"),
        (lambda a: a.update(episode_starts=a["episode_starts"].astype(np.int8)), "must be bool"),
        (lambda a: a.update(level_names=np.asarray(["x"])), "one name per episode"),
        (lambda a: a.update(metadata=np.asarray("{")), "metadata is not valid JSON"),
        (lambda a: a.update(obs=(a["obs"] * 2).astype(np.float32)), r"within|lie in \[-1, 1\]"),
    ],
)
def test_bad_files_error_clearly(tmp_path, change, message):
    """Wrong shapes, dtypes, values or missing arrays: DemoError, one line, naming the file."""
    arrays = _valid_arrays(_demos())
    change(arrays)
    path = _write(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DemoError, match=message) as info:
        load_demos(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_truncated_and_foreign_files(tmp_path):
    """A truncated file, a non-npz file and a missing file are refused with DemoError."""
    path = save_demos(tmp_path / "d.npz", _demos())
    data = path.read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DemoError, match="cut.npz: unreadable or truncated"):
        load_demos(tmp_path / "cut.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(DemoError, match="text.npz"):
        load_demos(tmp_path / "text.npz")
    with pytest.raises(DemoError, match="no such demo file"):
        load_demos(tmp_path / "none.npz")
    np.save(tmp_path / "plain.npy", np.zeros(3))
    with pytest.raises(DemoError, match="plain.npy"):
        load_demos(tmp_path / "plain.npy")


def test_recorder(tmp_path):
    """DemoRecorder (what play.py feeds) keeps steps in order, marks episode starts (the first
    step always starts one) and saves a valid file; a wrong grid size is refused."""
    rec = DemoRecorder(view_radius=2, frame_skip=5, metadata={"player": "me"})
    grid = np.zeros((5, 5), np.float32)
    for t in range(7):
        rec.add(grid, [1, 0, 0, 0, 0, t % 2], episode_start=(t == 4), level_name="1-1")
    with pytest.raises(DemoError, match=r"obs must be \(5, 5\)"):
        rec.add(np.zeros((13, 13)), [0] * 6, False)
    d = load_demos(rec.save(tmp_path / "human.npz"))
    assert len(d) == 7 and d.num_episodes == 2 and d.level_names == ["1-1", "1-1"]
    assert d.episode_starts.tolist() == [True, False, False, False, True, False, False]
    assert d.metadata["source"] == "human" and d.metadata["player"] == "me"
    assert d.actions[:, 5].tolist() == [0, 1, 0, 1, 0, 1, 0]


def test_solver_demos_complete_the_level(level):
    """Solver demos: one episode per level, the recorded buttons are the solver's plan, and
    replaying them completes the level."""
    d = record_solver_demos([level], view_radius=3)
    plan = SolverAgent([level]).solution(0).actions
    assert d.num_episodes == 1 and d.metadata["completed"] == [True]
    assert d.obs.shape[1:] == (7, 7) and np.array_equal(d.actions, plan)


def test_agent_demos(level):
    """Any agent of agent/base.py records: here the solver as an agent, several episodes at once;
    only_completed filters failures (an agent that only presses LEFT never finishes)."""

    class Left:
        name, frame_skip, view_radius = "left", 5, 2

        def reset(self, n):
            self.n = n

        def act(self, obs):
            out = np.zeros((obs.shape[0], 6), np.uint8)
            out[:, 4] = 1
            return out

    solver = SolverAgent([level])
    solver.view_radius = 2
    d = record_agent_demos(solver, [level], episodes=2)
    assert d.num_episodes == 2 and d.metadata["completed"] == [True, True]
    assert d.metadata["source"].startswith("agent:")
    d2 = record_agent_demos(Left(), [level], episodes=2, no_progress_frames=60)
    assert d2.num_episodes == 2 and d2.metadata["completed"] == [False, False]
    assert len(record_agent_demos(Left(), [level], only_completed=True, no_progress_frames=60)) == 0
