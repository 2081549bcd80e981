"""Recurrent PPO (PPO-LSTM/GRU/RNN) on the native vector env, with truncated BPTT done right.

One *update* (cleanrl's ``ppo_atari_lstm`` / sb3-contrib's ``RecurrentPPO`` recipe):

1. **Rollout.** ``num_envs`` worlds play ``num_steps`` steps each from ``PlatformerVectorEnv``.
   The recurrent state at the start of the rollout is stored (one per env), and so is, for every
   step, whether its observation starts a new episode (``starts``). Buttons are sampled from 6
   independent Bernoullis with a seeded ``torch.Generator``. An ending episode is reset in the
   same step (``env.reset(options={"reset_mask": done})``), so no transition of the rollout
   crosses from one episode into the next and no step is wasted on Gymnasium's ``NEXT_STEP``
   no-op. Truncated episodes (no progress for ``no_progress_frames``, time limit) bootstrap
   with the value of their last observation; terminated ones (death, flag) do not.
2. **GAE** (``gamma``, ``gae_lambda``) over the rollout, cut at episode starts.
3. **Epochs of minibatches.** The envs (not the time steps) are split into ``minibatches``
   groups, so each minibatch holds whole ``num_steps``-long sequences. Each is re-run through
   the model from its stored start state with the ``starts`` mask: the core is called once per
   stretch between episode boundaries (``RecurrentPolicy.forward``), never once per step,
   and the state is zeroed exactly where an episode starts. Loss: clipped surrogate + clipped
   value loss (``vf_coef``) - entropy bonus (``ent_coef``); Adam with gradient-norm clipping
   (``max_grad_norm``) and a learning rate annealed linearly to 0 over the frame budget.

Rewards are the env's (tiles of progress, +50 flag, -25 death) times ``reward_scale``;
``metrics.jsonl`` reports the unscaled episode returns.

Run directory (``out``)
-----------------------
``run.json`` (everything that defines the run: model and PPO settings, levels, seed),
``model.pt`` + ``model.json`` (latest weights, see ``agent.rnn.model``), ``metrics.jsonl`` (one
line per update), ``checkpoint-latest.pt`` (model, optimizer, generator and env state, the
rollout's next observation and recurrent state, metrics). All written atomically. A resumed run
continues bit-for-bit where the checkpoint left off (same device), and ``frames`` counts all
frames, resumes included.

Frames are game frames: agent steps x ``frame_skip`` x ``num_envs`` (the same unit as NEAT's
``frames_simulated``).
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from agent.files import atomic_write_text, atomic_write_with
from agent.rnn.model import (
    ModelConfig,
    ModelError,
    RecurrentPolicy,
    State,
    resolve_device,
    save_model,
    torch_threads,
)
from envs.levels.level import Level, load_level

__all__ = [
    "CHECKPOINT_FILE",
    "METRICS_FILE",
    "RUN_FILE",
    "PPOConfig",
    "PPOResult",
    "PPOTrainer",
    "Rollout",
    "TrainError",
    "bernoulli_entropy",
    "bernoulli_log_prob",
    "compute_gae",
    "env_minibatches",
    "load_ppo_config",
    "train_ppo",
    "training_levels",
]

RUN_FILE = "run.json"
METRICS_FILE = "metrics.jsonl"
CHECKPOINT_FILE = "checkpoint-latest.pt"
DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "ppo.json"

#: Metrics that measure time (they differ between identical runs).
TIMING_KEYS = (
    "wall_seconds",
    "frames_per_second",
    "rollout_seconds",
    "update_seconds",
    "first_completion_seconds",
)


class TrainError(ValueError):
    """Training cannot start or go on (bad settings, run directory, checkpoint); one line."""


@dataclass
class PPOConfig:
    """PPO settings; defaults follow cleanrl's ppo_atari_lstm (and sb3 RecurrentPPO)."""

    num_envs: int = 16
    num_steps: int = 128  # rollout length per env (the BPTT sequence length)
    epochs: int = 4
    minibatches: int = 4  # split by environment: sequences stay whole
    lr: float = 2.5e-4
    anneal_lr: bool = True  # linearly to 0 over the frame budget
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_coef: float = 0.1
    clip_vloss: bool = True
    norm_adv: bool = True
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    target_kl: float | None = None  # stop an update's epochs early above this KL
    reward_scale: float = 0.1  # env rewards (tiles, +50 flag, -25 death) times this
    bootstrap_truncated: bool = True  # truncated episodes bootstrap from their last value
    frame_skip: int = 5
    no_progress_frames: int | None = 300  # end stuck episodes (frames without progress)
    checkpoint_every: int = 10  # updates between checkpoints (and model.pt rewrites)

    def __post_init__(self) -> None:
        def need(ok: bool, what: str) -> None:
            if not ok:
                raise TrainError(f"PPOConfig: {what}")

        for name in ("num_envs", "num_steps", "epochs", "minibatches", "frame_skip"):
            v = getattr(self, name)
            need(isinstance(v, int) and v >= 1, f"{name} must be a positive integer, got {v!r}")
        need(
            self.num_envs % self.minibatches == 0,
            f"num_envs ({self.num_envs}) must be a multiple of minibatches ({self.minibatches})",
        )
        need(self.lr > 0, f"lr must be positive, got {self.lr}")
        need(0 < self.gamma <= 1 and 0 <= self.gae_lambda <= 1, "gamma in (0, 1], gae in [0, 1]")
        need(self.clip_coef > 0, "clip_coef must be positive")
        need(self.max_grad_norm > 0, "max_grad_norm must be positive")
        need(self.reward_scale > 0, "reward_scale must be positive")
        need(self.checkpoint_every >= 1, "checkpoint_every must be at least 1")
        need(
            self.no_progress_frames is None or self.no_progress_frames >= 1,
            "no_progress_frames must be positive or null",
        )

    @property
    def frames_per_update(self) -> int:
        return self.num_envs * self.num_steps * self.frame_skip

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "ppo settings") -> PPOConfig:
        return settings_from_dict(cls, d, source, "PPO")


def settings_from_dict(cls: type, d: Any, source: str, what: str) -> Any:
    """A settings dataclass from a JSON object: unknown keys and bad values are TrainErrors
    naming ``source``."""
    if not isinstance(d, dict):
        raise TrainError(f"{source}: the {what} settings must be a JSON object")
    unknown = sorted(set(d) - {f.name for f in dataclasses.fields(cls)})
    if unknown:
        raise TrainError(f"{source}: unknown {what} setting(s) {', '.join(unknown)}")
    try:
        return cls(**d)
    except (TrainError, TypeError) as exc:
        raise TrainError(f"{source}: {exc}") from None


def load_settings(path: str | Path, section: str, cls: type) -> tuple[ModelConfig, Any]:
    """A ``{"model": {...}, SECTION: {...}}`` settings file: the model and ``cls`` settings."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TrainError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TrainError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or set(data) - {"model", section, "comment"}:
        raise TrainError(f'{path}: expected an object with "model" and "{section}" sections')
    try:
        model = ModelConfig.from_dict(data.get("model", {}), str(path))
    except ModelError as exc:
        raise TrainError(str(exc)) from None
    return model, cls.from_dict(data.get(section, {}), str(path))


def load_ppo_config(path: str | Path | None = None) -> tuple[ModelConfig, PPOConfig]:
    """The ``{"model": {...}, "ppo": {...}}`` settings file (default ``configs/ppo.json``)."""
    return load_settings(DEFAULT_CONFIG if path is None else path, "ppo", PPOConfig)


# --------------------------------------------------------------------------------------------
# Pieces (tested on their own)
# --------------------------------------------------------------------------------------------


def bernoulli_log_prob(logits: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """log p(actions) under 6 independent Bernoullis, summed over the last axis."""
    return -F.binary_cross_entropy_with_logits(logits, actions, reduction="none").sum(-1)


def bernoulli_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Entropy of 6 independent Bernoullis, summed over the last axis."""
    p = torch.sigmoid(logits)
    return (p * F.softplus(-logits) + (1 - p) * F.softplus(logits)).sum(-1)


def compute_gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    starts: torch.Tensor,
    next_value: torch.Tensor,
    next_start: torch.Tensor,
    gamma: float,
    lam: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimates and returns over a (T, N) rollout.

    ``starts[t]`` marks ``obs[t]`` as the first of an episode, so the episode of step ``t``
    ended after it when ``starts[t + 1]`` (``next_start`` after the last step); nothing is then
    bootstrapped across the boundary.
    """
    T = rewards.shape[0]
    adv = torch.zeros_like(rewards)
    last = torch.zeros_like(next_value)
    for t in reversed(range(T)):
        if t == T - 1:
            nonterminal, nxt = 1.0 - next_start.float(), next_value
        else:
            nonterminal, nxt = 1.0 - starts[t + 1].float(), values[t + 1]
        delta = rewards[t] + gamma * nxt * nonterminal - values[t]
        last = delta + gamma * lam * nonterminal * last
        adv[t] = last
    return adv, adv + values


def env_minibatches(num_envs: int, minibatches: int, generator: torch.Generator) -> list:
    """Env indices shuffled and split into equal groups: a minibatch holds whole sequences."""
    perm = torch.randperm(num_envs, generator=generator)
    return list(perm.view(minibatches, -1))


def _level_seed(seed: int, index: int) -> int:
    return int(np.random.SeedSequence([seed, 7919, index]).generate_state(1)[0])


def training_levels(
    levels: Sequence[str | Path | Level] | None,
    generated: int | None = None,
    difficulty: float = 0.3,
    length: int = 150,
    seed: int = 0,
) -> list[Level]:
    """The fixed levels plus ``generated`` generated ones (seeds derived from ``seed``)."""
    out = [x if isinstance(x, Level) else load_level(x) for x in (levels or [])]
    if generated:
        from envs.levels.generator import generate_level

        try:
            out += [
                generate_level(_level_seed(seed, i), difficulty, length) for i in range(generated)
            ]
        except ValueError as exc:
            raise TrainError(f"generated levels: {exc}") from None
    if not out:
        raise TrainError("no training levels: give levels, generated levels, or both")
    return out


@dataclass
class Rollout:
    """One rollout of ``num_steps`` x ``num_envs``, time-major; ``starts[t, i]`` = 1 where
    ``obs[t, i]`` is the first observation of an episode; ``init_state`` is the recurrent state
    of every env before ``obs[0]``."""

    obs: torch.Tensor  # (T, N, S, S)
    actions: torch.Tensor  # (T, N, 6)
    logprobs: torch.Tensor  # (T, N) under the policy that acted
    values: torch.Tensor  # (T, N)
    starts: torch.Tensor  # (T, N) float 0/1
    rewards: torch.Tensor  # (T, N) scaled, with truncation bootstraps
    init_state: State
    advantages: torch.Tensor | None = None
    returns: torch.Tensor | None = None
    episodes: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    seconds: float = 0.0


# --------------------------------------------------------------------------------------------
# Run files
# --------------------------------------------------------------------------------------------


@dataclass
class PPOResult:
    out: Path
    updates: int
    frames: int
    wall_seconds: float
    metrics: list[dict[str, Any]]
    first_completion_frames: int | None
    first_completion_seconds: float | None
    model_dir: Path
    stopped_early: bool = False
    resumed_from: int | None = None  # the update the run resumed at


def _write_metrics(out: Path, metrics: list[dict[str, Any]]) -> None:
    atomic_write_text(out / METRICS_FILE, "".join(json.dumps(m) + "\n" for m in metrics))


def _append_metrics(out: Path, line: dict[str, Any]) -> None:
    with open(out / METRICS_FILE, "a", encoding="utf-8") as f:
        f.write(json.dumps(line) + "\n")


def check_fresh_out(out: Path, names: Sequence[str]) -> None:
    """Refuse to start a run over another run's files."""
    taken = [n for n in names if (out / n).exists()]
    if taken:
        raise TrainError(
            f"{out} already holds a training run ({taken[0]}); continue it with --resume {out} "
            "or choose another --out"
        )


def read_run_file(run_dir: Path, algo: str) -> dict[str, Any]:
    if not run_dir.is_dir():
        raise TrainError(f"{run_dir}: no such run directory to resume")
    path = run_dir / RUN_FILE
    try:
        run = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TrainError(f"{run_dir}: nothing to resume ({RUN_FILE} is missing)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TrainError(f"{path}: unreadable ({exc})") from None
    if not isinstance(run, dict) or run.get("algo") != algo:
        got = run.get("algo") if isinstance(run, dict) else None
        raise TrainError(f"{run_dir}: a {got!r} run, not a {algo!r} run")
    return run


def resume_settings(
    resume: str | Path,
    out_dir: str | Path | None,
    algo: str,
    cls: type,
    model_config: ModelConfig | None,
    algo_config: Any,
    given: dict[str, Any],
) -> tuple[Path, dict[str, Any], ModelConfig, Any]:
    """The run directory, its ``run.json`` and its model and algorithm settings, for a resume.

    Settings passed in (``model_config``, ``algo_config`` and the ``given`` levels, generated
    count and seed; None means "the run's own") must equal the run's: a resumed run continues
    the same experiment. Raises ``TrainError`` naming the first that differs.
    """
    out = Path(resume)
    if out_dir is not None and Path(out_dir).resolve() != out.resolve():
        raise TrainError("out_dir and resume name different directories; give resume only")
    run = read_run_file(out, algo)
    source = str(out / RUN_FILE)
    saved_model = ModelConfig.from_dict(run["model"], source)
    saved_algo = cls.from_dict(run[algo], source)
    levels = given.get("levels")
    if levels is not None:
        given = {**given, "levels": [x.name if isinstance(x, Level) else str(x) for x in levels]}
    saved = {"model": saved_model, algo: saved_algo, **{k: run.get(k) for k in given}}
    given = {"model": model_config, algo: algo_config, **given}
    for key, value in given.items():
        if value is not None and value != saved[key]:
            raise TrainError(
                f"{out}: the run was trained with other {key} settings; they cannot change "
                "on resume (start a new run instead)"
            )
    return out, run, saved_model, saved_algo


def load_checkpoint(out: Path) -> dict[str, Any]:
    """The run's latest checkpoint (tensors only, no pickled objects), or ``TrainError``."""
    path = out / CHECKPOINT_FILE
    if not path.is_file():
        raise TrainError(f"{out}: nothing to resume ({CHECKPOINT_FILE} is missing)")
    try:
        ck = torch.load(io.BytesIO(path.read_bytes()), map_location="cpu", weights_only=True)
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise TrainError(f"{path}: unreadable checkpoint ({first})") from None
    if not isinstance(ck, dict):
        raise TrainError(f"{path}: not a checkpoint of this project")
    return ck


def _pack(obj: dict[str, Any]) -> str:
    return json.dumps(obj)


def _rng_states(rngs: Sequence[np.random.Generator]) -> list[dict[str, Any]]:
    return [r.bit_generator.state for r in rngs]


def _set_rng_states(rngs: Sequence[np.random.Generator], states: list[dict[str, Any]]) -> None:
    for r, s in zip(rngs, states, strict=True):
        r.bit_generator.state = s


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------


def train_ppo(
    model_config: ModelConfig | None = None,
    ppo_config: PPOConfig | None = None,
    *,
    levels: Sequence[str | Path | Level] | None = None,
    generated: int | None = None,
    difficulty: float = 0.3,
    length: int = 150,
    frames: int | None = None,
    seed: int | None = None,
    out_dir: str | Path | None = None,
    device: str | torch.device = "auto",
    resume: str | Path | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
    callback: Callable[[dict[str, Any]], bool | None] | None = None,
    threads: int | None = 1,
) -> PPOResult:
    """Train (or with ``resume`` = a run directory, continue) a recurrent policy with PPO.

    ``levels``: built-in names or files (default ``["1-1"]`` unless ``generated``);
    ``generated``: that many generated levels (``difficulty``, ``length``, seeds from ``seed``)
    join the training set; each episode plays one training level drawn at random. ``frames``
    is the game-frame budget of the whole run, resumes included (default: 2,000,000, or on
    resume the run's own budget). ``callback(metrics)`` is
    called after every update; returning True stops the run (checkpoint and model written).
    On ``resume`` the run's own settings are used; passing different ones is an error, except
    ``frames``, ``device``, ``progress``. ``threads``: torch CPU threads while training (1 by
    default, see ``agent.rnn.model.torch_threads``; None leaves torch's). Bad input raises
    ``TrainError``/``ModelError``/``DeviceError`` (``ValueError``s) before anything is written.
    """
    dev = resolve_device(device)
    if frames is not None and frames < 1:
        raise TrainError(f"frames must be at least 1, got {frames}")
    if resume is not None:
        given = {"levels": levels, "generated": generated, "seed": seed}
        out, run, model_config, ppo_config = resume_settings(
            resume, out_dir, "ppo", PPOConfig, model_config, ppo_config, given
        )
        frames = int(run["frames"]) if frames is None else frames
        level_names = run["levels"]
        # Level objects given on resume stand in for their names (levels made in memory)
        specs = list(levels) if levels is not None else list(level_names)
        generated, difficulty, length, seed = (
            run["generated"],
            run["difficulty"],
            run["length"],
            run["seed"],
        )
        ckpt = load_checkpoint(out)
    else:
        out = (
            Path(out_dir)
            if out_dir is not None
            else Path("runs") / time.strftime("ppo-%Y%m%d-%H%M%S")
        )
        model_config = model_config or ModelConfig()
        ppo_config = ppo_config or PPOConfig()
        frames = 2_000_000 if frames is None else frames
        seed = 0 if seed is None else seed
        specs = list(levels) if levels is not None else []
        if not specs and not generated:
            specs = ["1-1"]
        level_names = [x.name if isinstance(x, Level) else str(x) for x in specs]
        check_fresh_out(out, (RUN_FILE, METRICS_FILE, CHECKPOINT_FILE, "model.pt"))
        ckpt = None
    if seed < 0:
        raise TrainError(f"seed must be >= 0, got {seed}")
    level_objs = training_levels(specs, generated, difficulty, length, seed)
    run = {
        "algo": "ppo",
        "model": model_config.to_dict(),
        "ppo": ppo_config.to_dict(),
        "levels": level_names,
        "generated": generated,
        "difficulty": difficulty,
        "length": length,
        "seed": seed,
        "frames": int(frames),
    }
    with torch_threads(threads):
        trainer = PPOTrainer(model_config, ppo_config, level_objs, run, out, dev, progress, log)
        return trainer.run(ckpt, callback)


class PPOTrainer:
    """The state of one PPO run: model, optimizer, generator, env and bookkeeping.

    ``train_ppo`` drives it (``run``); tests use ``collect_rollout``, ``minibatch_forward`` and
    ``learn`` directly. Call ``start(None)`` (fresh) or ``start(checkpoint)`` before stepping.
    """

    def __init__(
        self,
        mcfg: ModelConfig,
        cfg: PPOConfig,
        levels: list[Level],
        run: dict[str, Any],
        out: Path,
        device: torch.device,
        progress: bool,
        log: Callable[[str], None] | None,
    ):
        from envs.gym.vector import PlatformerVectorEnv

        self.mcfg, self.cfg, self.levels, self.runinfo = mcfg, cfg, levels, run
        self.out, self.device, self.progress, self.log = out, device, progress, log
        self.seed = int(run["seed"])
        self.total_frames = int(run["frames"])
        self.num_updates = max(1, math.ceil(self.total_frames / cfg.frames_per_update))
        init_gen = torch.Generator().manual_seed(self.seed)
        self.model = self._build_model(init_gen).to(device)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr, eps=1e-5)
        # Sampling runs where the model runs; minibatch shuffles on the CPU (randperm's default).
        self.gen = torch.Generator(device=device).manual_seed(self.seed + 1)
        self.mb_gen = torch.Generator().manual_seed(self.seed + 2)
        self.env = PlatformerVectorEnv(
            cfg.num_envs,
            levels,
            frame_skip=cfg.frame_skip,
            view_radius=mcfg.view_radius,
            no_progress_frames=cfg.no_progress_frames,
        )

    def _build_model(self, gen: torch.Generator) -> RecurrentPolicy:
        # Initialisation draws from the global generator: fork it so the run's seed alone fixes
        # the weights without disturbing the caller's random state.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(torch.randint(0, 2**62, (1,), generator=gen)))
            return RecurrentPolicy(self.mcfg)

    # -- state -----------------------------------------------------------------------------

    def _fresh(self) -> None:
        n = self.cfg.num_envs
        obs, _ = self.env.reset(seed=self.seed)
        self.next_obs = torch.as_tensor(obs, device=self.device)
        self.next_start = torch.ones(n, device=self.device)
        self.state: State = self.model.initial_state(n, self.device)
        self.update = 0
        self.frames = 0
        self.wall_before = 0.0
        self.metrics: list[dict[str, Any]] = []
        self.ep_return = np.zeros(n)
        self.ep_length = np.zeros(n, np.int64)
        self.completions = 0
        self.episodes = 0
        self.first_completion: dict[str, Any] | None = None

    def _restore(self, ck: dict[str, Any]) -> None:
        from envs.sim.world import WorldState

        self._fresh()
        try:
            t = json.loads(ck["trainer"])
            self.model.load_state_dict(ck["model"])
            self.opt.load_state_dict(ck["optimizer"])
            if ck.get("device_type", "cpu") != self.device.type:
                raise ValueError(
                    f"the run was trained on {ck.get('device_type')}, resume it there (the "
                    "sampling generator's state is device-specific)"
                )
            self.gen.set_state(ck["generator"])
            self.mb_gen.set_state(ck["mb_generator"])
            self.env.world.restore(
                WorldState(ck["world_P"].numpy(), ck["world_E"].numpy(), ck["world_D"].numpy())
            )
            _set_rng_states(self.env._rngs, t["env_rngs"])
            self.next_obs = torch.as_tensor(self.env.batch.observe().copy(), device=self.device)
            self.next_start = ck["next_start"].to(self.device)
            self.state = tuple(x.to(self.device) for x in ck["state"])
        except (KeyError, RuntimeError, ValueError, TypeError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise TrainError(
                f"{self.out / CHECKPOINT_FILE}: does not fit this run ({first})"
            ) from None
        self.update = t["update"]
        self.frames = t["frames"]
        self.wall_before = t["wall_seconds"]
        self.metrics = t["metrics"]
        self.ep_return = np.asarray(t["ep_return"], dtype=np.float64)
        self.ep_length = np.asarray(t["ep_length"], dtype=np.int64)
        self.completions = t["completions"]
        self.episodes = t["episodes"]
        self.first_completion = t["first_completion"]

    def _checkpoint(self) -> None:
        P, E, D = self.env.world.P, self.env.world.E, self.env.world.D
        trainer = {
            "update": self.update,
            "frames": self.frames,
            "wall_seconds": self._wall(),
            "metrics": self.metrics,
            "env_rngs": _rng_states(self.env._rngs),
            "ep_return": self.ep_return.tolist(),
            "ep_length": self.ep_length.tolist(),
            "completions": self.completions,
            "episodes": self.episodes,
            "first_completion": self.first_completion,
        }
        ck = {
            "format": "mario-neat-lab/ppo-checkpoint",
            "model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "optimizer": self.opt.state_dict(),
            "generator": self.gen.get_state(),
            "mb_generator": self.mb_gen.get_state(),
            "device_type": self.device.type,
            "world_P": torch.from_numpy(P.copy()),
            "world_E": torch.from_numpy(E.copy()),
            "world_D": torch.from_numpy(D.copy()),
            "next_start": self.next_start.cpu(),
            "state": [x.detach().cpu() for x in self.state],
            "trainer": _pack(trainer),
        }
        atomic_write_with(self.out / CHECKPOINT_FILE, lambda f: torch.save(ck, f))
        self._save_model()

    def _save_model(self) -> None:
        extra = {
            "trainer": "ppo",
            "frame_skip": self.cfg.frame_skip,
            "levels": [lv.name for lv in self.levels],
            "update": self.update,
            "frames": self.frames,
            "seed": self.seed,
        }
        save_model(self.out, self.model, self.mcfg, extra)

    def _wall(self) -> float:
        return self.wall_before + (time.perf_counter() - self.t0)

    # -- main loop -------------------------------------------------------------------------

    def start(self, ckpt: dict[str, Any] | None) -> None:
        """Fresh state (``ckpt`` None) or the checkpoint's; then write run.json/metrics.jsonl."""
        self.t0 = time.perf_counter()
        self.resumed_from = None
        if ckpt is None:
            self._fresh()
        else:
            self._restore(ckpt)
            self.resumed_from = self.update
        self.out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.out / RUN_FILE, json.dumps(self.runinfo, indent=2) + "\n")
        _write_metrics(self.out, self.metrics)  # drops lines written after the checkpoint

    def run(
        self, ckpt: dict[str, Any] | None, callback: Callable[[dict[str, Any]], bool | None] | None
    ) -> PPOResult:
        self.start(ckpt)
        resumed_from = self.resumed_from
        if ckpt is None:
            self._checkpoint()  # the starting state: a run stopped early can still be resumed
        bar = None
        if self.progress and self.log is None:
            from tqdm import tqdm

            bar = tqdm(
                total=self.num_updates * self.cfg.frames_per_update,
                initial=self.frames,
                desc="ppo",
                unit="frame",
                unit_scale=True,
                file=sys.stderr,
                dynamic_ncols=True,
            )
        stopped = False
        try:
            while self.update < self.num_updates:
                m = self.one_update()
                last = self.update >= self.num_updates
                if callback is not None and callback(m):
                    stopped = True
                if last or stopped or self.update % self.cfg.checkpoint_every == 0:
                    self._checkpoint()
                self._report(m, bar)
                if stopped:
                    break
        finally:
            if bar is not None:
                bar.close()
            self.env.close()
        if ckpt is not None and self.update == resumed_from:
            self._save_model()
        fc = self.first_completion or {}
        return PPOResult(
            out=self.out,
            updates=self.update,
            frames=self.frames,
            wall_seconds=self._wall(),
            metrics=self.metrics,
            first_completion_frames=fc.get("frames"),
            first_completion_seconds=fc.get("wall_seconds"),
            model_dir=self.out,
            stopped_early=stopped,
            resumed_from=resumed_from,
        )

    def collect_rollout(self) -> Rollout:
        """Play ``num_steps`` steps in every env with the current policy (no gradients)."""
        cfg, dev, model = self.cfg, self.device, self.model
        T, N = cfg.num_steps, cfg.num_envs
        t_roll = time.perf_counter()
        S = self.mcfg.obs_size
        ro = Rollout(
            obs=torch.zeros((T, N, S, S), device=dev),
            actions=torch.zeros((T, N, 6), device=dev),
            logprobs=torch.zeros((T, N), device=dev),
            values=torch.zeros((T, N), device=dev),
            starts=torch.zeros((T, N), device=dev),
            rewards=torch.zeros((T, N), device=dev),
            init_state=tuple(x.clone() for x in self.state),
        )
        rew_buf = np.zeros((T, N), dtype=np.float32)
        model.eval()
        with torch.no_grad():
            for t in range(T):
                ro.obs[t] = self.next_obs
                ro.starts[t] = self.next_start
                logits, value, self.state = model.step(self.next_obs, self.state, self.next_start)
                action = torch.bernoulli(torch.sigmoid(logits), generator=self.gen)
                ro.actions[t] = action
                ro.logprobs[t] = bernoulli_log_prob(logits, action)
                ro.values[t] = value
                obs, reward, term, trunc, info = self.env.step(action.to(torch.uint8).cpu().numpy())
                done = term | trunc
                self.ep_return += reward
                self.ep_length += 1
                r = reward * cfg.reward_scale
                if cfg.bootstrap_truncated and trunc.any():
                    # The episode was cut short, not ended: bootstrap from its last observation.
                    idx = torch.as_tensor(np.flatnonzero(trunc), device=dev)
                    final = torch.as_tensor(obs, device=dev)[idx]
                    _, v_final, _ = model.step(final, model.select_state(self.state, idx))
                    r[trunc] += cfg.gamma * v_final.cpu().numpy()
                rew_buf[t] = r
                if done.any():
                    for i in np.flatnonzero(done):
                        ro.episodes.append(
                            {
                                "return": float(self.ep_return[i]),
                                "length": int(self.ep_length[i]),
                                "completed": bool(info["completed"][i]),
                                "progress": float(info["progress"][i]),
                            }
                        )
                    self.ep_return[done] = 0.0
                    self.ep_length[done] = 0
                    # Same-step reset: the next observation of those envs starts a new episode.
                    obs, _ = self.env.reset(options={"reset_mask": done})
                self.next_obs = torch.as_tensor(obs, device=dev)
                self.next_start = torch.as_tensor(done, dtype=torch.float32, device=dev)
                self.frames += N * cfg.frame_skip
                if self.first_completion is None and any(e["completed"] for e in ro.episodes):
                    self.first_completion = {
                        "frames": self.frames,
                        "wall_seconds": round(self._wall(), 3),
                        "update": self.update,
                    }
            _, next_value, _ = model.step(self.next_obs, self.state, self.next_start)
        ro.rewards = torch.as_tensor(rew_buf, device=dev)
        ro.advantages, ro.returns = compute_gae(
            ro.rewards, ro.values, ro.starts, next_value, self.next_start, cfg.gamma, cfg.gae_lambda
        )
        ro.seconds = time.perf_counter() - t_roll
        return ro

    def minibatch_forward(
        self, ro: Rollout, envs: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Re-run the whole sequences of ``envs`` from their stored start state, masked at
        episode starts: (log-probs of the taken actions, entropies, values), each (T, len(envs))."""
        logits, values, _ = self.model(
            ro.obs[:, envs], self.model.select_state(ro.init_state, envs), ro.starts[:, envs]
        )
        return bernoulli_log_prob(logits, ro.actions[:, envs]), bernoulli_entropy(logits), values

    def learn(self, ro: Rollout) -> dict[str, float]:
        """``epochs`` passes of clipped-PPO minibatch steps over the rollout."""
        cfg, dev, model = self.cfg, self.device, self.model
        t_upd = time.perf_counter()
        model.train()
        stats: dict[str, list[float]] = {k: [] for k in ("pg", "v", "ent", "kl", "clip")}
        stop = False
        for _ in range(cfg.epochs):
            for mb in env_minibatches(cfg.num_envs, cfg.minibatches, self.mb_gen):
                mb = mb.to(dev)
                newlogp, ent, values = self.minibatch_forward(ro, mb)
                entropy = ent.mean()
                logratio = newlogp - ro.logprobs[:, mb]
                ratio = logratio.exp()
                with torch.no_grad():
                    approx_kl = ((ratio - 1) - logratio).mean()
                    clipfrac = ((ratio - 1.0).abs() > cfg.clip_coef).float().mean()
                a = ro.advantages[:, mb]
                if cfg.norm_adv:
                    a = (a - a.mean()) / (a.std() + 1e-8)
                pg = torch.max(
                    -a * ratio, -a * ratio.clamp(1 - cfg.clip_coef, 1 + cfg.clip_coef)
                ).mean()
                ret, old_v = ro.returns[:, mb], ro.values[:, mb]
                if cfg.clip_vloss:
                    v_clip = old_v + (values - old_v).clamp(-cfg.clip_coef, cfg.clip_coef)
                    v_loss = 0.5 * torch.max((values - ret) ** 2, (v_clip - ret) ** 2).mean()
                else:
                    v_loss = 0.5 * ((values - ret) ** 2).mean()
                loss = pg - cfg.ent_coef * entropy + cfg.vf_coef * v_loss
                self.opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
                self.opt.step()
                for k, v in zip(stats, (pg, v_loss, entropy, approx_kl, clipfrac), strict=True):
                    stats[k].append(v.item())
                if cfg.target_kl is not None and float(approx_kl) > cfg.target_kl:
                    stop = True
                    break
            if stop:
                break
        out = {k: float(np.mean(v)) for k, v in stats.items()}
        out["seconds"] = time.perf_counter() - t_upd
        return out

    def one_update(self) -> dict[str, Any]:
        """Rollout + learning + bookkeeping; returns (and appends to metrics.jsonl) the metrics."""
        cfg = self.cfg
        if cfg.anneal_lr:
            for g in self.opt.param_groups:
                g["lr"] = cfg.lr * (1.0 - self.update / self.num_updates)
        lr = self.opt.param_groups[0]["lr"]
        ro = self.collect_rollout()
        st = self.learn(ro)
        self.update += 1

        var_y = ro.returns.var()
        ev = float(1 - (ro.returns - ro.values).var() / var_y) if var_y > 0 else float("nan")
        eps = ro.episodes
        self.episodes += len(eps)
        self.completions += sum(e["completed"] for e in eps)
        fc = self.first_completion or {}
        seconds = ro.seconds + st["seconds"]

        def mean(key: str) -> float | None:
            return float(np.mean([e[key] for e in eps])) if eps else None

        m = {
            "update": self.update,
            "frames": self.frames,
            "wall_seconds": round(self._wall(), 4),
            "episodes": len(eps),
            "episode_return": mean("return"),
            "episode_length": mean("length"),
            "completion_rate": mean("completed"),
            "progress": mean("progress"),
            "max_progress": max((e["progress"] for e in eps), default=None),
            "completions_total": self.completions,
            "episodes_total": self.episodes,
            "policy_loss": st["pg"],
            "value_loss": st["v"],
            "entropy": st["ent"],
            "approx_kl": st["kl"],
            "clipfrac": st["clip"],
            "explained_variance": None if math.isnan(ev) else ev,
            "lr": lr,
            "frames_per_second": round(cfg.frames_per_update / max(seconds, 1e-9), 1),
            "rollout_seconds": round(ro.seconds, 4),
            "update_seconds": round(st["seconds"], 4),
            "first_completion_frames": fc.get("frames"),
            "first_completion_seconds": fc.get("wall_seconds"),
        }
        self.metrics.append(m)
        _append_metrics(self.out, m)
        return m

    def _report(self, m: dict[str, Any], bar: Any) -> None:
        if not self.progress:
            return

        def f(x: float | None, spec: str) -> str:
            return "   -" if x is None else format(x, spec)

        line = (
            f"upd {m['update']:5d}/{self.num_updates}  frames {m['frames']:>11,}  "
            f"return {f(m['episode_return'], '7.1f')}  "
            f"progress {f(m['progress'] and 100 * m['progress'], '5.1f')}%  "
            f"done {f(m['completion_rate'] and 100 * m['completion_rate'], '5.1f')}%  "
            f"pl {m['policy_loss']:+.3f} vl {m['value_loss']:.3f} ent {m['entropy']:.2f}  "
            f"{m['frames_per_second'] / 1000:6.1f}k frames/s"
        )
        if self.log is not None:
            self.log(line)
        elif bar is not None:
            bar.write(line, file=sys.stdout)
            bar.update(self.cfg.frames_per_update)
