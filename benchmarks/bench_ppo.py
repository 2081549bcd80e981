"""Recurrent PPO's end-to-end throughput: the old default settings and the new, side by side.

Each *repeat* times ``--updates`` whole PPO updates (rollout + learning, after one warm-up
update) with the old settings, then with the new, on ``--level``; the figures are medians over
the repeats of each repeat's median update, so both settings see the same machine load. Frames
are game frames (agent steps x frame_skip x envs), as in ``metrics.jsonl``.

* **old**: the defaults before issue 15: 16 envs x 128 steps, 4 epochs x 4 minibatches, an
  LSTM of 128 with a conv encoder of 128 (338,775 parameters).
* **new**: ``configs/ppo.json`` (what ``train.py rnn --algo ppo`` uses).

The split between the rollout (playing, no gradients) and the learning step shows where the
time goes. Run: ``python benchmarks/bench_ppo.py [--repeats 5] [--threads 1] [--cells lstm,gru]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from agent.rnn.model import ModelConfig, resolve_device
from agent.rnn.ppo import PPOConfig, PPOTrainer, load_ppo_config
from agent.rnn.settings import training_levels

OLD_MODEL = ModelConfig(cell="lstm", hidden=128, encoder=128, encoder_type="conv")
OLD_PPO = PPOConfig(
    num_envs=16, num_steps=128, epochs=4, minibatches=4, lr=2.5e-4, clip_vloss=True,
    ent_coef=0.01, reward_scale=0.1,
)  # fmt: skip


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_updates(
    mcfg: ModelConfig, cfg: PPOConfig, level: str, device: torch.device, updates: int, out: Path
) -> dict[str, float]:
    """Median over ``updates`` timed updates (one warm-up first) of rollout and learning time."""
    run = {"seed": 0, "frames": (updates + 1) * cfg.frames_per_update}
    trainer = PPOTrainer(mcfg, cfg, training_levels([level]), run, out, device, False, None)
    trainer.start(None)
    try:
        trainer.one_update()  # warm-up: allocations, kernels, caches
        rollout, learn = [], []
        for _ in range(updates):
            t0 = time.perf_counter()
            ro = trainer.collect_rollout()
            _sync(device)
            t1 = time.perf_counter()
            trainer.learn(ro)
            _sync(device)
            rollout.append(t1 - t0)
            learn.append(time.perf_counter() - t1)
    finally:
        trainer.close()
    r, lrn = statistics.median(rollout), statistics.median(learn)
    return {"rollout": r, "learn": lrn, "fps": cfg.frames_per_update / (r + lrn)}


def params(mcfg: ModelConfig) -> int:
    from agent.rnn.model import RecurrentPolicy

    return sum(p.numel() for p in RecurrentPolicy(mcfg).parameters())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu", help="auto, cpu, cuda or cuda:N (cpu)")
    p.add_argument("--level", default="1-1")
    p.add_argument("--repeats", type=int, default=5, help="alternating old/new repeats (5)")
    p.add_argument("--updates", type=int, default=3, help="timed updates per repeat (3)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (1, as training)")
    p.add_argument("--cells", default="lstm", help="comma-separated cells (lstm)")
    args = p.parse_args(argv)
    if min(args.repeats, args.updates, args.threads) < 1:
        print("bench_ppo.py: --repeats, --updates, --threads must be >= 1", file=sys.stderr)
        return 2
    device = resolve_device(args.device)
    torch.set_num_threads(args.threads)
    new_model, new_ppo = load_ppo_config()
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else "none"
    print(
        f"device {device} ({gpu}); torch {torch.__version__}, {torch.get_num_threads()} threads; "
        f"{platform.processor() or platform.machine()}; python {sys.version.split()[0]}\n"
    )

    def describe(m: ModelConfig, c: PPOConfig) -> str:
        return (
            f"{c.num_envs} envs x {c.num_steps} steps, {c.epochs} epochs x {c.minibatches} "
            f"minibatches, {m.encoder_type} {m.encoder} + {m.hidden} hidden "
            f"({params(m):,} parameters)"
        )

    print(f"- old: {describe(OLD_MODEL, OLD_PPO)}\n- new: {describe(new_model, new_ppo)}\n")
    print(
        f"median of {args.repeats} repeats (each the median of {args.updates} updates), "
        f"{args.level}, {device.type}\n"
    )
    print("| cell | settings | frames/s | rollout s | learn s | frames/update | ratio |")
    print("|---|---|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for cell in [c.strip() for c in args.cells.split(",") if c.strip()]:
            settings = {
                "old": (dataclasses.replace(OLD_MODEL, cell=cell), OLD_PPO),
                "new": (dataclasses.replace(new_model, cell=cell), new_ppo),
            }
            res: dict[str, list[dict[str, float]]] = {k: [] for k in settings}
            for rep in range(args.repeats):
                for name, (m, c) in settings.items():
                    out = Path(tmp) / f"{cell}-{name}-{rep}"
                    res[name].append(time_updates(m, c, args.level, device, args.updates, out))
            med = {
                name: {k: statistics.median(r[k] for r in rs) for k in rs[0]}
                for name, rs in res.items()
            }
            for name, (_, c) in settings.items():
                r = med[name]
                print(
                    f"| {cell} | {name} | {r['fps']:,.0f} | {r['rollout']:.3f} | "
                    f"{r['learn']:.3f} | {c.frames_per_update:,} | "
                    f"{r['fps'] / med['old']['fps']:.1f}x |",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
