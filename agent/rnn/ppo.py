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
   the model from its stored start state with the ``starts`` mask: the core runs once over all
   the minibatch's episode pieces (``RecurrentPolicy.forward``), never once per step, and the
   state is zeroed exactly where an episode starts. The rollout runs under inference mode.
   Loss (``agent.rnn.ppo_loss``): clipped surrogate + (optionally clipped) value loss
   (``vf_coef``) - entropy bonus (``ent_coef``); Adam
   with gradient-norm clipping (``max_grad_norm``) and a learning rate annealed linearly to 0
   over the frame budget.

Rewards are the env's (tiles of progress, +50 flag, -25 death) times ``reward_scale``;
``metrics.jsonl`` reports the unscaled episode returns.

Run directory (``out``, see ``agent.rnn.runfiles``)
---------------------------------------------------
``run.json``, ``model.pt`` + ``model.json`` (latest weights), ``metrics.jsonl`` (one line per
update, with ``agent.runs.SHARED_KEYS``: ``iteration`` = updates, ``frames`` cumulative,
``episodes`` = the rollout's ended episodes) and TensorBoard events beside it,
``checkpoint-latest.pt`` (model, optimizer, generator and env state, the rollout's next
observation and recurrent state, metrics). All written atomically. A resumed run continues
bit-for-bit where the checkpoint left off (same device), and ``frames`` counts all frames,
resumes included.

Frames are game frames: agent steps x ``frame_skip`` x ``num_envs`` (the same unit as NEAT's
``frames_simulated``).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agent.rnn.model import (
    ModelConfig,
    RecurrentPolicy,
    State,
    resolve_device,
    save_model,
    torch_bytes,
    torch_threads,
)
from agent.rnn.ppo_config import PPO_MODEL, PPOConfig, load_ppo_config
from agent.rnn.ppo_loss import (
    Rollout,
    bernoulli_entropy,
    bernoulli_log_prob,
    compute_gae,
    env_minibatches,
    ppo_loss,
)
from agent.rnn.replay import LevelReplay
from agent.rnn.runfiles import (
    CHECKPOINT_FILE,
    RunTrainer,
    checkpoint_error,
    cpu_state_dict,
    plan_run,
    rng_states,
    set_rng_states,
    upgrade_metrics,
)
from agent.rnn.warmstart import load_warm_start
from agent.runs import TrainError
from envs.gym.episodes import RewardConfig
from envs.levels.generator import DEFAULT_DIFFICULTY, DEFAULT_LENGTH, Difficulty
from envs.levels.level import Level
from envs.sim.constants import P_LEVEL

__all__ = [
    "PPOConfig",
    "PPOResult",
    "PPOTrainer",
    "load_ppo_config",
    "train_ppo",
]

DEFAULT_FRAMES = 2_000_000
PPO_CHECKPOINT_FORMAT = "mario-neat-lab/ppo-checkpoint"


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


def train_ppo(
    model_config: ModelConfig | None = None,
    ppo_config: PPOConfig | None = None,
    *,
    levels: Sequence[str | Path | Level] | None = None,
    generated: int | None = None,
    difficulty: Difficulty = DEFAULT_DIFFICULTY,
    length: int = DEFAULT_LENGTH,
    frames: int | None = None,
    seed: int | None = None,
    out_dir: str | Path | None = None,
    device: str | torch.device = "auto",
    resume: str | Path | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
    callback: Callable[[dict[str, Any]], bool | None] | None = None,
    threads: int | None = 1,
    init_from: str | Path | None = None,
) -> PPOResult:
    """Train (or with ``resume`` = a run directory, continue) a recurrent policy with PPO.

    ``levels``: built-in names or files (default ``["1-1"]`` unless ``generated``);
    ``generated``: that many generated levels (``difficulty``, or a ``(lo, hi)`` range they
    spread evenly over; ``length``; seeds from ``seed``, never a held-out one) join the
    training set; each episode plays one training level drawn at random. ``frames``
    is the game-frame budget of the whole run, resumes included (default: 2,000,000, or on
    resume the run's own budget). ``callback(metrics)`` is
    called after every update; returning True stops the run (checkpoint and model written).
    On ``resume`` the run's own settings are used; passing different ones is an error, except
    ``frames``, ``device``, ``progress``. ``threads``: torch CPU threads while training (1 by
    default, see ``agent.rnn.model.torch_threads``; None leaves torch's). ``init_from``: a
    directory holding a saved policy (e.g. a BC run) whose weights a new run starts from
    (``agent.rnn.warmstart``; ``model_config`` None takes its shape). Bad input raises
    ``TrainError``/``ModelError``/``DeviceError`` (``ValueError``s) before anything is written.
    """
    dev = resolve_device(device)
    if frames is not None and frames < 1:
        raise TrainError(f"frames must be at least 1, got {frames}")
    warm = None
    if init_from is not None:
        if resume is not None:
            raise TrainError("--init-from starts a new run; --resume continues its checkpoint")
        skip = (ppo_config or PPOConfig()).frame_skip
        warm = load_warm_start(init_from, model_config, skip)
        model_config = warm.config
    if model_config is None and resume is None:
        model_config = PPO_MODEL
    plan = plan_run(
        "ppo", PPOConfig, model_config, ppo_config, levels=levels, generated=generated,
        difficulty=difficulty, length=length, seed=seed, out_dir=out_dir, resume=resume,
        run_files=(),
    )  # fmt: skip
    if frames is None:
        frames = int(plan.saved["frames"]) if plan.saved is not None else DEFAULT_FRAMES
    level_objs = plan.levels()
    # a warm start's origin stays in run.json through resumes
    origin = warm.record if warm is not None else (plan.saved or {}).get("init_from")
    extra = {"frames": int(frames), **({"init_from": origin} if origin is not None else {})}
    with torch_threads(threads):
        trainer = PPOTrainer(
            plan.model, plan.settings, level_objs, plan.run_json("ppo", **extra),
            plan.out, dev, progress, log,
        )  # fmt: skip
        if warm is not None:  # in place: the optimizer keeps its (still empty) parameter refs
            trainer.model.load_state_dict(warm.weights)
        trainer.files.run_id = plan.run_id
        return trainer.run(plan.checkpoint, callback)


class PPOTrainer(RunTrainer):
    """The state of one PPO run: model, optimizer, generator, env and bookkeeping.

    ``train_ppo`` drives it (``run``); tests use ``collect_rollout``, ``minibatch_forward`` and
    ``learn`` directly. Call ``start(None)`` (fresh) or ``start(checkpoint)`` before stepping
    and ``close()`` after (``run`` does both).
    """

    TRAINER = "ppo"
    cfg: PPOConfig

    def build(self) -> None:
        from envs.gym.vector import PlatformerVectorEnv

        cfg, device = self.cfg, self.device
        self.total_frames = int(self.files.runinfo["frames"])
        self.num_updates = max(1, math.ceil(self.total_frames / cfg.frames_per_update))
        init_gen = torch.Generator().manual_seed(self.seed)
        self.model = self._build_model(init_gen).to(device)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr, eps=1e-5)
        # Sampling runs where the model runs; minibatch shuffles on the CPU (randperm's default).
        self.gen = torch.Generator(device=device).manual_seed(self.seed + 1)
        self.mb_gen = torch.Generator().manual_seed(self.seed + 2)
        self.env = PlatformerVectorEnv(
            cfg.num_envs,
            self.levels,
            frame_skip=cfg.frame_skip,
            view_radius=self.mcfg.view_radius,
            no_progress_frames=cfg.no_progress_frames,
            reward=RewardConfig(stall_penalty=cfg.stall_penalty),
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
        self.files.history = []
        self.ep_return = np.zeros(n)
        self.ep_length = np.zeros(n, np.int64)
        self.completions = 0
        self.episodes = 0
        self.first_completion: dict[str, Any] | None = None
        many = self.cfg.level_replay > 0 and len(self.levels) > 1
        self.replay = LevelReplay(len(self.levels), self.cfg.level_replay) if many else None

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
            set_rng_states(self.env._rngs, t["env_rngs"])
            self.next_obs = torch.as_tensor(self.env.batch.observe().copy(), device=self.device)
            self.next_start = ck["next_start"].to(self.device)
            self.state = tuple(x.to(self.device) for x in ck["state"])
            self.update = t["update"]
            self.frames = t["frames"]
            self.wall_before = t["wall_seconds"]
            # lines written before the shared keys: "update" was the iteration
            self.files.history = upgrade_metrics(t["metrics"], "ppo", {"update": "iteration"})
            self.ep_return = np.asarray(t["ep_return"], dtype=np.float64)
            self.ep_length = np.asarray(t["ep_length"], dtype=np.int64)
            self.completions = t["completions"]
            self.episodes = t["episodes"]
            self.first_completion = t["first_completion"]
            if self.replay is not None:
                self.replay.load(t["level_scores"])
        except (KeyError, RuntimeError, ValueError, TypeError) as exc:
            raise checkpoint_error(self.out, exc) from None

    def checkpoint(self) -> None:
        P, E, D = self.env.world.P, self.env.world.E, self.env.world.D
        trainer = {
            "update": self.update,
            "frames": self.frames,
            "wall_seconds": self.wall(),
            "metrics": self.metrics,
            "env_rngs": rng_states(self.env._rngs),
            "ep_return": self.ep_return.tolist(),
            "ep_length": self.ep_length.tolist(),
            "completions": self.completions,
            "episodes": self.episodes,
            "first_completion": self.first_completion,
        }
        if self.replay is not None:
            trainer["level_scores"] = self.replay.state()
        ck = {
            "format": PPO_CHECKPOINT_FORMAT,
            "run_id": self.files.run_id,
            "model": cpu_state_dict(self.model),
            "optimizer": self.opt.state_dict(),
            "generator": self.gen.get_state(),
            "mb_generator": self.mb_gen.get_state(),
            "device_type": self.device.type,
            "world_P": torch.from_numpy(P.copy()),
            "world_E": torch.from_numpy(E.copy()),
            "world_D": torch.from_numpy(D.copy()),
            "next_start": self.next_start.cpu(),
            "state": [x.detach().cpu() for x in self.state],
            "trainer": json.dumps(trainer),
        }
        self.files.dir.write_with(CHECKPOINT_FILE, lambda f: f.write(torch_bytes(ck)))
        self.save()

    def save(self) -> None:
        extra = {
            "trainer": "ppo",
            "frame_skip": self.cfg.frame_skip,
            "levels": [lv.name for lv in self.levels],
            "update": self.update,
            "frames": self.frames,
            "seed": self.seed,
        }
        save_model(self.out, self.model, self.mcfg, extra)

    # -- main loop -------------------------------------------------------------------------

    def start(self, ckpt: dict[str, Any] | None) -> None:
        """Fresh state (``ckpt`` None) or the checkpoint's; then open the run directory and
        write run.json and the metrics kept so far."""
        self.t0 = time.perf_counter()
        self.resumed_from = None
        if ckpt is None:
            self._fresh()
        else:
            self._restore(ckpt)
            self.resumed_from = self.update
        self.open_files(
            total=self.num_updates * self.cfg.frames_per_update, initial=self.frames,
            unit="frame", desc="ppo", unit_scale=True,
        )  # fmt: skip

    def close(self) -> None:
        """Close the env, the progress display and the metrics writer."""
        self.env.close()
        super().close()

    def run(
        self, ckpt: dict[str, Any] | None, callback: Callable[[dict[str, Any]], bool | None] | None
    ) -> PPOResult:
        """Start, then update until the frame budget is spent or ``callback(metrics)`` says
        stop; checkpoints every ``checkpoint_every`` updates and at the end."""
        stopped = False
        try:
            self.start(ckpt)
            if ckpt is None:
                self.checkpoint()  # the starting state: a run stopped early can still be resumed
            while self.update < self.num_updates:
                m = self.one_update()
                stopped = bool(callback is not None and callback(m))
                last = self.update >= self.num_updates
                if last or stopped or self.update % self.cfg.checkpoint_every == 0:
                    self.checkpoint()
                self._report(m)
                if stopped:
                    break
            if ckpt is not None and self.update == self.resumed_from:
                self.save()
        finally:
            self.close()
        fc = self.first_completion or {}
        return PPOResult(
            out=self.out,
            updates=self.update,
            frames=self.frames,
            wall_seconds=self.wall(),
            metrics=self.metrics,
            first_completion_frames=fc.get("frames"),
            first_completion_seconds=fc.get("wall_seconds"),
            model_dir=self.out,
            stopped_early=stopped,
            resumed_from=self.resumed_from,
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
        if self.replay is not None:
            self.env.set_level_weights(self.replay.weights())
        model.eval()
        with torch.inference_mode():
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
                    if self.replay is not None:  # before the reset draws the next levels
                        ended = np.flatnonzero(done)
                        slots = self.env.world.P[ended, P_LEVEL]
                        self.replay.record(slots, ~info["completed"][ended])
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
                        "wall_seconds": round(self.wall(), 3),
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
            ro.obs[:, envs], self.model.select_state(ro.init_state, envs), ro.starts[:, envs],
            need_state=False,
        )  # fmt: skip
        return bernoulli_log_prob(logits, ro.actions[:, envs]), bernoulli_entropy(logits), values

    def learn(self, ro: Rollout) -> dict[str, float]:
        """``epochs`` passes of clipped-PPO minibatch steps over the rollout."""
        cfg, dev, model = self.cfg, self.device, self.model
        t_upd = time.perf_counter()
        model.train()
        stats: dict[str, list[float]] = {k: [] for k in ("pg", "v", "ent", "kl", "clip")}
        stop = False
        # value warm-up: every gradient but the value head's is dropped (Adam skips a weight
        # without one, moments included), so the policy stays exactly as it is
        frozen = [p for n, p in model.named_parameters() if not n.startswith("value_head.")]
        warmup = self.update < cfg.value_warmup
        for _ in range(cfg.epochs):
            for mb in env_minibatches(cfg.num_envs, cfg.minibatches, self.mb_gen):
                mb = mb.to(dev)
                newlogp, ent, values = self.minibatch_forward(ro, mb)
                loss, parts = ppo_loss(
                    newlogp, ro.logprobs[:, mb], ro.advantages[:, mb], ent, values,
                    ro.values[:, mb], ro.returns[:, mb], clip_coef=cfg.clip_coef,
                    ent_coef=cfg.ent_coef, vf_coef=cfg.vf_coef, norm_adv=cfg.norm_adv,
                    clip_vloss=cfg.clip_vloss,
                )  # fmt: skip
                self.opt.zero_grad(set_to_none=True)
                loss.backward()
                if warmup:
                    for p in frozen:
                        p.grad = None
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
                self.opt.step()
                for k in stats:
                    stats[k].append(parts[k].item())
                if cfg.target_kl is not None and float(parts["kl"]) > cfg.target_kl:
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
        self.check_finite(self.update)

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
            "iteration": self.update,
            "frames": self.frames,
            "wall_seconds": round(self.wall(), 4),
            "frames_per_second": round(cfg.frames_per_update / max(seconds, 1e-9), 1),
            "episodes": len(eps),
            "completion_rate": mean("completed"),
            "progress": mean("progress"),
            "max_progress": max((e["progress"] for e in eps), default=None),
            "first_completion_frames": fc.get("frames"),
            "first_completion_seconds": fc.get("wall_seconds"),
            "episode_return": mean("return"),
            "episode_length": mean("length"),
            "completions_total": self.completions,
            "episodes_total": self.episodes,
            "policy_loss": st["pg"],
            "value_loss": st["v"],
            "entropy": st["ent"],
            "approx_kl": st["kl"],
            "clipfrac": st["clip"],
            "explained_variance": None if math.isnan(ev) else ev,
            "lr": lr,
            "rollout_seconds": round(ro.seconds, 4),
            "update_seconds": round(st["seconds"], 4),
        }
        return self.files.write(m)

    def _report(self, m: dict[str, Any]) -> None:
        def f(x: float | None, spec: str) -> str:
            return "   -" if x is None else format(x, spec)

        self.bar.line(
            f"upd {m['iteration']:5d}/{self.num_updates}  frames {m['frames']:>11,}  "
            f"return {f(m['episode_return'], '7.1f')}  "
            f"progress {f(m['progress'] and 100 * m['progress'], '5.1f')}%  "
            f"done {f(m['completion_rate'] and 100 * m['completion_rate'], '5.1f')}%  "
            f"pl {m['policy_loss']:+.3f} vl {m['value_loss']:.3f} ent {m['entropy']:.2f}  "
            f"{m['frames_per_second'] / 1000:6.1f}k frames/s"
        )
        self.bar.advance(self.cfg.frames_per_update)
