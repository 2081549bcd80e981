"""PPO's correctness guards: an update climbs its objective and a tiny run learns.

Both fail on a sign error in the loss (a flipped policy-gradient term descends the clipped
surrogate instead of ascending it); the objective is computed here from its definition, not
with the code under test.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agent.rnn.model import ModelConfig
from agent.rnn.ppo import PPOConfig, PPOTrainer, train_ppo
from agent.rnn.ppo_loss import Rollout
from tests.helpers.rnn import flat_level

TINY_MODEL = ModelConfig(hidden=16, encoder=16, view_radius=2, encoder_type="mlp")


@pytest.fixture(scope="module")
def flat():
    return flat_level()


def clipped_objective(trainer: PPOTrainer, ro: Rollout) -> float:
    """``mean(min(r A, clip(r, 1 - c, 1 + c) A))`` over the whole rollout, advantages
    normalised over it, ``r`` the ratio of the trainer's policy now to the one that acted."""
    envs = torch.arange(trainer.cfg.num_envs)
    with torch.no_grad():
        newlogp, _, _ = trainer.minibatch_forward(ro, envs)
    ratio = (newlogp - ro.logprobs).exp()
    a = (ro.advantages - ro.advantages.mean()) / (ro.advantages.std() + 1e-8)
    c = trainer.cfg.clip_coef
    return float(torch.min(ratio * a, ratio.clamp(1 - c, 1 + c) * a).mean())


def test_one_update_raises_the_clipped_surrogate_on_its_own_batch(tmp_path, flat):
    """One ``learn`` on a fixed rollout (one minibatch of all its envs, so the loss normalises
    the advantages as the objective here does) raises the clipped surrogate objective of that
    rollout from its starting value 0 (ratio 1, mean advantage 0) by a clear margin, for each
    of two seeds."""
    cfg = PPOConfig(
        num_envs=4, num_steps=32, epochs=4, minibatches=1, lr=3e-3, ent_coef=0.0,
        no_progress_frames=30,
    )  # fmt: skip
    for seed in range(2):
        run = {"seed": seed, "frames": 10 * cfg.frames_per_update}
        trainer = PPOTrainer(
            TINY_MODEL, cfg, [flat], run, tmp_path / str(seed), torch.device("cpu"), False, None
        )
        try:
            trainer.start(None)
            ro = trainer.collect_rollout()
            before = clipped_objective(trainer, ro)
            trainer.learn(ro)
            after = clipped_objective(trainer, ro)
        finally:
            trainer.close()
        assert abs(before) < 1e-6
        assert after > before + 2e-3, (seed, before, after)


@pytest.mark.slow
def test_a_tiny_run_improves_its_return(tmp_path, flat):
    """Eight updates of 8 envs x 32 steps on the flat corridor: the mean episode return of the
    last two updates (the flag reached, about 50 and more) is far above that of the first two
    (random buttons stall within a few tiles: about 1)."""
    cfg = PPOConfig(
        num_envs=8, num_steps=32, epochs=4, minibatches=2, lr=3e-3, ent_coef=0.0,
        no_progress_frames=30, checkpoint_every=100,
    )  # fmt: skip
    res = train_ppo(
        TINY_MODEL, cfg, levels=[flat], frames=8 * cfg.frames_per_update, seed=1,
        out_dir=tmp_path / "run", device="cpu", progress=False,
    )  # fmt: skip

    def mean_return(lines: list[dict]) -> float:
        returns = [m["episode_return"] for m in lines if m["episode_return"] is not None]
        return float(np.mean(returns))

    first, last = mean_return(res.metrics[:2]), mean_return(res.metrics[-2:])
    assert first < 10 and last > first + 25, (first, last)
