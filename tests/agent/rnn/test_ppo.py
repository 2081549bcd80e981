"""Recurrent PPO: GAE, whole-sequence minibatches, tiny runs, determinism, resume, files."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from agent.rnn.model import ModelConfig, ModelError, load_model
from agent.rnn.policy import RecurrentAgent
from agent.rnn.ppo import PPOConfig, PPOTrainer, load_ppo_config, train_ppo
from agent.rnn.ppo_config import PPO_MODEL
from agent.rnn.ppo_loss import compute_gae, env_minibatches
from agent.rnn.settings import training_levels
from agent.runs import TrainError
from tests.helpers.levels import level_from_rows
from tests.helpers.rnn import same_weights, untimed, weights

TINY_MODEL = ModelConfig(hidden=16, encoder=16, view_radius=3, encoder_type="mlp")
TINY = {"num_envs": 4, "num_steps": 16, "epochs": 2, "minibatches": 2, "checkpoint_every": 1}
FRAMES_PER_UPDATE = 4 * 16 * 5


def _cfg(**kw) -> PPOConfig:
    return PPOConfig(**{**TINY, **kw})


def test_gae_matches_reference_and_stops_at_episode_starts():
    """GAE equals a direct per-env reference computation, and rewards after an episode start
    never leak into the advantages of the episode before it."""
    g = torch.Generator().manual_seed(0)
    T, N, gamma, lam = 9, 3, 0.9, 0.8
    rewards = torch.randn(T, N, generator=g)
    values = torch.randn(T, N, generator=g)
    starts = torch.zeros(T, N)
    starts[4, 0] = starts[7, 2] = 1.0
    next_value, next_start = torch.randn(N, generator=g), torch.tensor([0.0, 1.0, 0.0])
    adv, ret = compute_gae(rewards, values, starts, next_value, next_start, gamma, lam)

    for i in range(N):
        ref, last = [0.0] * T, 0.0
        for t in reversed(range(T)):
            ends = (starts[t + 1, i] if t + 1 < T else next_start[i]) > 0
            nxt = 0.0 if ends else float(values[t + 1, i] if t + 1 < T else next_value[i])
            delta = float(rewards[t, i]) + gamma * nxt - float(values[t, i])
            last = delta + (0.0 if ends else gamma * lam * last)
            ref[t] = last
        assert np.allclose(adv[:, i].numpy(), ref, atol=1e-5)
    torch.testing.assert_close(ret, adv + values)
    # Changing rewards after the boundary at t = 4 (env 0) leaves steps 0..3 untouched.
    r2 = rewards.clone()
    r2[4:, 0] += 100.0
    adv2, _ = compute_gae(r2, values, starts, next_value, next_start, gamma, lam)
    torch.testing.assert_close(adv2[:4, 0], adv[:4, 0])


def test_env_minibatches_partition_the_envs():
    """Minibatches split the environments (not time): every env once per epoch, equal groups."""
    g = torch.Generator().manual_seed(0)
    mbs = env_minibatches(16, 4, g)
    assert [len(m) for m in mbs] == [4, 4, 4, 4]
    assert sorted(torch.cat(mbs).tolist()) == list(range(16))


def _trainer(tmp_path, **kw) -> PPOTrainer:
    cfg = _cfg(**kw)
    levels = training_levels(["1-1"])
    run = {"seed": 0, "frames": 10 * FRAMES_PER_UPDATE}
    trainer = PPOTrainer(TINY_MODEL, cfg, levels, run, tmp_path, torch.device("cpu"), False, None)
    trainer.start(None)
    return trainer


def test_minibatches_replay_the_rollout_exactly(tmp_path):
    """Sequences stay whole and never cross an episode boundary unmasked: re-running each
    minibatch of whole env sequences from the stored start state, masked by the stored episode
    starts, reproduces the log-probabilities and values computed step by step while acting —
    on a rollout with many episode ends (short no-progress limit), in its second rollout (so
    the stored start state is not zero)."""
    trainer = _trainer(tmp_path, num_steps=48, no_progress_frames=20, num_envs=4, minibatches=2)
    trainer.collect_rollout()
    ro = trainer.collect_rollout()
    assert any(float(x.abs().sum()) > 0 for x in ro.init_state)
    assert ro.starts[1:].sum() >= 4  # episode boundaries inside the sequences
    trainer.model.eval()
    with torch.no_grad():
        for mb in env_minibatches(4, 2, torch.Generator().manual_seed(0)):
            logp, _, values = trainer.minibatch_forward(ro, mb)
            torch.testing.assert_close(logp, ro.logprobs[:, mb], rtol=1e-4, atol=1e-5)
            torch.testing.assert_close(values, ro.values[:, mb], rtol=1e-4, atol=1e-5)
            # Without the mask the sequences would leak across boundaries: outputs differ.
            leak, _, _ = trainer.model(
                ro.obs[:, mb], trainer.model.select_state(ro.init_state, mb), None
            )
            logp_leak = -torch.nn.functional.binary_cross_entropy_with_logits(
                leak, ro.actions[:, mb], reduction="none"
            ).sum(-1)
            assert not torch.allclose(logp_leak, ro.logprobs[:, mb], atol=1e-4)


def test_stall_penalty_ends_stuck_episodes_as_failures(tmp_path):
    """With ``stall_penalty`` set, PPO's rollout sees a stuck episode end as terminal with the
    penalty (times reward_scale) and no bootstrap; unset, the same episodes are truncated and
    bootstrapped (a non-zero value added to the last reward). A negative penalty is refused."""
    last_rewards = {}
    for penalty in (None, 10.0):
        trainer = _trainer(tmp_path / str(penalty), num_steps=48, no_progress_frames=20,
                           stall_penalty=penalty)  # fmt: skip
        assert trainer.env.batch.reward.stall_penalty == penalty
        trainer.env.step = _standing_still(trainer.env.step)
        ro = trainer.collect_rollout()
        ends = ro.starts[1:] == 1  # the step before each of these ended an episode
        last_rewards[penalty] = ro.rewards[:-1][ends]
    assert len(last_rewards[10.0]) > 0
    assert torch.allclose(last_rewards[10.0], torch.tensor(-10.0 * PPOConfig().reward_scale))
    assert not torch.allclose(last_rewards[None], torch.tensor(0.0))
    with pytest.raises(TrainError, match="stall_penalty must be >= 0"):
        PPOConfig(stall_penalty=-1.0)


def _standing_still(step):
    """The env's step with every button released (no progress, no death on 1-1's start)."""
    return lambda actions: step(np.zeros_like(actions))


@pytest.mark.slow
def test_tiny_run_writes_its_files_and_loads_as_an_agent(tmp_path):
    """Two updates of 4 envs x 16 steps complete and write run.json, metrics.jsonl (one line per
    update with frames, wall seconds, returns, completion rate, losses), model.pt/model.json
    and a checkpoint; the model loads as an agent that plays."""
    out = tmp_path / "run"
    res = train_ppo(
        TINY_MODEL, _cfg(), frames=2 * FRAMES_PER_UPDATE, out_dir=out, device="cpu", progress=False
    )
    assert res.updates == 2 and res.frames == 2 * FRAMES_PER_UPDATE
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [m["iteration"] for m in lines] == [1, 2]
    for key in ("frames", "wall_seconds", "episode_return", "completion_rate", "policy_loss",
                "value_loss", "entropy", "frames_per_second"):  # fmt: skip
        assert key in lines[0]
    for name in ("run.json", "model.pt", "model.json", "checkpoint-latest.pt"):
        assert (out / name).is_file()
    model, config, extra = load_model(out)
    assert config == TINY_MODEL and extra["trainer"] == "ppo" and extra["frames"] == res.frames
    agent = RecurrentAgent.from_dir(out)
    agent.reset(3)
    buttons = agent.act(np.zeros((3, 7, 7), np.float32))
    assert buttons.shape == (3, 6) and buttons.dtype == np.uint8


@pytest.mark.slow
@pytest.mark.parametrize("replay", [0.0, 0.8])
def test_deterministic_and_resume_continues_exactly(tmp_path, replay):
    """The same seed gives the same weights and metrics; a run stopped after 2 of 3 updates
    and resumed ends bit-identical to the uninterrupted run (the checkpoint holds the model,
    optimizer, generator, env worlds and rngs, recurrent state and next observation, and with
    ``level_replay`` the levels' failure scores)."""
    frames = 3 * FRAMES_PER_UPDATE
    kw = {"frames": frames, "device": "cpu", "progress": False, "seed": 3}
    # Two levels so the env's level draws (its rngs) matter for the resume; one a random policy
    # often finishes and one it never does, and a short no-progress limit, so that episodes end
    # and (with replay) the two levels' scores part.
    short = level_from_rows(*["." * 16] * 6, "..S.F" + "." * 11, "X" * 16, name="short")
    kw["levels"] = ["1-1", short]

    def _cfg(**more):
        return PPOConfig(**{**TINY, "level_replay": replay, "no_progress_frames": 40, **more})

    a = train_ppo(TINY_MODEL, _cfg(), out_dir=tmp_path / "a", **kw)
    b = train_ppo(TINY_MODEL, _cfg(), out_dir=tmp_path / "b", **kw)
    assert same_weights(weights(tmp_path / "a"), weights(tmp_path / "b"))
    assert untimed(a.metrics) == untimed(b.metrics)

    c = train_ppo(
        TINY_MODEL, _cfg(), out_dir=tmp_path / "c", callback=lambda m: m["iteration"] == 2, **kw
    )
    assert c.stopped_early and c.updates == 2
    resumed = train_ppo(resume=tmp_path / "c", frames=frames, device="cpu", progress=False)
    assert resumed.resumed_from == 2 and resumed.updates == 3
    assert same_weights(weights(tmp_path / "a"), weights(tmp_path / "c"))
    assert untimed(resumed.metrics) == untimed(a.metrics)
    lines = (tmp_path / "c" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["iteration"] for x in lines] == [1, 2, 3]


@pytest.mark.slow
def test_bad_runs_are_refused(tmp_path):
    """Starting over an existing run, resuming nothing, changing settings on resume, a bad
    device or bad PPO settings: clear errors (ValueError subclasses), nothing overwritten."""
    out = tmp_path / "run"
    train_ppo(TINY_MODEL, _cfg(), frames=1, out_dir=out, device="cpu", progress=False)
    before = (out / "model.pt").read_bytes()
    with pytest.raises(TrainError, match="already holds a training run"):
        train_ppo(TINY_MODEL, _cfg(), frames=1, out_dir=out, device="cpu", progress=False)
    with pytest.raises(TrainError, match="nothing to resume|no such run"):
        train_ppo(resume=tmp_path / "none", device="cpu", progress=False)
    other = ModelConfig(cell="gru", hidden=16, encoder=16, view_radius=3, encoder_type="mlp")
    with pytest.raises(TrainError, match="other model settings"):
        train_ppo(other, resume=out, frames=10_000, device="cpu", progress=False)
    with pytest.raises(ValueError, match="unknown device"):
        train_ppo(TINY_MODEL, _cfg(), out_dir=tmp_path / "x", device="gpu0", progress=False)
    with pytest.raises(TrainError, match="multiple of minibatches"):
        PPOConfig(num_envs=6, minibatches=4)
    with pytest.raises(ValueError, match="unknown level"):
        train_ppo(TINY_MODEL, _cfg(), levels=["9-9"], out_dir=tmp_path / "y", progress=False)
    assert (out / "model.pt").read_bytes() == before
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
    with pytest.raises(ModelError):
        load_model(tmp_path / "x")


def test_config_file(tmp_path):
    """configs/ppo.json holds the defaults (PPO's own model, PPO_MODEL); unknown keys are
    refused."""
    model, ppo = load_ppo_config()
    assert model == PPO_MODEL and ppo == PPOConfig()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"ppo": {"num_envs": 16, "learning_rate": 1.0}}))
    with pytest.raises(TrainError, match="unknown PPO setting.*learning_rate"):
        load_ppo_config(bad)
