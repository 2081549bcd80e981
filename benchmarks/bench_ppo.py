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

**Learning** (``--learn-seeds 0,1,2,3,4``): ``train_ppo``'s own loop (what ``train.py rnn --algo
ppo`` runs) with the new defaults on ``--level`` for ``--frames`` game frames per seed (the
learning rate annealed over that budget), the policy evaluated greedily (buttons above 0.5, one
episode: the world is deterministic) every ``--eval-every`` updates and after the last. Reported
per seed: frames and wall-clock to the first greedy completion, whether the final policy
finishes, and the greedy progress along the way (the learning curve). ``--set ppo.lr=1e-3``
(repeatable) changes a setting; ``--skip-throughput`` runs the learning part alone.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import torch

from agent.rnn.dagger import evaluate_policy
from agent.rnn.model import ModelConfig, resolve_device
from agent.rnn.ppo import PPOConfig, PPOTrainer, load_ppo_config
from agent.rnn.settings import training_levels

OLD_MODEL = ModelConfig(cell="lstm", hidden=128, encoder=128, encoder_type="conv")
OLD_PPO = PPOConfig(
    num_envs=16, num_steps=128, epochs=4, minibatches=4, lr=2.5e-4, clip_vloss=True,
    ent_coef=0.01, reward_scale=0.1,
)  # fmt: skip


def sync(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA runs asynchronously), so timers see it."""
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
            sync(device)
            t1 = time.perf_counter()
            trainer.learn(ro)
            sync(device)
            rollout.append(t1 - t0)
            learn.append(time.perf_counter() - t1)
    finally:
        trainer.close()
    r, lrn = statistics.median(rollout), statistics.median(learn)
    return {"rollout": r, "learn": lrn, "fps": cfg.frames_per_update / (r + lrn)}


@contextlib.contextmanager
def trainer_handle(holder: dict) -> Iterator[None]:
    """While the block runs, ``holder["trainer"]`` is the ``PPOTrainer`` that ``train_ppo``
    builds: the greedy evaluations need the live model, and the run must be exactly what
    ``train.py`` runs (``train_ppo`` itself), so the benchmark wraps ``PPOTrainer.run``
    instead of rebuilding the trainer."""
    original = PPOTrainer.run

    def run(self: PPOTrainer, ckpt, cb):
        holder["trainer"] = self
        return original(self, ckpt, cb)

    PPOTrainer.run = run  # type: ignore[method-assign]
    try:
        yield
    finally:
        PPOTrainer.run = original  # type: ignore[method-assign]


def learn_seed(
    mcfg: ModelConfig, cfg: PPOConfig, level: str, frames: int, seed: int, every: int, out: Path
) -> dict:
    """One ``train_ppo`` run with greedy evaluations: first greedy completion and the curve."""
    from agent.rnn.ppo import train_ppo

    levels = training_levels([level])
    curve: list[tuple[int, float, bool]] = []
    first: dict | None = None
    t0 = time.perf_counter()
    holder: dict = {}

    def callback(m: dict) -> bool:
        nonlocal first
        trainer = holder["trainer"]
        if m["iteration"] % every and m["iteration"] < trainer.num_updates:
            return False
        trainer.model.eval()
        r = evaluate_policy(trainer.model, levels, frame_skip=cfg.frame_skip, device=trainer.device)
        curve.append((m["frames"], r["progress"][0], r["completed"][0]))
        if r["completed"][0] and first is None:
            first = {"frames": m["frames"], "seconds": time.perf_counter() - t0}
        return False

    with trainer_handle(holder):
        res = train_ppo(
            mcfg, cfg, levels=levels, frames=frames, seed=seed, out_dir=out, device="cpu",
            progress=False, callback=callback,
        )  # fmt: skip
    wall = time.perf_counter() - t0
    return {
        "seed": seed,
        "first": first,
        "final": curve[-1][2],
        "curve": curve,
        "frames": res.frames,
        "wall": wall,
        "stochastic_first": res.first_completion_frames,
    }


def apply_settings(mcfg: ModelConfig, cfg: PPOConfig, sets: list[str]):
    """``model.hidden=32`` / ``ppo.lr=1e-3`` overrides (values parsed as JSON)."""
    import json

    for item in sets:
        key, _, value = item.partition("=")
        section, _, name = key.partition(".")
        if section not in ("model", "ppo") or not name or not value:
            raise SystemExit(f"bench_ppo.py: --set {item!r}: expected model.NAME=V or ppo.NAME=V")
        v = json.loads(value)
        if section == "model":
            mcfg = dataclasses.replace(mcfg, **{name: v})
        else:
            cfg = dataclasses.replace(cfg, **{name: v})
    return mcfg, cfg


def learning(args, mcfg: ModelConfig, cfg: PPOConfig, tmp: Path) -> None:
    seeds = [int(x) for x in args.learn_seeds.split(",") if x.strip()]
    for cell in [c.strip() for c in args.cells.split(",") if c.strip()]:
        m = dataclasses.replace(mcfg, cell=cell)
        print(
            f"\n### Learning {args.level}: {cell}, {args.frames:,} frames per seed, greedy "
            f"evaluation every {args.eval_every} updates\n"
        )
        print(
            "| cell | seed | first greedy completion (frames) | wall s | final greedy | "
            "first stochastic completion | frames/s | greedy progress along the run |"
        )
        print("|---|---:|---:|---:|---|---:|---:|---|")
        done = 0
        for seed in seeds:
            out = tmp / f"{cell}-{seed}"
            r = learn_seed(m, cfg, args.level, args.frames, seed, args.eval_every, out)
            step = max(1, len(r["curve"]) // 6)
            pts = r["curve"][step - 1 :: step]
            curve = ", ".join(f"{f / 1e6:.1f}M {100 * p:.0f}%" for f, p, _ in pts)
            fc, sf = r["first"], r["stochastic_first"]
            done += fc is not None
            print(
                f"| {cell} | {seed} | {'-' if fc is None else format(fc['frames'], ',')} | "
                f"{'-' if fc is None else format(fc['seconds'], '.0f')} | "
                f"{'yes' if r['final'] else 'no'} | {'-' if sf is None else format(sf, ',')} | "
                f"{r['frames'] / r['wall']:,.0f} | {curve} |",
                flush=True,
            )
        print(f"\n{cell}: {done} of {len(seeds)} seeds finished {args.level} greedily")


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
    p.add_argument("--learn-seeds", default="", help="comma-separated seeds: run the learning part")
    p.add_argument("--frames", type=int, default=3_000_000, help="learning: frames per seed")
    p.add_argument("--eval-every", type=int, default=4, help="learning: updates between evals")
    p.add_argument("--set", action="append", default=[], help="model.NAME=V or ppo.NAME=V")
    p.add_argument("--skip-throughput", action="store_true")
    args = p.parse_args(argv)
    if min(args.repeats, args.updates, args.threads) < 1:
        print("bench_ppo.py: --repeats, --updates, --threads must be >= 1", file=sys.stderr)
        return 2
    device = resolve_device(args.device)
    torch.set_num_threads(args.threads)
    new_model, new_ppo = apply_settings(*load_ppo_config(), args.set)
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
    if args.set:
        print(f"(changed: {', '.join(args.set)})\n")
    if args.skip_throughput:
        with tempfile.TemporaryDirectory() as tmp:
            learning(args, new_model, new_ppo, Path(tmp))
        return 0
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
        if args.learn_seeds:
            learning(args, new_model, new_ppo, Path(tmp))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
