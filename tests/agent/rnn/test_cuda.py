"""CUDA smoke runs: a tiny PPO update and the masked forward on the GPU, wherever there is one.

Skipped only where ``torch.cuda.is_available()`` is false (a CPU-only machine or build).
"""

from __future__ import annotations

import pytest
import torch

from agent.rnn.model import ModelConfig, RecurrentPolicy
from agent.rnn.ppo import PPOConfig, PPOTrainer
from tests.helpers.rnn import flat_level

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")

TINY_MODEL = ModelConfig(hidden=16, encoder=16, view_radius=2, encoder_type="mlp")


def test_a_ppo_update_runs_on_cuda(tmp_path):
    """On cuda, a rollout of 4 envs x 32 steps and one learning step run with the model, the
    rollout and the sampling generator on the GPU; the losses are finite and the weights
    change."""
    cfg = PPOConfig(num_envs=4, num_steps=32, epochs=2, minibatches=2, no_progress_frames=30)
    run = {"seed": 0, "frames": 4 * cfg.frames_per_update}
    dev = torch.device("cuda")
    trainer = PPOTrainer(TINY_MODEL, cfg, [flat_level()], run, tmp_path, dev, False, None)
    try:
        trainer.start(None)
        before = [p.detach().clone() for p in trainer.model.parameters()]
        ro = trainer.collect_rollout()
        assert ro.obs.device.type == "cuda" and ro.advantages.device.type == "cuda"
        stats = trainer.learn(ro)
        after = list(trainer.model.parameters())
    finally:
        trainer.close()
    assert all(p.device.type == "cuda" for p in after)
    assert all(torch.isfinite(torch.tensor(stats[k])) for k in ("pg", "v", "ent", "kl"))
    assert any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_masked_forward_on_cuda_equals_cpu(cell):
    """The masked forward (episode pieces in one core call, the final state from a packed call)
    gives on cuda what it gives on the CPU, to float tolerance."""
    torch.manual_seed(0)
    model = RecurrentPolicy(ModelConfig(cell=cell, hidden=16, encoder=16, view_radius=2)).eval()
    T, B = 12, 3
    obs = torch.randint(-1, 2, (T, B, 5, 5)).float()
    mask = torch.zeros(T, B)
    mask[4, 0] = mask[7, 2] = mask[0, 1] = 1.0
    state = tuple(torch.randn_like(x) for x in model.initial_state(B))
    with torch.no_grad():
        cpu = model(obs, state, mask)
        model.cuda()
        gpu = model(obs.cuda(), tuple(x.cuda() for x in state), mask.cuda())
    for a, b in zip(cpu[:2], gpu[:2], strict=True):
        torch.testing.assert_close(a, b.cpu(), rtol=1e-4, atol=1e-5)
    for a, b in zip(cpu[2], gpu[2], strict=True):
        torch.testing.assert_close(a, b.cpu(), rtol=1e-4, atol=1e-5)
