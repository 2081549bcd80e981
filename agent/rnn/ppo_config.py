"""PPO's settings (``PPOConfig``) and their file, ``configs/ppo.json`` (``load_ppo_config``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agent.rnn.model import ModelConfig
from agent.rnn.settings import JsonSettings, load_settings
from agent.runs import TrainError
from envs.checks import MAX_FRAME_SKIP

__all__ = ["DEFAULT_CONFIG", "PPO_MODEL", "PPOConfig", "load_ppo_config"]

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "ppo.json"

#: PPO's default policy (``configs/ppo.json``): sized for the 13 x 13 grid and a fast learning
#: step on 2 CPU cores (an MLP encoder of 64 and an LSTM of 64: 59,591 parameters, against
#: 338,775 for the conv 128 + LSTM 128 of ``ModelConfig()``; BENCHMARKS.md, issue 15).
PPO_MODEL = ModelConfig(hidden=64, encoder=64, encoder_type="mlp")


@dataclass
class PPOConfig(JsonSettings):
    """PPO settings. The recipe is cleanrl's ppo_atari_lstm (and sb3 RecurrentPPO); the defaults
    are tuned here for throughput on 2 CPU cores and for finishing 1-1 (issue 15): many envs
    (the world costs nearly nothing), short rollouts, a large learning rate on a small model."""

    WHAT = "PPO"

    num_envs: int = 128
    num_steps: int = 64  # rollout length per env (the BPTT sequence length)
    epochs: int = 4
    minibatches: int = 4  # split by environment: sequences stay whole
    lr: float = 3e-3
    anneal_lr: bool = True  # linearly to 0 over the frame budget
    gamma: float = 0.98
    gae_lambda: float = 0.9
    clip_coef: float = 0.2
    clip_vloss: bool = False
    norm_adv: bool = True
    ent_coef: float = 0.001
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    target_kl: float | None = None  # stop an update's epochs early above this KL
    reward_scale: float = 0.1  # env rewards (tiles, +50 flag, -25 death) times this
    bootstrap_truncated: bool = True  # truncated episodes bootstrap from their last value
    frame_skip: int = 5
    no_progress_frames: int | None = 300  # end stuck episodes (frames without progress)
    # null: a stuck episode is truncated (and bootstrapped); a number: it fails, paying this
    # (before reward_scale), like a death (envs.gym.episodes.RewardConfig.stall_penalty)
    stall_penalty: float | None = None
    # share of level draws given to the levels that fail most (agent.rnn.replay; 0: uniform)
    level_replay: float = 0.0
    checkpoint_every: int = 10  # updates between checkpoints (and model.pt rewrites)
    # updates at the start of a run in which only the value head learns: a warm start's policy
    # (e.g. cloned by BC, whose value head was never trained) is kept while its critic is fitted
    value_warmup: int = 0

    def __post_init__(self) -> None:
        def need(ok: bool, what: str) -> None:
            if not ok:
                raise TrainError(f"PPOConfig: {what}")

        self.check_types()
        for name in ("num_envs", "num_steps", "epochs", "minibatches"):
            v = getattr(self, name)
            need(v >= 1, f"{name} must be a positive integer, got {v!r}")
        need(
            1 <= self.frame_skip <= MAX_FRAME_SKIP,
            f"frame_skip must be from 1 to {MAX_FRAME_SKIP}, got {self.frame_skip}",
        )
        need(
            self.num_envs % self.minibatches == 0,
            f"num_envs ({self.num_envs}) must be a multiple of minibatches ({self.minibatches})",
        )
        need(self.lr > 0, f"lr must be positive, got {self.lr}")
        need(0 < self.gamma <= 1 and 0 <= self.gae_lambda <= 1, "gamma in (0, 1], gae in [0, 1]")
        need(self.clip_coef > 0, "clip_coef must be positive")
        need(self.max_grad_norm > 0, "max_grad_norm must be positive")
        need(self.reward_scale > 0, "reward_scale must be positive")
        need(self.ent_coef >= 0 and self.vf_coef >= 0, "ent_coef and vf_coef must be >= 0")
        need(
            self.target_kl is None or self.target_kl > 0,
            f"target_kl must be positive or null, got {self.target_kl}",
        )
        need(self.checkpoint_every >= 1, "checkpoint_every must be at least 1")
        need(self.value_warmup >= 0, f"value_warmup must be >= 0, got {self.value_warmup}")
        need(
            0.0 <= self.level_replay <= 1.0,
            f"level_replay must be within [0, 1], got {self.level_replay}",
        )
        need(
            self.stall_penalty is None or self.stall_penalty >= 0,
            f"stall_penalty must be >= 0 or null, got {self.stall_penalty}",
        )
        need(
            self.no_progress_frames is None or self.no_progress_frames >= 1,
            "no_progress_frames must be positive or null",
        )

    @property
    def frames_per_update(self) -> int:
        return self.num_envs * self.num_steps * self.frame_skip


def load_ppo_config(path: str | Path | None = None) -> tuple[ModelConfig, PPOConfig]:
    """The ``{"model": {...}, "ppo": {...}}`` settings file (default ``configs/ppo.json``)."""
    return load_settings(DEFAULT_CONFIG if path is None else path, "ppo", PPOConfig)
