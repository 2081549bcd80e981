"""What a PPO or BC resume checks before it continues a run, and what a run stopped before its
first checkpoint leaves: a directory that a fresh run can use again."""

from __future__ import annotations

import errno
import shutil

import pytest

from agent.rnn.bc import BCConfig, BCTrainer, train_bc
from agent.rnn.model import ModelConfig
from agent.rnn.ppo import PPOConfig, PPOTrainer, train_ppo
from agent.rnn.runfiles import CHECKPOINT_FILE
from agent.runs import TrainError
from envs.levels.level import LevelError
from tests.helpers.neat import snapshot
from tests.helpers.rnn import flat_level, same_weights, untimed, weights

TINY_MODEL = ModelConfig(hidden=8, encoder=8, view_radius=2, encoder_type="mlp")
PPO = PPOConfig(num_envs=2, num_steps=8, epochs=1, minibatches=1, no_progress_frames=20)
BC = BCConfig(updates=4, eval_every=4, window=8, batch_windows=2)


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_ppo_run_stopped_before_its_first_checkpoint_can_start_again(tmp_path, monkeypatch):
    """A full disk at PPO's first checkpoint leaves run.json and an empty metrics file:
    ``resume`` says there is nothing to resume, and a fresh run in the same directory trains
    exactly like one in a new directory."""
    kw = dict(levels=[flat_level()], frames=PPO.frames_per_update, device="cpu", progress=False)
    with monkeypatch.context() as mp:
        mp.setattr(PPOTrainer, "checkpoint", _disk_full)
        with pytest.raises(OSError, match="No space left"):
            train_ppo(TINY_MODEL, PPO, out_dir=tmp_path / "run", **kw)
    assert (tmp_path / "run" / "run.json").exists()
    with pytest.raises(TrainError, match="nothing to resume"):
        train_ppo(resume=tmp_path / "run", device="cpu", progress=False)
    again = train_ppo(TINY_MODEL, PPO, out_dir=tmp_path / "run", **kw)
    other = train_ppo(TINY_MODEL, PPO, out_dir=tmp_path / "other", **kw)
    assert untimed(again.metrics) == untimed(other.metrics)
    with pytest.raises(TrainError, match="already holds a training run"):
        train_ppo(TINY_MODEL, PPO, out_dir=tmp_path / "run", **kw)


def test_a_bc_run_stopped_before_its_first_checkpoint_can_start_again(tmp_path, monkeypatch):
    """BC writes its dataset, then the starting checkpoint, and only then a model: a full disk
    at that checkpoint leaves no model, so a fresh run in the same directory starts over and
    ends with the weights of a run in a new directory."""
    kw = dict(dagger_iters=0, device="cpu", progress=False)
    with monkeypatch.context() as mp:
        mp.setattr(BCTrainer, "checkpoint", _disk_full)
        with pytest.raises(OSError, match="No space left"):
            train_bc(TINY_MODEL, BC, [flat_level()], out_dir=tmp_path / "run", **kw)
    assert not (tmp_path / "run" / "model.pt").exists()
    train_bc(TINY_MODEL, BC, [flat_level()], out_dir=tmp_path / "run", **kw)
    train_bc(TINY_MODEL, BC, [flat_level()], out_dir=tmp_path / "other", **kw)
    assert same_weights(weights(tmp_path / "run"), weights(tmp_path / "other"))


def test_a_ppo_checkpoint_copied_in_from_another_run_is_refused(tmp_path):
    """A PPO checkpoint of a run with another seed, copied over a run's own, is refused in one
    line before anything is written (its model and metrics are not replaced)."""
    kw = dict(levels=[flat_level()], frames=PPO.frames_per_update, device="cpu", progress=False)
    train_ppo(TINY_MODEL, PPO, out_dir=tmp_path / "run", seed=0, **kw)
    train_ppo(TINY_MODEL, PPO, out_dir=tmp_path / "theirs", seed=1, **kw)
    shutil.copy(tmp_path / "theirs" / CHECKPOINT_FILE, tmp_path / "run" / CHECKPOINT_FILE)
    before = snapshot(tmp_path / "run")
    with pytest.raises(TrainError, match="checkpoint of another run") as info:
        train_ppo(resume=tmp_path / "run", frames=2 * PPO.frames_per_update, device="cpu",
                  progress=False)  # fmt: skip
    assert "\n" not in str(info.value)
    assert snapshot(tmp_path / "run") == before


def test_a_bc_run_keeps_its_level_files(tmp_path, monkeypatch):
    """A BC run on a relative level path resumes from another working directory and ends like
    an unbroken run; once the level file is edited, resuming is refused in one line."""
    level = tmp_path / "levels" / "flat.txt"
    level.parent.mkdir()
    level.write_text(flat_level().to_text())
    kw = dict(device="cpu", progress=False)
    monkeypatch.chdir(level.parent)
    train_bc(TINY_MODEL, BC, ["flat.txt"], out_dir=tmp_path / "split", dagger_iters=0, **kw)
    whole = train_bc(TINY_MODEL, BC, ["flat.txt"], out_dir=tmp_path / "whole", dagger_iters=1,
                     **kw)  # fmt: skip
    monkeypatch.chdir(tmp_path)
    split = train_bc(resume=tmp_path / "split", dagger_iters=1, **kw)
    assert untimed(split.metrics) == untimed(whole.metrics)
    level.write_text(flat_level().to_text().replace("F", ".", 1))
    before = snapshot(tmp_path / "split")
    with pytest.raises(LevelError, match="edited since the run started"):
        train_bc(resume=tmp_path / "split", dagger_iters=2, **kw)
    assert snapshot(tmp_path / "split") == before
