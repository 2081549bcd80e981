"""PPO and BC settings: every field's type and range is checked where the settings are made
(from a file, from run.json, in code), so ``lr: Infinity`` or ``target_kl: "x"`` never reaches
a trainer; the error is one line naming the file and the field."""

from __future__ import annotations

import os

import pytest

from agent.neat.settings import level_seed, pool_seed, validation_seed
from agent.rnn.bc import BCConfig, load_bc_config
from agent.rnn.ppo_config import PPOConfig, load_ppo_config
from agent.rnn.settings import settings_from_dict, training_levels, training_seeds
from agent.runs import TrainError
from envs.levels import generator
from envs.levels.generator import (
    HELD_OUT_COUNT,
    clear_of_held_out,
    difficulty_spread,
    held_out_seed,
    held_out_seeds,
)


@pytest.mark.parametrize(
    ("cls", "values", "match"),
    [
        (PPOConfig, {"lr": float("inf")}, "PPOConfig.lr must be a finite number"),
        (PPOConfig, {"lr": float("nan")}, "PPOConfig.lr must be a finite number"),
        (PPOConfig, {"target_kl": "x"}, "PPOConfig.target_kl must be a number"),
        (PPOConfig, {"target_kl": 0}, "target_kl must be positive or null"),
        (PPOConfig, {"gamma": "0.99"}, "PPOConfig.gamma must be a number"),
        (PPOConfig, {"num_envs": 2.0, "minibatches": 1}, "num_envs must be an integer"),
        (PPOConfig, {"anneal_lr": 1}, "anneal_lr must be true or false"),
        (PPOConfig, {"no_progress_frames": "300"}, "no_progress_frames must be an integer"),
        (PPOConfig, {"frame_skip": 0}, "frame_skip must be"),
        (PPOConfig, {"frame_skip": 10**6}, "frame_skip must be from 1 to"),
        (PPOConfig, {"ent_coef": -1.0}, "ent_coef and vf_coef must be >= 0"),
        (PPOConfig, {"max_grad_norm": 10**400}, "max_grad_norm must be a finite number"),
        (BCConfig, {"lr": float("inf")}, "BCConfig.lr must be a finite number"),
        (BCConfig, {"lr": -1e-3}, "lr > 0"),
        (BCConfig, {"beta": None}, "BCConfig.beta must be a number"),
        (BCConfig, {"beta_decay": 2.0}, "beta_decay must be within"),
        (BCConfig, {"sample": "yes"}, "BCConfig.sample must be true or false"),
        (BCConfig, {"max_steps": 0}, "max_steps must be a positive"),
        (BCConfig, {"weight_decay": float("-inf")}, "weight_decay must be a finite number"),
        (BCConfig, {"frame_skip": 0}, "frame_skip must be from 1"),
        (BCConfig, {"window": True}, "BCConfig.window must be an integer"),
    ],
)
def test_mistyped_nonfinite_or_out_of_range_settings_are_refused(cls, values, match):
    """A settings object of the wrong type, not finite or out of range is a one-line
    TrainError naming the source and the field, whether made from a dict or in code."""
    with pytest.raises(TrainError, match=match) as info:
        settings_from_dict(cls, values, "s.json", cls.WHAT)
    assert str(info.value).startswith("s.json: ") and "\n" not in str(info.value)
    with pytest.raises(TrainError, match=match):
        cls(**values)


def test_the_defaults_and_null_options_pass():
    """The shipped settings files and the optional fields left null are valid settings."""
    assert load_ppo_config()[1] == PPOConfig()
    assert load_bc_config()[1] == BCConfig()
    assert PPOConfig(target_kl=0.02, no_progress_frames=None).target_kl == 0.02
    assert BCConfig(no_progress_frames=None, lr=1).lr == 1


@pytest.mark.parametrize(
    ("loader", "section", "text", "match"),
    [
        (load_ppo_config, "ppo", '{"ppo": {"lr": Infinity}}', "Infinity is not allowed"),
        (load_ppo_config, "ppo", '{"ppo": {"lr": 1e999}}', "1e999 is not allowed"),
        (load_ppo_config, "ppo", '{"ppo": {"target_kl": "x"}}', "target_kl must be a number"),
        (load_bc_config, "bc", '{"bc": {"lr": NaN}}', "NaN is not allowed"),
        (load_bc_config, "bc", '{"bc": ' + "[" * 3000 + "]" * 3000 + "}", "nested more than"),
    ],
)
def test_settings_files_with_nonfinite_or_mistyped_values(tmp_path, loader, section, text, match):
    """A settings file holding Infinity, NaN, 1e999, a mistyped field or JSON nested thousands
    deep is a one-line TrainError naming the file (not a RecursionError, not a run with an
    infinite learning rate)."""
    path = tmp_path / f"{section}.json"
    path.write_text(text)
    with pytest.raises(TrainError, match=match) as info:
        loader(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_a_settings_file_that_is_a_fifo_is_refused(tmp_path):
    """A settings path that is a FIFO is refused at once (no hang)."""
    path = tmp_path / "ppo.json"
    os.mkfifo(path)
    with pytest.raises(TrainError, match="a FIFO"):
        load_ppo_config(path)


def test_no_trainer_draws_a_held_out_seed(monkeypatch):
    """Every trainer's generated-level seeds (PPO/BC training levels, NEAT's schedule, pool and
    validation levels) pass through ``clear_of_held_out``: a seed that is a held-out level's is
    replaced by one that is not, repeatably, and any other seed is kept as it is."""
    held = held_out_seeds()
    assert len(held) == HELD_OUT_COUNT and held_out_seed(0) in held
    sub = clear_of_held_out(held_out_seed(3))
    assert sub not in held and sub == clear_of_held_out(held_out_seed(3))
    raw = {
        "ppo": training_seeds(0, 3),
        "schedule": [level_seed(0, 5, i) for i in range(3)],
        "pool": [pool_seed(0, i) for i in range(3)],
        "validation": [validation_seed(0, i) for i in range(3)],
    }
    # declare the seeds each trainer drew held out: every one must now be replaced
    monkeypatch.setattr(generator, "held_out_seeds", lambda: frozenset(sum(raw.values(), [])))
    again = {
        "ppo": training_seeds(0, 3),
        "schedule": [level_seed(0, 5, i) for i in range(3)],
        "pool": [pool_seed(0, i) for i in range(3)],
        "validation": [validation_seed(0, i) for i in range(3)],
    }
    for name, seeds in again.items():
        assert not set(seeds) & set(sum(raw.values(), [])), name


def test_a_difficulty_range_spreads_the_generated_levels_evenly():
    """A (lo, hi) range gives difficulties evenly spaced from lo to hi, both included; one
    difficulty is used for every level; a reversed range is a ValueError."""
    assert difficulty_spread((0.2, 0.8), 4) == [0.2, 0.4, 0.6, 0.8]
    assert difficulty_spread((0.3, 0.9), 1) == [0.3]
    assert difficulty_spread(0.6, 3) == [0.6, 0.6, 0.6]
    with pytest.raises(ValueError, match="lo <= hi"):
        difficulty_spread((0.9, 0.2), 3)
    levels = training_levels([], 3, (0.2, 0.8), 40, seed=1)
    assert [lv.meta["difficulty"] for lv in levels] == ["0.2", "0.5", "0.8"]
