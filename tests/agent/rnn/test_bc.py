"""Behaviour cloning with BPTT and DAgger: windows, the expert from any state, tiny runs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from agent.rnn.bc import BCConfig, load_bc_config, train_bc
from agent.rnn.bptt import bc_update, stream_windows, window_batches
from agent.rnn.dagger import SolverExpert
from agent.rnn.demos import DemoError, Demos, load_demos, record_solver_demos, save_demos
from agent.rnn.model import ModelConfig, RecurrentPolicy
from agent.rnn.policy import RecurrentAgent
from agent.runs import TrainError
from envs.gym.vector import PlatformerVectorEnv
from envs.sim.constants import COMPLETED, P_STATUS
from envs.solver import solve, solve_from
from tests.helpers.rnn import pits_level, same_weights, untimed, weights

TINY_MODEL = ModelConfig(hidden=32, encoder=32, view_radius=3, encoder_type="mlp")


@pytest.fixture(scope="module")
def level():
    return pits_level()


def test_stream_windows_cover_the_data_once_with_masks():
    """Episodes laid out in streams: every step appears exactly once, in order within its
    episode; the done mask is set at every episode start and at each stream's first step;
    padding is marked invalid."""
    lengths = [5, 3, 7, 2]
    idx, starts, valid = stream_windows(lengths, [2, 0, 3, 1], streams=3)
    assert idx.shape == starts.shape == valid.shape == (6, 3)
    flat = idx.T[valid.T]
    assert sorted(flat.tolist()) == list(range(17))
    episode_first = {0, 5, 8, 15}
    for t in range(6):
        for s in range(3):
            if valid[t, s] and idx[t, s] in episode_first:
                assert starts[t, s]
            if valid[t, s] and t > 0 and not starts[t, s]:
                assert idx[t, s] == idx[t - 1, s] + 1  # a sequence runs on without a cut
    assert starts[0].all()


def test_carried_state_equals_one_long_forward():
    """Truncated BPTT windows see the same state as play time: walking a stream window by window
    with the carried state (zeroed at episode starts) gives the same outputs as one forward
    over the whole stream."""
    torch.manual_seed(0)
    model = RecurrentPolicy(TINY_MODEL).eval()
    lengths = [9, 4, 11]
    obs = torch.randint(-1, 2, (sum(lengths), 7, 7)).float()
    cfg = BCConfig(window=4, batch_windows=2)
    idx, starts, _ = stream_windows(lengths, [1, 2, 0], cfg.batch_windows)
    idx_t, starts_t = torch.as_tensor(idx), torch.as_tensor(starts)
    with torch.no_grad():
        whole, _, _ = model(obs[idx_t], model.initial_state(2), starts_t)
        state, parts = model.initial_state(2), []
        for w in range(0, idx.shape[0], cfg.window):
            out, _, state = model(obs[idx_t[w : w + 4]], state, starts_t[w : w + 4])
            parts.append(out)
    torch.testing.assert_close(torch.cat(parts), whole, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_bc_update_fits_a_small_dataset(level):
    """BCE on the 6 buttons over windows: a few dozen updates on the solver's demo of a short
    level drive the loss down and the training accuracy up."""
    demos = record_solver_demos([level], view_radius=3)
    torch.manual_seed(0)
    model = RecurrentPolicy(TINY_MODEL)
    torch.nn.init.orthogonal_(model.policy_head.weight, 1.0)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    obs = torch.as_tensor(demos.obs_float())
    acts = torch.as_tensor(demos.actions, dtype=torch.float32)
    batches = window_batches([len(demos)], 16, 4, np.random.default_rng(0))
    state, first = None, None
    for _ in range(150):
        stats, state = bc_update(model, opt, obs, acts, next(batches), state, 1.0)
        first = first or stats
    assert stats["loss"] < 0.5 * first["loss"] and stats["button_accuracy"] > 0.95


def test_solve_from_the_start_is_the_solver(level):
    """From a level's start, solve_from finds exactly envs.solver.solve's plan."""
    env = PlatformerVectorEnv(1, level)
    env.reset(seed=0)
    mine = solve_from(env.world.take([0]))
    ref = solve(level)
    assert mine.completed and np.array_equal(mine.actions, ref.actions)


def test_expert_labels_from_any_state_complete_the_level(level):
    """The expert from the student's states: while the student follows the plan, no new search;
    after the student deviates (here: random buttons for 8 steps), the expert's labels from the
    reached state, if followed, still complete the level."""
    env = PlatformerVectorEnv(2, level)
    env.reset(seed=0)
    expert = SolverExpert()
    expert.reset(2)
    for _ in range(5):  # world 0 and 1 follow the expert: one search each
        env.step(expert.label(env.world, [0, 1]))
    assert expert.searches == 2
    rng = np.random.default_rng(1)
    for _ in range(8):  # world 1 deviates
        labels = expert.label(env.world, [0, 1])
        labels[1] = rng.integers(0, 2, 6)
        labels[1, 4:] = 0  # jumps on the spot (no LEFT/RIGHT): off the plan, still alive
        env.step(labels)
    searches = expert.searches
    assert searches > 2
    for _ in range(200):
        running = np.flatnonzero(env.world.P[:, P_STATUS] == 0)
        if running.size == 0:
            break
        actions = np.zeros((2, 6), np.uint8)
        actions[running] = expert.label(env.world, running)
        env.batch.step(actions)  # no autoreset: keep the final status
    assert (env.world.P[:, P_STATUS] == COMPLETED).all()
    assert expert.searches <= searches + 2  # back on a plan: at most one more search each


def test_batched_expert_labels_equal_one_expert_per_world(level):
    """Labelling 4 worlds in one call (their labelled steps simulated together) gives, decision
    after decision, the labels and the search count of 4 experts that each label one world
    alone, while the worlds drift off the plans (random buttons in two of them every other
    step)."""
    env = PlatformerVectorEnv(4, level)
    env.reset(seed=0)
    batched, alone = SolverExpert(), [SolverExpert() for _ in range(4)]
    batched.reset(4)
    for e in alone:
        e.reset(4)
    rng = np.random.default_rng(2)
    for t in range(12):
        rows = np.flatnonzero(env.world.P[:, P_STATUS] == 0)
        if rows.size == 0:
            break
        labels = batched.label(env.world, rows)
        ref = np.stack([alone[i].label(env.world, [i])[0] for i in rows])
        assert np.array_equal(labels, ref), t
        acts = np.zeros((4, 6), np.uint8)
        acts[rows] = labels
        if t % 2:
            acts[2:] = rng.integers(0, 2, (2, 6))
        env.batch.step(acts)
    assert batched.searches == sum(e.searches for e in alone) > 4


@pytest.mark.slow
def test_tiny_bc_run_learns_the_level_and_writes_files(tmp_path, level):
    """A small BC + DAgger run on a short level: metrics.jsonl (loss, accuracy, evaluation,
    frames), model.pt/model.json and dataset.npz (demos + DAgger labels) are written, and the
    student completes the level; the model plays as a RecurrentAgent."""
    cfg = BCConfig(updates=200, eval_every=100, window=16, batch_windows=8, lr=3e-3)
    res = train_bc(
        TINY_MODEL, cfg, [level], dagger_iters=1, out_dir=tmp_path / "bc", device="cpu",
        progress=False,
    )  # fmt: skip
    out = tmp_path / "bc"
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [m["iteration"] for m in lines] == [100, 200, 300, 400]
    for key in ("loss", "accuracy", "completion_rate", "frames", "wall_seconds"):
        assert key in lines[-1]
    assert lines[2]["dagger_steps"] > 0 and "dagger_steps" not in lines[3]
    data = load_demos(out / "dataset.npz")
    assert data.num_episodes == 1 + cfg.dagger_episodes and len(data) == res.dataset_steps
    assert res.completed == [True] and res.first_completion_frames is not None
    agent = RecurrentAgent.from_dir(out)
    assert agent.view_radius == 3 and agent.frame_skip == 5
    env = PlatformerVectorEnv(1, level, view_radius=3)
    obs, _ = env.reset(seed=0)
    agent.reset(1)
    for _ in range(200):
        obs, _, term, trunc, info = env.step(agent.act(obs))
        if term[0] or trunc[0]:
            break
    assert info["completed"][0]


def test_bad_demos_are_refused(tmp_path, level):
    """Demos of another observation size or frame skip, or a broken file: clear DemoError before
    any file is written."""
    demos = record_solver_demos([level], view_radius=2)
    path = save_demos(tmp_path / "d.npz", demos)
    with pytest.raises(DemoError, match=r"5x5 tiles, the model sees 7x7"):
        train_bc(TINY_MODEL, BCConfig(), [level], demos=path, out_dir=tmp_path / "a")
    (tmp_path / "broken.npz").write_bytes(path.read_bytes()[:100])
    with pytest.raises(DemoError, match="broken.npz"):
        train_bc(TINY_MODEL, BCConfig(), [level], demos=tmp_path / "broken.npz",
                 out_dir=tmp_path / "b")  # fmt: skip
    d = Demos.from_episodes([("x", demos.obs, demos.actions)], {"frame_skip": 4})
    with pytest.raises(DemoError, match="frame_skip 4"):
        train_bc(ModelConfig(view_radius=2), BCConfig(), [level], demos=d, out_dir=tmp_path / "c")
    assert not any((tmp_path / n).exists() for n in "abc")


@pytest.mark.slow
def test_resume_after_a_stop_ends_as_the_uninterrupted_run(tmp_path, level):
    """A run stopped inside its second DAgger round and resumed ends bit-identical to the run
    that was never stopped: same weights, dataset and (untimed) metrics. The checkpoint holds
    the model, optimizer, generators and counters of the last whole round, and the dataset is
    cut back to that round."""
    cfg = BCConfig(updates=40, eval_every=20, window=8, batch_windows=4, lr=3e-3)
    kw = dict(dagger_iters=2, device="cpu", progress=False)
    a = train_bc(TINY_MODEL, cfg, [level], out_dir=tmp_path / "a", **kw)
    stop_in_round_2 = lambda m: m["round"] == 2  # noqa: E731
    b = train_bc(TINY_MODEL, cfg, [level], out_dir=tmp_path / "b", callback=stop_in_round_2, **kw)
    assert b.stopped_early and len(b.metrics) == 5
    r = train_bc(levels=[level], resume=tmp_path / "b", device="cpu", progress=False)
    assert r.updates == a.updates == 120 and r.dataset_steps == a.dataset_steps
    assert same_weights(weights(tmp_path / "a"), weights(tmp_path / "b"))
    assert untimed(r.metrics) == untimed(a.metrics)
    lines = [json.loads(x) for x in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert untimed(lines) == untimed(a.metrics)
    da, db = load_demos(tmp_path / "a" / "dataset.npz"), load_demos(tmp_path / "b" / "dataset.npz")
    assert np.array_equal(da.obs, db.obs) and da.level_names == db.level_names


@pytest.mark.slow
def test_resume_refuses_what_does_not_fit(tmp_path, level):
    """Resuming a missing run, with other settings, with demos, or from a corrupt checkpoint:
    a TrainError naming the problem; more DAgger rounds are allowed."""
    cfg = BCConfig(updates=20, eval_every=20, window=8, batch_windows=4)
    out = tmp_path / "r"
    train_bc(TINY_MODEL, cfg, [level], out_dir=out, dagger_iters=0, device="cpu", progress=False)
    with pytest.raises(TrainError, match="no such run directory"):
        train_bc(resume=tmp_path / "none", device="cpu", progress=False)
    with pytest.raises(TrainError, match="other bc settings"):
        train_bc(None, BCConfig(updates=21), resume=out, device="cpu", progress=False)
    with pytest.raises(TrainError, match="other seed settings"):
        train_bc(levels=[level], resume=out, seed=5, device="cpu", progress=False)
    with pytest.raises(TrainError, match="demos cannot be given"):
        train_bc(resume=out, demos=out / "dataset.npz", device="cpu")
    with pytest.raises(TrainError, match="already holds a training run"):
        train_bc(TINY_MODEL, cfg, [level], out_dir=out, device="cpu", progress=False)
    more = train_bc(levels=[level], resume=out, dagger_iters=1, device="cpu", progress=False)
    assert more.updates == 40 and more.dagger_iters == 1
    ck = out / "checkpoint-latest.pt"
    ck.write_bytes(ck.read_bytes()[:200])
    with pytest.raises(TrainError, match="unreadable checkpoint"):
        train_bc(levels=[level], resume=out, device="cpu", progress=False)


def test_config_file():
    """configs/bc.json holds the defaults."""
    model, bc = load_bc_config()
    assert model == ModelConfig() and bc == BCConfig()
