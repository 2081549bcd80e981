"""The backprop baseline: recurrent PPO throughput, and time to the first completion of a level.

Sections (each printed as a markdown table):

1. **Throughput** of PPO-LSTM at the default settings (``configs/ppo.json``) on ``--level``:
   game frames per second over whole updates (rollout + learning), updates per second, and
   the split between rollout and learning; median of ``--updates`` timed updates after one
   warm-up update. ``--cells`` repeats it for GRU and the vanilla RNN.
2. **Core calls**: one minibatch forward + backward (128 steps x 4 envs, a few episode
   boundaries) with the masked core (all episode pieces in one call) against the per-time-step
   Python loop of the common implementations.
3. **PPO until the first completion** of ``--level``: frames and wall-clock until an episode
   first reaches the flag, capped at ``--ppo-cap-seconds`` / ``--ppo-cap-frames`` (reported as
   "not reached within the cap" otherwise).
4. **BC from solver demonstrations until the first completion**: the solver's run of the level,
   then DAgger rounds; frames count the demonstration, the student's DAgger episodes and its
   evaluation episodes (the expert's search is reported separately as searches and seconds).
   Capped at ``--bc-cap-seconds``.

Run: ``python benchmarks/bench_lstm.py [--device cpu|cuda] [--level 1-1]``; a quick check:
``python benchmarks/bench_lstm.py --updates 2 --ppo-cap-seconds 60 --bc-cap-seconds 60``.
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
from bench_ppo import sync, time_updates  # this folder is on sys.path when run as a script

from agent.rnn.bc import BCConfig, load_bc_config, train_bc
from agent.rnn.model import ModelConfig, RecurrentPolicy, resolve_device
from agent.rnn.ppo import PPOConfig, load_ppo_config, train_ppo


def throughput(
    mcfg: ModelConfig, cfg: PPOConfig, level: str, device: torch.device, updates: int, out: Path
) -> dict[str, float]:
    """bench_ppo's timed updates (one warm-up, then medians of rollout and learning time), as
    the figures of this benchmark's table."""
    r = time_updates(mcfg, cfg, level, device, updates, out)
    sec = r["rollout"] + r["learn"]
    return {
        "frames_per_second": r["fps"],
        "updates_per_second": 1.0 / sec,
        "rollout_seconds": r["rollout"],
        "learn_seconds": r["learn"],
        "rollout_frames_per_second": cfg.frames_per_update / r["rollout"],
    }


def core_calls(mcfg: ModelConfig, device: torch.device, repeats: int = 5) -> dict[str, float]:
    """The masked forward (episode pieces in one core call) vs a per-step loop on one
    minibatch (128 x 4, 3 boundaries)."""
    torch.manual_seed(0)
    model = RecurrentPolicy(mcfg).to(device)
    T, B, s = 128, 4, mcfg.obs_size
    obs = torch.randint(-1, 2, (T, B, s, s), device=device).float()
    mask = torch.zeros(T, B, device=device)
    mask[40, 0] = mask[90, 1] = mask[100, 3] = 1.0

    def segmented() -> None:
        logits, values, _ = model(obs, model.initial_state(B, device), mask)
        (logits.sum() + values.sum()).backward()

    def per_step() -> None:
        state, outs = model.initial_state(B, device), []
        for t in range(T):
            state = model.mask_state(state, 1.0 - mask[t])
            logits, values, state = model(obs[t : t + 1], state)
            outs.append(logits.sum() + values.sum())
        torch.stack(outs).sum().backward()

    res = {}
    for name, fn in (("segmented", segmented), ("per_step", per_step)):
        fn()
        times = []
        for _ in range(repeats):
            sync(device)
            t0 = time.perf_counter()
            fn()
            sync(device)
            times.append(time.perf_counter() - t0)
        res[name] = statistics.median(times)
    return res


def ppo_first_completion(
    mcfg: ModelConfig, cfg: PPOConfig, level: str, device: torch.device, args, out: Path
) -> dict:
    t0 = time.perf_counter()

    def stop(m: dict) -> bool:
        return (
            m["first_completion_frames"] is not None
            or time.perf_counter() - t0 > args.ppo_cap_seconds
        )

    res = train_ppo(
        mcfg, cfg, levels=[level], frames=args.ppo_cap_frames, seed=args.seed, out_dir=out,
        device=device, progress=not args.quiet, callback=stop, threads=args.threads,
    )  # fmt: skip
    last = res.metrics[-1] if res.metrics else {}
    return {
        "reached": res.first_completion_frames is not None,
        "frames": res.first_completion_frames,
        "seconds": res.first_completion_seconds,
        "frames_run": res.frames,
        "seconds_run": res.wall_seconds,
        "updates": res.updates,
        "progress": last.get("progress"),
        "max_progress": max((m["max_progress"] or 0.0 for m in res.metrics), default=0.0),
    }


def bc_first_completion(
    mcfg: ModelConfig, cfg: BCConfig, level: str, device: torch.device, args, out: Path
) -> dict:
    t0 = time.perf_counter()

    def stop(m: dict) -> bool:
        return (
            m["first_completion_frames"] is not None
            or time.perf_counter() - t0 > args.bc_cap_seconds
        )

    res = train_bc(
        mcfg, cfg, [level], demos=None, dagger_iters=args.bc_dagger, seed=args.seed,
        out_dir=out, device=device, progress=not args.quiet, callback=stop, threads=args.threads,
    )  # fmt: skip
    last = res.metrics[-1]
    return {
        "reached": res.first_completion_frames is not None,
        "frames": res.first_completion_frames,
        "seconds": res.first_completion_seconds,
        "demo_frames": last["demo_frames"],
        "frames_run": res.env_frames,
        "seconds_run": res.wall_seconds,
        "updates": res.updates,
        "dagger_rounds": last["round"],
        "expert_searches": last["expert_searches_total"],
        "progress": last["progress"],
    }


def _fmt(x: float | None, spec: str = ",.0f") -> str:
    return "-" if x is None else format(x, spec)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu", help="auto, cpu, cuda or cuda:N (cpu)")
    p.add_argument("--level", default="1-1")
    p.add_argument("--updates", type=int, default=5, help="timed PPO updates (5)")
    p.add_argument("--cells", default="lstm", help="comma-separated cells for throughput")
    p.add_argument("--ppo-cap-seconds", type=float, default=600.0)
    p.add_argument("--ppo-cap-frames", type=int, default=20_000_000)
    p.add_argument("--bc-cap-seconds", type=float, default=600.0)
    p.add_argument("--bc-dagger", type=int, default=10, help="DAgger rounds at most (10)")
    p.add_argument("--skip", default="", help="comma-separated: throughput,core,ppo,bc")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (1, as training)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="no training progress output")
    args = p.parse_args(argv)
    device = resolve_device(args.device)
    torch.set_num_threads(args.threads)
    skip = {x.strip() for x in args.skip.split(",") if x.strip()}
    mcfg, ppo_cfg = load_ppo_config()
    bc_model, bc_cfg = load_bc_config()
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else "none"
    print(
        f"device {device} ({gpu}); torch {torch.__version__}, {torch.get_num_threads()} threads; "
        f"{platform.processor() or platform.machine()}; python {sys.version.split()[0]}\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if "throughput" not in skip:
            print(
                f"### PPO throughput ({args.level}, {ppo_cfg.num_envs} envs x "
                f"{ppo_cfg.num_steps} steps, {ppo_cfg.epochs} epochs x {ppo_cfg.minibatches} "
                f"minibatches, median of {args.updates} updates)\n"
            )
            print(
                "| cell | device | frames/s | updates/s | rollout s | learn s | rollout frames/s |"
            )
            print("|---|---|---:|---:|---:|---:|---:|")
            for cell in args.cells.split(","):
                m = dataclasses.replace(mcfg, cell=cell.strip())
                r = throughput(m, ppo_cfg, args.level, device, args.updates, tmp / f"tp-{cell}")
                print(
                    f"| {cell} | {device.type} | {r['frames_per_second']:,.0f} | "
                    f"{r['updates_per_second']:.2f} | {r['rollout_seconds']:.2f} | "
                    f"{r['learn_seconds']:.2f} | {r['rollout_frames_per_second']:,.0f} |",
                    flush=True,
                )
            print()
        if "core" not in skip:
            r = core_calls(mcfg, device)
            print("### Core calls: one minibatch forward + backward (128 steps x 4 envs)\n")
            print("| recurrent core | seconds | speed-up |")
            print("|---|---:|---:|")
            print(f"| per-time-step Python loop | {r['per_step']:.4f} | 1.0x |")
            print(
                f"| episode pieces in one call | {r['segmented']:.4f} | "
                f"{r['per_step'] / r['segmented']:.1f}x |\n",
                flush=True,
            )
        rows = []
        if "ppo" not in skip:
            r = ppo_first_completion(mcfg, ppo_cfg, args.level, device, args, tmp / "ppo")
            rows.append(("PPO-LSTM", r))
        if "bc" not in skip:
            r = bc_first_completion(bc_model, bc_cfg, args.level, device, args, tmp / "bc")
            rows.append(("BC-LSTM (solver demos + DAgger)", r))
        if rows:
            print(
                f"\n### First completion of {args.level} (caps: PPO {args.ppo_cap_seconds:.0f} s"
                f" / {args.ppo_cap_frames:,} frames, BC {args.bc_cap_seconds:.0f} s)\n"
            )
            print("| method | reached | frames | wall s | frames run | wall s run | notes |")
            print("|---|---|---:|---:|---:|---:|---|")
            for name, r in rows:
                if "demo_frames" in r:
                    note = (
                        f"demo {r['demo_frames']:,} frames, {r['dagger_rounds']} DAgger rounds, "
                        f"{r['expert_searches']} expert searches, {r['updates']} updates"
                    )
                else:
                    note = f"{r['updates']} updates, best progress {100 * r['max_progress']:.0f}%"
                reached = "yes" if r["reached"] else "not reached within the cap"
                print(
                    f"| {name} | {reached} | {_fmt(r['frames'])} | {_fmt(r['seconds'], '.1f')} | "
                    f"{r['frames_run']:,} | {r['seconds_run']:.1f} | {note} |"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
