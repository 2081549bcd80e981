"""A learning rate large enough to blow the weights up stops the run with a one-line TrainError
instead of training and saving a NaN model; the model and checkpoint on disk stay finite."""

from __future__ import annotations

import pytest
import torch

from agent.rnn.bc import BCConfig, train_bc
from agent.rnn.model import ModelConfig, ModelError, RecurrentPolicy, load_model, save_model
from agent.rnn.ppo import train_ppo
from agent.rnn.ppo_config import PPOConfig
from agent.runs import TrainError
from tests.helpers.rnn import flat_level

TINY = ModelConfig(hidden=8, encoder=8, view_radius=2, encoder_type="mlp")


def _finite_on_disk(out) -> None:
    model, _, _ = load_model(out)  # refuses non-finite weights
    assert all(bool(torch.isfinite(p).all()) for p in model.parameters())
    ck = torch.load(out / "checkpoint-latest.pt", weights_only=True)
    assert all(bool(torch.isfinite(v).all()) for v in ck["model"].values())


def test_bc_with_a_huge_learning_rate_stops_instead_of_saving_nan(tmp_path):
    """BC with lr 1e30 (finite, so the settings accept it) diverges in its first updates: the
    run raises TrainError naming the update and the weight, and model.pt and the checkpoint
    are still the finite ones written before the round."""
    cfg = BCConfig(updates=20, eval_every=10, window=8, batch_windows=2, lr=1e30, dagger_iters=0)
    with pytest.raises(TrainError, match=r"training diverged at update 10 \(weight .*NaN") as e:
        train_bc(TINY, cfg, [flat_level()], out_dir=tmp_path / "bc", device="cpu", progress=False)
    assert "\n" not in str(e.value)
    _finite_on_disk(tmp_path / "bc")


def test_ppo_with_a_huge_learning_rate_stops_instead_of_saving_nan(tmp_path):
    """The same for PPO: the update that makes the weights non-finite stops the run before
    they are checkpointed or saved."""
    cfg = PPOConfig(num_envs=2, num_steps=16, minibatches=1, epochs=1, lr=1e30)
    with pytest.raises(TrainError, match="training diverged at update"):
        train_ppo(
            TINY, cfg, levels=[flat_level()], frames=2 * 16 * 5 * 4, out_dir=tmp_path / "ppo",
            device="cpu", progress=False,
        )  # fmt: skip
    _finite_on_disk(tmp_path / "ppo")


def test_a_nan_model_is_never_saved(tmp_path):
    """save_model refuses weights holding NaN (a one-line ModelError), writing nothing."""
    model = RecurrentPolicy(TINY)
    with torch.no_grad():
        model.value_head.weight.fill_(float("nan"))
    with pytest.raises(ModelError, match="value_head.weight is NaN or infinite"):
        save_model(tmp_path / "m", model)
    assert not (tmp_path / "m" / "model.pt").exists()
