"""Per-frame position error between the fast world and the NES emulator on scripted sequences.

Each sequence of ``envs.smb.fidelity.SEQUENCES`` is played from the start of 1-1 in the emulator
and in ``smb:1-1`` under the SMB physics profile, and again under the lab's DEFAULT profile (the
same level renamed), and Mario's x and y are compared per frame (level pixels; both act on the
pad a frame late), over the frames both runs last; the last row is the solver's plan for the
stage (found in the fast world), played open loop in both, and whether it reaches the game's
flag. Needs the ``nes`` extra. Run: ``PYTHONPATH=. python benchmarks/bench_smb_fidelity.py``.
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import time

import numpy as np

from envs.levels.level import load_level
from envs.smb import fidelity
from envs.smb.console import Console
from envs.smb.ram import flag_reached, is_dying, joypad_byte
from envs.solver import solve


def first_off(dx: np.ndarray, dy: np.ndarray) -> str:
    off = np.flatnonzero((dx > 0) | (dy > 0))
    return str(int(off[0])) if len(off) else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="1-1")
    args = parser.parse_args(argv)
    world, stage = (int(v) for v in args.stage.split("-"))
    level = load_level(f"smb:{args.stage}")
    lab = dataclasses.replace(level, name=f"lab-{args.stage}")
    console = Console(world, stage)
    print(
        f"# smb:{args.stage} against the emulator; {platform.machine()}, python "
        f"{platform.python_version()}"
    )
    print(
        "| sequence | frames (game / sim) | SMB max dx | SMB max dy | SMB mean dx, dy | "
        "SMB first off | DEFAULT max dx | DEFAULT max dy |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    all_smb, all_lab = [], []
    start = time.perf_counter()
    plan = np.repeat(solve(level).actions, 5, axis=0)
    for name, buttons in [*fidelity.SEQUENCES.items(), ("the solver's plan", plan)]:
        real = fidelity.emulator_trajectory(console, buttons)
        sim = fidelity.sim_trajectory(level, buttons)
        old = fidelity.sim_trajectory(lab, buttons)
        dx, dy = fidelity.errors(real, sim)
        lx, ly = fidelity.errors(real, old)
        all_smb.append(np.maximum(dx, dy))
        all_lab.append(np.maximum(lx, ly))
        print(
            f"| {name} | {len(real.x)} / {len(sim.x)} | {dx.max():.0f} | {dy.max():.0f} | "
            f"{dx.mean():.2f}, {dy.mean():.2f} | {first_off(dx, dy)} | {lx.max():.0f} | "
            f"{ly.max():.0f} |",
            flush=True,
        )
    smb, lab_err = np.concatenate(all_smb), np.concatenate(all_lab)
    print(
        f"\nall frames: {len(smb)}; SMB profile: {np.mean(smb == 0):.1%} exact, "
        f"99th percentile {np.percentile(smb, 99):.0f} px, max {smb.max():.0f} px; DEFAULT: "
        f"{np.mean(lab_err == 0):.1%} exact, median {np.median(lab_err):.0f} px, max "
        f"{lab_err.max():.0f} px ({time.perf_counter() - start:.1f} s)"
    )
    print(f"the solver's plan on the game: {plan_on_game(console, plan)}")
    console.close()
    return 0


def plan_on_game(console, plan: np.ndarray) -> str:
    """Whether the buttons ``plan`` take the game's Mario to the flag (open loop), and when."""
    console.restart()
    for t, row in enumerate(plan):
        console.frame(joypad_byte(row))
        if flag_reached(console.ram):
            return f"reaches the flag at frame {t + 1}"
        if is_dying(console.ram):
            return f"dies at frame {t + 1}"
    return "neither reaches the flag nor dies"


if __name__ == "__main__":
    raise SystemExit(main())
