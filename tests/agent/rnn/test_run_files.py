"""The run directories of PPO and BC: TensorBoard events and the shared metrics keys, and run
files written before the package moved (tests/agent/rnn/data/old-runs) still load and resume."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from agent.base import load_agent
from agent.rnn.bc import BCConfig, train_bc
from agent.rnn.model import ModelConfig
from agent.rnn.policy import RecurrentAgent
from agent.rnn.ppo import PPOConfig, train_ppo
from agent.rnn.runfiles import upgrade_metrics
from agent.runs import SHARED_KEYS, read_metrics_file
from tests.helpers.rnn import close_metrics, close_weights, flat_level, pits_level, untimed, weights

OLD_RUNS = Path(__file__).parent / "data" / "old-runs"
TINY_MODEL = ModelConfig(hidden=8, encoder=8, view_radius=2, encoder_type="mlp")


def scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar of the run's TensorBoard event files: tag -> [(step, value)]."""
    assert list(run_dir.glob("events.out.tfevents.*")), f"no event file in {run_dir}"
    acc = EventAccumulator(str(run_dir))
    acc.Reload()
    return {t: [(e.step, e.value) for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}


def check_shared_keys(run_dir: Path, trainer: str) -> list[dict]:
    lines = read_metrics_file(run_dir / "metrics.jsonl")
    assert lines
    for line in lines:
        assert set(SHARED_KEYS) <= set(line), set(SHARED_KEYS) - set(line)
        assert line["trainer"] == trainer
    frames = [m["frames"] for m in lines]
    assert frames == sorted(frames) and frames[0] > 0  # cumulative
    return lines


@pytest.mark.slow
def test_ppo_run_holds_tensorboard_events_and_the_shared_keys(tmp_path):
    """A PPO run directory holds an event file whose charts/completion_rate and
    losses/policy_loss scalars are the metrics lines' values at their ``frames``; every line
    has every shared key: ``iteration`` = updates, ``frames`` cumulative, ``episodes`` = the
    rollout's ended episodes."""
    cfg = PPOConfig(num_envs=4, num_steps=16, epochs=1, minibatches=1, no_progress_frames=20)
    out = tmp_path / "ppo"
    flat = flat_level()
    train_ppo(
        TINY_MODEL, cfg, levels=[flat], frames=2 * cfg.frames_per_update, out_dir=out,
        device="cpu", progress=False,
    )  # fmt: skip
    lines = check_shared_keys(out, "ppo")
    assert [m["iteration"] for m in lines] == [1, 2]
    assert [m["frames"] for m in lines] == [cfg.frames_per_update, 2 * cfg.frames_per_update]
    assert lines[0]["episodes"] > 0 and lines[1]["episodes"] > 0
    assert lines[1]["episodes_total"] == lines[0]["episodes"] + lines[1]["episodes"]
    tb = scalars(out)
    for tag, key in (("charts/completion_rate", "completion_rate"), ("losses/policy_loss",
                     "policy_loss"), ("charts/episodic_return", "episode_return")):  # fmt: skip
        assert tb[tag] == [(m["frames"], pytest.approx(m[key])) for m in lines]


@pytest.mark.slow
def test_bc_run_holds_tensorboard_events_and_the_shared_keys(tmp_path):
    """A BC run directory holds an event file with charts/completion_rate and losses/bc_loss
    at each line's ``frames``; every line has every shared key: ``iteration`` = gradient
    steps, ``frames`` = demonstration + evaluation frames so far, ``episodes`` = the
    evaluation's episodes (one per level) and its completion rate and progress."""
    cfg = BCConfig(updates=4, eval_every=2, window=8, batch_windows=2, dagger_iters=0)
    out = tmp_path / "bc"
    flat = flat_level()
    res = train_bc(TINY_MODEL, cfg, [flat], out_dir=out, device="cpu", progress=False)
    lines = check_shared_keys(out, "bc")
    assert [m["iteration"] for m in lines] == [2, 4]
    assert [m["episodes"] for m in lines] == [1, 1]
    assert lines[0]["frames"] > lines[0]["demo_frames"] and lines[-1]["frames"] == res.env_frames
    assert all(m["max_progress"] == m["progress"] for m in lines)  # one evaluation episode
    tb = scalars(out)
    for tag, key in (("charts/completion_rate", "completion_rate"), ("losses/bc_loss", "loss")):
        assert tb[tag] == [(m["frames"], pytest.approx(m[key])) for m in lines]


def test_model_files_from_before_the_move_load_as_agents():
    """model.pt + model.json of a PPO and a BC run written before the package moved load
    (through agent.base.load_agent) as recurrent agents that play."""
    for name in ("ppo", "bc"):
        agent = load_agent(OLD_RUNS / name)
        assert isinstance(agent, RecurrentAgent) and agent.view_radius == 2
        agent.reset(2)
        buttons = agent.act(np.zeros((2, 5, 5), np.float32))
        assert buttons.shape == (2, 6) and buttons.dtype == np.uint8


def _copy(name: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(OLD_RUNS / name, tmp_path / name))


def _old_lines(name: str) -> list[dict]:
    return [json.loads(x) for x in (OLD_RUNS / name).read_text().splitlines()]


@pytest.mark.slow
def test_ppo_checkpoint_from_before_the_move_resumes_exactly(tmp_path):
    """A PPO run stopped after 2 of 3 updates by the code before the move resumes with
    today's: its third update ends with the weights of the old code's uninterrupted run (to
    1e-7: that run was made on another CPU, and today's learning step runs a rollout's episode
    pieces through the core in one batch, so sums round differently), and
    the metrics lines (the checkpoint's, given the shared keys, and the new one) equal that
    run's, renamed."""
    out = _copy("ppo", tmp_path)
    res = train_ppo(resume=out, device="cpu", progress=False)
    assert res.resumed_from == 2 and res.updates == 3
    assert close_weights(weights(out), weights(OLD_RUNS / "ppo-full-model.pt"))
    old = upgrade_metrics(_old_lines("ppo-full-metrics.jsonl"), "ppo", {"update": "iteration"})
    assert close_metrics(untimed(res.metrics), untimed(old))
    check_shared_keys(out, "ppo")


@pytest.mark.slow
def test_bc_checkpoint_from_before_the_move_resumes_to_the_same_model(tmp_path):
    """A BC run stopped in its third round by the code before the move resumes with today's
    episode loop and trainer: the finished run has the weights, dataset size, losses,
    evaluations and expert searches of the old code's uninterrupted run (weights to 1e-7, as
    for PPO above), and every metrics
    line (the old ones renamed) has the shared keys."""
    out = _copy("bc", tmp_path)
    pits = pits_level()
    res = train_bc(levels=[pits], resume=out, device="cpu", progress=False)
    assert close_weights(weights(out), weights(OLD_RUNS / "bc-full-model.pt"))
    old = _old_lines("bc-full-metrics.jsonl")
    assert res.updates == old[-1]["update"] and res.dataset_steps == old[-1]["dataset_steps"]
    keys = ("round", "epoch", "loss", "accuracy", "dataset_steps", "expert_searches_total")
    pairs = (("iteration", "update"), ("completion_rate", "eval_completion_rate"),
             ("progress", "eval_progress"), *((k, k) for k in keys))  # fmt: skip
    assert close_metrics(
        [{n: m[n] for n, _ in pairs} for m in res.metrics],
        [{n: m[o] for n, o in pairs} for m in old],
    )
    check_shared_keys(out, "bc")
