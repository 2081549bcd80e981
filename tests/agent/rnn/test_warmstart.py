"""Warm starts (``train_ppo(init_from=DIR)``): PPO begins from a saved policy's weights."""

from __future__ import annotations

import json

import pytest
import torch

from agent.rnn.model import ModelConfig, load_model, save_model
from agent.rnn.ppo import PPOConfig, train_ppo
from agent.rnn.warmstart import load_warm_start
from agent.runs import TrainError
from envs.levels.generator import held_out_seed
from tests.helpers.rnn import close_weights, same_weights, weights

TINY_MODEL = ModelConfig(hidden=16, encoder=16, view_radius=3, encoder_type="mlp")
TINY = PPOConfig(num_envs=4, num_steps=16, epochs=2, minibatches=2, checkpoint_every=1)
FRAMES_PER_UPDATE = 4 * 16 * 5


def _saved(tmp_path, name="src", seed=7, **extra):
    """A saved policy of TINY_MODEL's shape with weights from ``seed`` (not PPO's init)."""
    torch.manual_seed(seed)
    from agent.rnn.model import RecurrentPolicy

    d = tmp_path / name
    d.mkdir()
    save_model(d, RecurrentPolicy(TINY_MODEL), TINY_MODEL, {"trainer": "bc", **extra})
    return d


def test_a_warm_start_begins_from_the_saved_weights(tmp_path):
    """A warm-started run begins from the saved weights, not its seed's own init: with lr
    1e-9 (Adam moves each weight by about lr), one update leaves the saved weights as they
    were while a cold run's differ; the saved shape is kept, and run.json records the source
    directory and its model.pt's SHA-256."""
    src = _saved(tmp_path, frame_skip=5, levels=["1-1"])
    cfg = PPOConfig(**{**TINY.to_dict(), "lr": 1e-9, "anneal_lr": False})
    out = tmp_path / "run"
    train_ppo(None, cfg, frames=FRAMES_PER_UPDATE, out_dir=out, device="cpu",
              progress=False, init_from=src)  # fmt: skip
    assert close_weights(weights(out), weights(src), atol=1e-6)
    cold = tmp_path / "cold"
    train_ppo(TINY_MODEL, cfg, frames=FRAMES_PER_UPDATE, out_dir=cold, device="cpu",
              progress=False)  # fmt: skip
    assert not close_weights(weights(cold), weights(src), atol=1e-2)
    record = json.loads((out / "run.json").read_text())["init_from"]
    assert record["dir"] == str(src) and record["trainer"] == "bc" and record["levels"] == 1
    assert len(record["model_sha256"]) == 64
    assert load_model(out)[1] == TINY_MODEL  # the saved model's shape, taken as it was


@pytest.mark.slow
def test_a_warm_started_run_resumes_and_keeps_its_origin(tmp_path):
    """A warm-started run stopped after one update and resumed ends bit-identical to the
    uninterrupted one, and its run.json still names where its weights came from."""
    src = _saved(tmp_path)
    kw = {"frames": 2 * FRAMES_PER_UPDATE, "device": "cpu", "progress": False}
    a = tmp_path / "a"
    train_ppo(None, TINY, out_dir=a, init_from=src, **kw)
    b = tmp_path / "b"
    train_ppo(None, TINY, out_dir=b, init_from=src, callback=lambda m: True, **kw)
    train_ppo(resume=b, **kw)
    assert same_weights(weights(a), weights(b))
    assert json.loads((b / "run.json").read_text())["init_from"]["dir"] == str(src)


def test_bad_warm_starts_are_refused(tmp_path):
    """Another shape, another frame skip, a held-out level in the saved model's training set,
    a missing directory, or a warm start on resume: one-line TrainErrors naming --init-from,
    before a run directory is made."""
    src = _saved(tmp_path, frame_skip=5)
    other = ModelConfig(hidden=32, encoder=16, view_radius=3, encoder_type="mlp")
    with pytest.raises(TrainError, match=r"--init-from .*hidden 16 \(configured 32\)"):
        load_warm_start(src, other)
    with pytest.raises(TrainError, match="decides every 5 frames, this run every 3"):
        load_warm_start(src, None, frame_skip=3)
    leaked = _saved(tmp_path, "leaked", levels=[f"gen-s{held_out_seed(4)}-d0.60-l150"])
    with pytest.raises(TrainError, match="held-out level"):
        load_warm_start(leaked)
    with pytest.raises(TrainError, match="--init-from .*not a run directory"):
        load_warm_start(tmp_path / "none")
    (tmp_path / "empty").mkdir()
    with pytest.raises(TrainError, match="--init-from .*model.json: missing"):
        load_warm_start(tmp_path / "empty")
    with pytest.raises(TrainError, match="--init-from starts a new run"):
        train_ppo(resume=tmp_path / "r", init_from=src, device="cpu", progress=False)
    with pytest.raises(TrainError, match="differs from the configured one"):
        train_ppo(other, TINY, frames=1, out_dir=tmp_path / "x", init_from=src, progress=False)
    assert not (tmp_path / "x").exists()


def test_the_generalist_bc_config_trains_ppos_model():
    """configs/bc_generalist.json (the warm start of the LSTM generalist recipe) loads, clones
    PPO's own model (so PPO with configs/ppo.json fine-tunes it unchanged), with the same frame
    skip and no DAgger rounds."""
    from agent.rnn.bc import load_bc_config
    from agent.rnn.ppo import load_ppo_config
    from tests.helpers.cli import ROOT

    model, bc = load_bc_config(ROOT / "configs" / "bc_generalist.json")
    ppo_model, ppo = load_ppo_config()
    assert model == ppo_model and bc.frame_skip == ppo.frame_skip and bc.dagger_iters == 0


def test_value_warmup_moves_only_the_value_head(tmp_path):
    """With ``value_warmup`` covering the whole run, PPO updates change the value head and
    nothing else (the warm-started policy is kept exactly); without it the policy moves too."""
    src = _saved(tmp_path)
    kw = {"frames": 2 * FRAMES_PER_UPDATE, "device": "cpu", "progress": False, "init_from": src}
    warm = PPOConfig(**{**TINY.to_dict(), "value_warmup": 2})
    train_ppo(None, warm, out_dir=tmp_path / "w", **kw)
    train_ppo(None, TINY, out_dir=tmp_path / "p", **kw)
    before, w, p = weights(src), weights(tmp_path / "w"), weights(tmp_path / "p")
    for k in before:
        head = k.startswith("value_head.")
        assert torch.equal(w[k], before[k]) != head, k
    assert any(not torch.equal(p[k], before[k]) for k in before if "value_head" not in k)
    with pytest.raises(TrainError, match="value_warmup must be >= 0"):
        PPOConfig(value_warmup=-1)
