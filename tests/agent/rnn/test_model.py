"""The recurrent policy: BPTT through time, masking at episode boundaries, files."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from agent.rnn.model import (
    CELLS,
    DeviceError,
    ModelConfig,
    ModelError,
    RecurrentPolicy,
    load_model,
    resolve_device,
    save_model,
    torch_threads,
)

SMALL = {"hidden": 16, "encoder": 16, "view_radius": 2}


def _policy(cell: str = "lstm", seed: int = 0, **kw) -> RecurrentPolicy:
    torch.manual_seed(seed)
    return RecurrentPolicy(ModelConfig(cell=cell, **{**SMALL, **kw})).eval()


def _obs(T: int, B: int, radius: int = 2, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    s = 2 * radius + 1
    return torch.randint(-1, 2, (T, B, s, s), generator=g).float()


def _random_state(model: RecurrentPolicy, B: int) -> tuple[torch.Tensor, ...]:
    return tuple(torch.randn_like(x) for x in model.initial_state(B))


# --------------------------------------------------------------------------------------------
# Learning through time
# --------------------------------------------------------------------------------------------


def _recall_batch(g: torch.Generator, B: int, T: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A cue (+1 or -1 in the centre cell) at t = 0, then T - 1 steps of random grids."""
    obs = torch.randint(-1, 2, (T, B, 3, 3), generator=g).float()
    cue = torch.randint(0, 2, (B,), generator=g).float()
    obs[0] = 0.0
    obs[0, :, 1, 1] = cue * 2 - 1
    return obs, cue


def _train_recall(cell: str, reset_every_step: bool, T: int, updates: int) -> float:
    with torch_threads(1):  # small tensors: one thread is fastest, and immune to busy cores
        return _recall(cell, reset_every_step, T, updates)


def _recall(cell: str, reset_every_step: bool, T: int, updates: int) -> float:
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    cfg = ModelConfig(cell=cell, hidden=32, encoder=32, view_radius=1, encoder_type="mlp")
    model = RecurrentPolicy(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    B = 64
    for _ in range(updates):
        obs, cue = _recall_batch(g, B, T)
        mask = torch.ones(T, B) if reset_every_step else None
        logits, _, _ = model(obs, model.initial_state(B), mask)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits[-1, :, 0], cue)
        opt.zero_grad()
        loss.backward()
        opt.step()
    obs, cue = _recall_batch(g, 1000, T)
    with torch.no_grad():
        mask = torch.ones(T, 1000) if reset_every_step else None
        logits, _, _ = model(obs, model.initial_state(1000), mask)
    return float(((logits[-1, :, 0] > 0).float() == cue).float().mean())


@pytest.mark.slow
def test_bptt_learns_a_cue_across_a_long_delay():
    """BPTT really learns through time: the answer to a cue shown at t = 0 is needed after 24
    steps of random grids. An LSTM trained by BPTT reaches > 90% accuracy; the same model with
    its state reset at every step (a feedforward model) cannot beat chance (the last input says
    nothing about the cue)."""
    T, updates = 25, 250
    assert _train_recall("lstm", reset_every_step=False, T=T, updates=updates) > 0.9
    assert _train_recall("lstm", reset_every_step=True, T=T, updates=updates) < 0.6


# --------------------------------------------------------------------------------------------
# Masking and segmented forward
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cell", CELLS)
def test_state_after_done_equals_fresh_state(cell):
    """A done at t = k zeroes the state: outputs from t = k on equal a fresh run started at k,
    whatever the state before (a random one here)."""
    model = _policy(cell, layers=2)
    T, B, k = 12, 3, 5
    obs = _obs(T, B)
    mask = torch.zeros(T, B)
    mask[k] = 1.0
    with torch.no_grad():
        logits, values, state = model(obs, _random_state(model, B), mask)
        fresh_l, fresh_v, fresh_s = model(obs[k:], model.initial_state(B))
    torch.testing.assert_close(logits[k:], fresh_l, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(values[k:], fresh_v, rtol=1e-5, atol=1e-6)
    for a, b in zip(state, fresh_s, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cell", CELLS)
def test_segmented_forward_equals_per_step_loop(cell):
    """With episode starts at different times in different columns, the masked forward (all
    episode pieces in one core call, the final state from one more) equals a per-time-step
    reference loop that zeroes the state of each column where its episode starts: outputs,
    final state and gradients."""
    model = _policy(cell, layers=2)
    T, B = 20, 5
    obs = _obs(T, B, seed=1)
    mask = torch.zeros(T, B)
    mask[0, 2] = mask[5, 1] = mask[12, 3] = mask[12, 0] = mask[19, 4] = 1.0
    start = _random_state(model, B)

    logits, values, state = model(obs, start, mask)
    assert model.last_core_calls == 2  # 9 episode pieces in one call (+1 for the final state)
    ref_l, ref_v, s = [], [], start
    for t in range(T):
        s = model.mask_state(s, 1.0 - mask[t])
        lt, vt, s = model(obs[t : t + 1], s)
        ref_l.append(lt)
        ref_v.append(vt)
    torch.testing.assert_close(logits, torch.cat(ref_l), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(values, torch.cat(ref_v), rtol=1e-5, atol=1e-6)
    for a, b in zip(state, s, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)

    g1 = torch.autograd.grad(logits.sum() + values.sum(), list(model.parameters()))
    g2 = torch.autograd.grad(
        torch.cat(ref_l).sum() + torch.cat(ref_v).sum(), list(model.parameters())
    )
    for a, b in zip(g1, g2, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_fast_path_runs_the_core_once():
    """Without an episode start after t = 0 the core runs over the whole sequence in one call,
    and the start mask at t = 0 still zeroes those columns' incoming state."""
    model = _policy("lstm")
    T, B = 16, 4
    obs = _obs(T, B, seed=2)
    mask = torch.zeros(T, B)
    mask[0, 1] = 1.0
    start = _random_state(model, B)
    with torch.no_grad():
        logits, _, _ = model(obs, start, mask)
        assert model.last_core_calls == 1
        fresh, _, _ = model(obs[:, 1:2], model.initial_state(1))
        kept, _, _ = model(obs[:, :1], model.select_state(start, slice(0, 1)))
    torch.testing.assert_close(logits[:, 1:2], fresh, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(logits[:, :1], kept, rtol=1e-5, atol=1e-6)


def test_wrong_observation_size_is_refused():
    """A grid of another size than the model's view is refused with a clear message."""
    model = _policy("gru")
    with pytest.raises(ModelError, match="expects"):
        model(_obs(2, 1, radius=3), model.initial_state(1))


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cell", CELLS)
def test_save_load_round_trip_gives_identical_outputs(tmp_path, cell):
    """save_model + load_model rebuild the same network: identical logits, buttons and state
    over a sequence; model.json holds the settings and the extras."""
    model = _policy(cell, seed=3, encoder_type="mlp" if cell == "gru" else "conv")
    save_model(tmp_path, model, model.config, {"frame_skip": 5, "note": "x"})
    loaded, config, extra = load_model(tmp_path)
    assert config == model.config and extra == {"frame_skip": 5, "note": "x"}
    obs = _obs(10, 3, seed=4)
    with torch.no_grad():
        a, _, sa = model(obs, model.initial_state(3))
        b, _, sb = loaded(obs, loaded.initial_state(3))
    assert torch.equal(a, b) and all(torch.equal(x, y) for x, y in zip(sa, sb, strict=True))
    assert torch.equal(a > 0, b > 0)
    assert not list(tmp_path.glob("*.tmp"))


def test_loading_another_cell_or_size_errors_clearly(tmp_path):
    """A model of another cell type or observation size than asked for is refused, and so are
    weights that do not fit model.json (e.g. GRU weights under an LSTM description)."""
    save_model(tmp_path / "lstm", _policy("lstm"))
    with pytest.raises(ModelError, match="lstm policy, a gru policy was asked for"):
        load_model(tmp_path / "lstm", cell="gru")
    with pytest.raises(ModelError, match=r"sees 5x5 tiles.*13x13"):
        load_model(tmp_path / "lstm", view_radius=6)

    # GRU weights with an LSTM model.json: the shapes give it away.
    save_model(tmp_path / "mixed", _policy("gru"))
    meta = json.loads((tmp_path / "mixed" / "model.json").read_text())
    meta["config"]["cell"] = "lstm"
    (tmp_path / "mixed" / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="another cell type"):
        load_model(tmp_path / "mixed")
    # An observation size that does not fit the weights.
    save_model(tmp_path / "size", _policy("rnn"))
    meta = json.loads((tmp_path / "size" / "model.json").read_text())
    meta["config"]["view_radius"] = 6
    (tmp_path / "size" / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="observation size"):
        load_model(tmp_path / "size")


def test_bad_model_files_error_clearly(tmp_path):
    """Missing directory/files, corrupt weights, unknown cells and missing keys: ModelError with
    a one-line message."""
    with pytest.raises(ModelError, match="no such model directory"):
        load_model(tmp_path / "nope")
    save_model(tmp_path / "m", _policy("lstm"))
    d = tmp_path / "m"
    weights = torch.load(d / "model.pt", weights_only=True)
    del weights["value_head.bias"]
    torch.save(weights, d / "model.pt")
    with pytest.raises(ModelError, match="missing"):
        load_model(d)
    (d / "model.pt").write_bytes(b"garbage")
    with pytest.raises(ModelError, match="cannot read the weights") as info:
        load_model(d)
    assert "\n" not in str(info.value)
    meta = json.loads((d / "model.json").read_text())
    meta["config"]["cell"] = "transformer"
    (d / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="unknown cell 'transformer'"):
        load_model(d)
    (d / "model.json").write_text("{")
    with pytest.raises(ModelError, match="not valid JSON"):
        load_model(d)
    (d / "model.json").unlink()
    with pytest.raises(ModelError, match="missing"):
        load_model(d)


def test_devices():
    """auto and cpu resolve; an unknown device, or CUDA where there is none, is a clear error."""
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda")
    with pytest.raises(DeviceError, match="unknown device 'tpu'"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="CUDA is not available"):
            resolve_device("cuda")


def test_config_validation():
    """Unknown cells, non-positive sizes and unknown keys in a stored config are refused."""
    with pytest.raises(ModelError, match="unknown cell"):
        ModelConfig(cell="lstmx")
    with pytest.raises(ModelError, match="hidden"):
        ModelConfig(hidden=0)
    with pytest.raises(ModelError, match="unknown model setting"):
        ModelConfig.from_dict({"cell": "gru", "dropout": 0.1})
    assert ModelConfig.from_dict(ModelConfig(cell="rnn").to_dict()).cell == "rnn"
    assert np.isclose(ModelConfig().obs_size, 13)


# --------------------------------------------------------------------------------------------
# The agent interface
# --------------------------------------------------------------------------------------------


def test_lstm_agent_follows_the_agent_interface(tmp_path):
    """RecurrentAgent is an agent.base.Agent: reset(n) gives n zero states, act maps (n, S, S) grids
    to (n, 6) uint8 buttons (probability > 0.5), each world keeps its own state (a batch acts
    like n separate agents), reset replays identically, and the last probabilities and the
    state are exposed."""
    from agent.base import Agent
    from agent.rnn.policy import RecurrentAgent

    save_model(tmp_path, _policy("lstm", seed=5), extra={"frame_skip": 4})
    agent = RecurrentAgent.from_dir(tmp_path)
    assert isinstance(agent, Agent)
    assert agent.view_radius == 2 and agent.frame_skip == 4 and agent.name.startswith("lstm:")
    seq = _obs(6, 3, seed=6).numpy()
    agent.reset(3)
    assert all(float(x.abs().sum()) == 0 for x in agent.state)
    batch = [agent.act(seq[t]) for t in range(6)]
    assert batch[0].shape == (3, 6) and batch[0].dtype == np.uint8
    assert np.array_equal(batch[-1], (agent.probabilities > 0.5).astype(np.uint8))
    agent.reset(3)
    assert all(np.array_equal(agent.act(seq[t]), batch[t]) for t in range(6))
    for i in range(3):
        agent.reset(1)
        alone = [agent.act(seq[t, i : i + 1]) for t in range(6)]
        assert all(np.array_equal(alone[t][0], batch[t][i]) for t in range(6))
    with pytest.raises(ValueError, match=r"\(n, 5, 5\)"):
        agent.act(np.zeros((2, 13, 13), np.float32))


def test_lstm_agent_sampling_and_partial_resets(tmp_path):
    """sample=True draws buttons from the probabilities (reproducible with a seed);
    reset_worlds zeroes only the chosen worlds' state."""
    from agent.rnn.policy import RecurrentAgent

    model = _policy("gru", seed=7)
    torch.nn.init.normal_(model.policy_head.bias, 0.0, 1.0)  # probabilities away from 0.5
    seq = _obs(5, 2, seed=8).numpy()
    runs = []
    for _ in range(2):
        agent = RecurrentAgent(model, sample=True, seed=11)
        agent.reset(2)
        runs.append(np.stack([agent.act(seq[t]) for t in range(5)]))
    assert np.array_equal(runs[0], runs[1])
    agent = RecurrentAgent(model)
    agent.reset(2)
    agent.act(seq[0])
    before = [x.clone() for x in agent.state]
    agent.reset_worlds(np.array([True, False]))
    assert all(float(x[:, 0].abs().sum()) == 0 for x in agent.state)
    assert all(torch.equal(x[:, 1], y[:, 1]) for x, y in zip(agent.state, before, strict=True))
