"""Our recurrent PPO against sb3-contrib's ``RecurrentPPO`` on the same env, level and frame budget.

The issue asks for the library a user would pick instead, side by side: ours at least as
sample-efficient and at least 3x the training frames per second. Both sides get:

- **the same env**: ``PlatformerEnv(level, frame_skip, no_progress_frames)`` from our
  ``configs/ppo.json`` (sb3 needs its own ``VecEnv``: ``make_vec_env`` of ``num_envs`` single
  envs in a ``DummyVecEnv``, each behind ``FlattenObservation``: the 169-d grid), with the same
  reward scaling (``RewardConfig()`` times ``reward_scale``, as ``train_ppo`` scales the env's
  rewards; returns are reported unscaled for both); truncated episodes bootstrap on both sides;
- **the same frame budget**: ``--frames`` rounded up to whole updates (game frames = agent steps
  x ``frame_skip`` x envs), so both run the same number of updates;
- **comparable hyper-parameters**: ``num_envs`` x ``num_steps`` per update, ``epochs`` epochs of
  ``minibatches`` minibatches (sb3 ``batch_size`` = steps per update / minibatches), learning
  rate annealed linearly to 0 on the same per-update schedule, gamma, GAE lambda, clip range,
  entropy and value coefficients, gradient-norm clipping, advantage normalisation, Adam
  ``eps=1e-5``, LSTM state size = our ``hidden``;
- **1 torch thread** on the CPU (``--threads``).

What differs is each side's own design: ours is a conv encoder + one LSTM shared by the policy
and value heads, sequences re-run with one core call per stretch between episode boundaries, on
the native batched env; sb3's ``MlpLstmPolicy`` has its defaults (flattened grid -> an actor LSTM
and a separate critic LSTM -> 64-64 tanh MLPs; ``--sb3-shared-lstm`` shares one LSTM instead,
with sb3's detached value features), and sb3's default of no value clipping (its
``clip_range_vf`` only keeps the clipped loss, unlike ours).

Reported for each side and seed: training frames per wall second (the whole training call,
construction included) and updates per second, the seconds spent in rollouts, and sample
efficiency: mean (unscaled) episode return, completion rate and progress over the episodes that
end in the last ``--tail`` (20%) of the updates, and frames / wall seconds to the first
completion of the level within the budget.

Run: ``python benchmarks/bench_sb3.py [--frames 300000] [--seeds 0] [--level 1-1]``; quick check:
``python benchmarks/bench_sb3.py --frames 20480``. Needs ``pip install sb3-contrib`` (a
benchmark-only dependency, not in pyproject.toml).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import math
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agent.rnn.model import ModelConfig
from agent.rnn.ppo import PPOConfig, load_ppo_config, train_ppo
from envs.gym.episodes import RewardConfig
from envs.gym.platformer import PlatformerEnv


def scaled_reward(scale: float) -> RewardConfig:
    """The env's default reward times ``scale`` (what ``train_ppo`` trains on)."""
    base = RewardConfig()
    return RewardConfig(**{f.name: getattr(base, f.name) * scale for f in dataclasses.fields(base)})


def make_env(level: str, mcfg: ModelConfig, cfg: PPOConfig, flatten: bool = True):
    from gymnasium.wrappers import FlattenObservation

    env = PlatformerEnv(
        level,
        frame_skip=cfg.frame_skip,
        view_radius=mcfg.view_radius,
        no_progress_frames=cfg.no_progress_frames,
        reward=scaled_reward(cfg.reward_scale),
    )
    return FlattenObservation(env) if flatten else env


def warm_up(level: str, mcfg: ModelConfig, cfg: PPOConfig) -> None:
    """Compile the env's numba kernels before anything is timed."""
    env = make_env(level, mcfg, cfg)
    env.reset(seed=0)
    for _ in range(50):
        _, _, term, trunc, _ = env.step(env.action_space.sample())
        if term or trunc:
            env.reset()


def tail_stats(episodes: list[dict[str, Any]], first_update: int) -> dict[str, Any]:
    """Means over the episodes that ended in updates >= ``first_update`` (1-based)."""
    tail = [e for e in episodes if e["update"] >= first_update]
    n = sum(e.get("count", 1) for e in tail)

    def mean(key: str) -> float | None:
        if not n:
            return None
        return sum(e[key] * e.get("count", 1) for e in tail) / n

    return {
        "tail_episodes": n,
        "tail_return": mean("return"),
        "tail_completion": mean("completed"),
        "tail_progress": mean("progress"),
    }


def run_ours(
    mcfg: ModelConfig, cfg: PPOConfig, args, seed: int, frames: int, first_tail: int, out: Path
) -> dict[str, Any]:
    t0 = time.perf_counter()
    res = train_ppo(
        mcfg, cfg, levels=[args.level], frames=frames, seed=seed, out_dir=out, device="cpu",
        progress=False, log=None, threads=args.threads,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    # metrics.jsonl has one line per update: per-update means, weighted by episode counts.
    eps = [
        {
            "update": m["iteration"],
            "count": m["episodes"],
            "return": m["episode_return"],
            "completed": m["completion_rate"],
            "progress": m["progress"],
        }
        for m in res.metrics
        if m["episodes"]
    ]
    return {
        "frames": res.frames,
        "updates": res.updates,
        "wall": wall,
        "rollout_s": sum(m["rollout_seconds"] for m in res.metrics),
        "episodes": sum(m["episodes"] for m in res.metrics),
        "completions": res.metrics[-1]["completions_total"] if res.metrics else 0,
        "first_frames": res.first_completion_frames,
        "first_seconds": res.first_completion_seconds,
        **tail_stats(eps, first_tail),
    }


def run_sb3(
    mcfg: ModelConfig, cfg: PPOConfig, args, seed: int, updates: int, first_tail: int
) -> dict[str, Any]:
    from sb3_contrib import RecurrentPPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv

    steps_per_update = cfg.num_envs * cfg.num_steps
    frame_skip, scale = cfg.frame_skip, cfg.reward_scale

    class Record(BaseCallback):
        """Per-episode return (unscaled), completion and progress, tagged with the update."""

        def __init__(self) -> None:
            super().__init__()
            self.update = 0
            self.episodes: list[dict[str, Any]] = []
            self.first: tuple[int, float] | None = None
            self.rollout_s = 0.0
            self._t_roll = 0.0

        def _on_rollout_start(self) -> None:
            self.update += 1
            self._t_roll = time.perf_counter()

        def _on_rollout_end(self) -> None:
            self.rollout_s += time.perf_counter() - self._t_roll

        def _on_step(self) -> bool:
            for done, info in zip(self.locals["dones"], self.locals["infos"], strict=True):
                if not done:
                    continue
                completed = bool(info["completed"])
                self.episodes.append(
                    {
                        "update": self.update,
                        "return": float(info["episode"]["r"]) / scale,  # Monitor's, scaled
                        "completed": float(completed),
                        "progress": float(info["progress"]),
                    }
                )
                if completed and self.first is None:
                    # num_timesteps already counts this step (of every env), as our frames do
                    self.first = (self.num_timesteps * frame_skip, time.perf_counter() - t0)
            return True

    t0 = time.perf_counter()
    venv = make_vec_env(
        lambda: make_env(args.level, mcfg, cfg), n_envs=cfg.num_envs, seed=seed,
        vec_env_cls=DummyVecEnv,
    )  # fmt: skip
    lr = cfg.lr

    def schedule(progress_remaining: float) -> float:
        # sb3 updates progress before learning (1 - k/U at update k), we anneal before the
        # rollout (1 - (k-1)/U): shift by one update so that both use the same rates.
        if not cfg.anneal_lr:
            return lr
        return lr * min(1.0, progress_remaining + 1.0 / updates)

    policy_kwargs: dict[str, Any] = {"lstm_hidden_size": mcfg.hidden, "n_lstm_layers": mcfg.layers}
    if args.sb3_shared_lstm:
        policy_kwargs.update(shared_lstm=True, enable_critic_lstm=False)
    model = RecurrentPPO(
        "MlpLstmPolicy",
        venv,
        learning_rate=schedule,
        n_steps=cfg.num_steps,
        batch_size=steps_per_update // cfg.minibatches,
        n_epochs=cfg.epochs,
        gamma=cfg.gamma,
        gae_lambda=cfg.gae_lambda,
        clip_range=cfg.clip_coef,
        clip_range_vf=None,
        normalize_advantage=cfg.norm_adv,
        ent_coef=cfg.ent_coef,
        vf_coef=cfg.vf_coef,
        max_grad_norm=cfg.max_grad_norm,
        target_kl=cfg.target_kl,
        policy_kwargs=policy_kwargs,
        seed=seed,
        device="cpu",
        verbose=0,
    )
    # sb3 >= 2.7 stores rollout actions in the action space's dtype (int8 for MultiBinary) and
    # casts them to float32 when sampling; sb3-contrib 2.9.2's RecurrentRolloutBuffer does not
    # cast, and Bernoulli.log_prob then fails ("Float can't be cast to ... Char"). Store them as
    # float32, as sb3 did before.
    buf = model.rollout_buffer
    if not np.issubdtype(buf.action_space.dtype, np.floating):
        buf.action_space = copy.deepcopy(buf.action_space)
        buf.action_space.dtype = np.dtype(np.float32)
        buf.reset()
    rec = Record()
    model.learn(total_timesteps=updates * steps_per_update, callback=rec)
    wall = time.perf_counter() - t0
    venv.close()
    eps = rec.episodes
    return {
        "frames": model.num_timesteps * frame_skip,
        "updates": rec.update,
        "wall": wall,
        "rollout_s": rec.rollout_s,
        "episodes": len(eps),
        "completions": int(sum(e["completed"] for e in eps)),
        "first_frames": rec.first[0] if rec.first else None,
        "first_seconds": rec.first[1] if rec.first else None,
        **tail_stats(eps, first_tail),
    }


def _fmt(x: float | None, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def _mean(xs: list[float | None]) -> float | None:
    xs = [x for x in xs if x is not None]
    return statistics.fmean(xs) if xs else None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--level", default="1-1")
    p.add_argument("--frames", type=int, default=300_000, help="game-frame budget (300,000)")
    p.add_argument("--seeds", default="0", help="comma-separated seeds (0)")
    p.add_argument("--tail", type=float, default=0.2, help="share of updates averaged (0.2)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads, both sides (1)")
    p.add_argument("--config", default=None, help="PPO settings file (configs/ppo.json)")
    p.add_argument("--sb3-shared-lstm", action="store_true", help="sb3: one shared LSTM")
    p.add_argument("--skip", default="", help="comma-separated: ours,sb3")
    args = p.parse_args(argv)
    try:
        import sb3_contrib
        import stable_baselines3
    except ImportError:
        print("bench_sb3: needs sb3-contrib (pip install sb3-contrib)", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    skip = {x.strip() for x in args.skip.split(",") if x.strip()}
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    mcfg, cfg = load_ppo_config(args.config)
    fpu = cfg.frames_per_update
    updates = max(1, math.ceil(args.frames / fpu))
    frames = updates * fpu
    first_tail = updates - max(1, round(args.tail * updates)) + 1
    print(
        f"torch {torch.__version__} ({torch.get_num_threads()} thread(s)), stable-baselines3 "
        f"{stable_baselines3.__version__}, sb3-contrib {sb3_contrib.__version__}, numpy "
        f"{np.__version__}; {platform.processor() or platform.machine()}; python "
        f"{sys.version.split()[0]}"
    )
    print(
        f"{args.level}: {frames:,} frames = {updates} updates of {cfg.num_envs} envs x "
        f"{cfg.num_steps} steps x frame_skip {cfg.frame_skip}; {cfg.epochs} epochs x "
        f"{cfg.minibatches} minibatches; lr {cfg.lr} annealed, clip {cfg.clip_coef}, ent "
        f"{cfg.ent_coef}, reward x {cfg.reward_scale}, no_progress_frames "
        f"{cfg.no_progress_frames}; LSTM {mcfg.hidden}; tail = updates {first_tail}-{updates}\n",
        flush=True,
    )
    warm_up(args.level, mcfg, cfg)
    rows: list[tuple[str, int, dict[str, Any]]] = []
    sb3_name = "sb3-contrib RecurrentPPO" + (" (shared LSTM)" if args.sb3_shared_lstm else "")
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            if "ours" not in skip:
                r = run_ours(mcfg, cfg, args, seed, frames, first_tail, Path(tmp) / f"ours-{seed}")
                rows.append(("ours (agent/rnn/ppo.py)", seed, r))
                print(f"ours seed {seed}: {r['frames'] / r['wall']:,.0f} frames/s", flush=True)
            if "sb3" not in skip:
                r = run_sb3(mcfg, cfg, args, seed, updates, first_tail)
                rows.append((sb3_name, seed, r))
                print(f"sb3 seed {seed}: {r['frames'] / r['wall']:,.0f} frames/s", flush=True)

    print(
        f"\n### Ours vs sb3-contrib RecurrentPPO ({args.level}, {frames:,} frames, CPU, "
        f"{args.threads} thread(s))\n"
    )
    print(
        "| trainer | seed | frames/s | updates/s | wall s | rollout s | episodes | "
        f"return (last {100 * args.tail:.0f}%) | completion (last {100 * args.tail:.0f}%) | "
        f"progress (last {100 * args.tail:.0f}%) | completions | first completion (frames, s) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for name, seed, r in rows:
        first = (
            "none within the budget"
            if r["first_frames"] is None
            else f"{r['first_frames']:,} frames, {r['first_seconds']:.0f} s"
        )
        print(
            f"| {name} | {seed} | {r['frames'] / r['wall']:,.0f} | "
            f"{r['updates'] / r['wall']:.3f} | {r['wall']:.0f} | {r['rollout_s']:.1f} | "
            f"{r['episodes']:,} | {_fmt(r['tail_return'], '.1f')} | "
            f"{_fmt(r['tail_completion'] and 100 * r['tail_completion'], '.1f')}% | "
            f"{_fmt(r['tail_progress'] and 100 * r['tail_progress'], '.1f')}% | "
            f"{r['completions']:,} | {first} |"
        )
    ours = [r for n, _, r in rows if n.startswith("ours")]
    sb3 = [r for n, _, r in rows if not n.startswith("ours")]
    if ours and sb3:
        fps_o = _mean([r["frames"] / r["wall"] for r in ours])
        fps_s = _mean([r["frames"] / r["wall"] for r in sb3])
        rets_o = [r["tail_return"] for r in ours if r["tail_return"] is not None]
        rets_s = [r["tail_return"] for r in sb3 if r["tail_return"] is not None]
        ret_o, ret_s = _mean(rets_o), _mean(rets_s)
        done_o = _mean([r["tail_completion"] for r in ours])
        done_s = _mean([r["tail_completion"] for r in sb3])
        first_o = _mean([r["first_frames"] for r in ours])
        first_s = _mean([r["first_frames"] for r in sb3])

        def spread(xs: list[float]) -> str:
            return f" ({min(xs):.1f} to {max(xs):.1f} over seeds)" if len(xs) > 1 else ""

        speed = fps_o / fps_s
        print(f"\nframes/s, ours / sb3: **{speed:.1f}x** (target: at least 3x)")
        print(
            f"mean return over the last {100 * args.tail:.0f}% of updates: ours "
            f"{_fmt(ret_o, '.1f')}{spread(rets_o)}, sb3 {_fmt(ret_s, '.1f')}{spread(rets_s)}; "
            f"completion rate ours {_fmt(done_o and 100 * done_o, '.1f')}%, sb3 "
            f"{_fmt(done_s and 100 * done_s, '.1f')}%; first completion (mean over the seeds "
            f"that reached it) ours {_fmt(first_o, ',.0f')}, sb3 {_fmt(first_s, ',.0f')} frames"
        )
        sample_ok = ret_o is not None and (ret_s is None or ret_o >= ret_s)
        overlap = (
            bool(rets_o and rets_s) and max(rets_o) >= min(rets_s) and max(rets_s) >= min(rets_o)
        )
        print(
            f"verdict: speed {'met' if speed >= 3 else 'NOT met'}; sample efficiency "
            f"(mean return at equal frames) {'met' if sample_ok else 'NOT met'} over "
            f"{len(seeds)} seed(s)" + (" (the per-seed ranges overlap)" if overlap else "")
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
