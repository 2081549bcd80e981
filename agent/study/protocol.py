"""``compare.py --train``: train every method under one protocol, then compare them.

For each seed of a ``Preset``: NEAT (``agent.neat.trainer.train``, stopped by the frame budget),
PPO-LSTM (``agent.rnn.ppo.train_ppo`` with the same frame budget) and BC-LSTM
(``agent.rnn.bc.train_bc`` from the solver's demonstrations with DAgger; its length is set in
updates and DAgger rounds, and the frames it used are reported) train on the same training
levels: the preset's built-in levels plus generated ones written to ``OUT/levels/`` so all three
trainers read the same files. Then ``agent.study.harness.compare`` plays every run and the solver on
the training levels and on held-out generated levels whose seeds are disjoint from the training
levels' seeds, and reports mean ± 95% CI over the seeds.

Presets: ``tiny`` (seconds, for tests), ``small`` (minutes on 2 cores; docs/results.md) and
``full`` (hours; documented in docs/results.md, not run in the tests).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.files import atomic_write_text
from agent.study.harness import CompareSettings, Draw, compare
from agent.study.levelsets import CompareError, LevelSet, generated_set
from agent.study.metrics import run_summary

__all__ = ["PRESETS", "Preset", "run_protocol", "write_neat_config"]

TRAIN_SEED_BASE = 1_000_000  # generated training levels: seeds from here (eval seeds stay below)
Log = Callable[[str], None]


@dataclass(frozen=True)
class Preset:
    """Everything the protocol varies: seeds, levels, the frame budget and model sizes."""

    name: str
    seeds: tuple[int, ...]
    frames: int  # the frame budget of each NEAT and PPO run
    train_levels: tuple[str, ...]  # built-in names or files
    train_generated: int  # generated training levels (seeds TRAIN_SEED_BASE + i)
    eval_generated: int  # held-out generated levels (seeds eval_seed + i)
    eval_seed: int = 0
    difficulty: float = 0.3
    length: int = 150
    neat: dict[str, Any] = field(default_factory=dict)  # neat.ini keys to override
    model: dict[str, Any] = field(default_factory=dict)  # ModelConfig overrides (PPO and BC)
    ppo: dict[str, Any] = field(default_factory=dict)  # PPOConfig overrides
    bc: dict[str, Any] = field(default_factory=dict)  # BCConfig overrides
    trainers: tuple[str, ...] = ("neat", "ppo", "bc")


PRESETS: dict[str, Preset] = {
    "tiny": Preset(
        name="tiny",
        seeds=(0, 1),
        frames=4_000,
        train_levels=(),
        train_generated=1,
        eval_generated=2,
        length=40,
        neat={
            "pop_size": 12,
            "initial_connection": "partial_nodirect 0.05",
            "compatibility_threshold": 3.0,
            "target_species": 2,  # 12 genomes: room for few species
        },
        model={"hidden": 16, "encoder": 16},
        ppo={"num_envs": 4, "num_steps": 16, "epochs": 1, "minibatches": 2},
        bc={"updates": 10, "eval_every": 10, "dagger_iters": 0},
    ),
    "small": Preset(
        name="small",
        seeds=(0, 1, 2),
        frames=400_000,
        train_levels=("1-1",),
        train_generated=2,
        eval_generated=20,
        length=100,
        neat={"pop_size": 50},
        bc={"updates": 300, "dagger_iters": 2},
    ),
    "full": Preset(
        name="full",
        seeds=(0, 1, 2, 3, 4),
        frames=5_000_000,
        train_levels=("1-1", "1-2"),
        train_generated=8,
        eval_generated=50,
        length=150,
        neat={"pop_size": 150},
    ),
}


def write_neat_config(base: Path, keys: dict[str, Any], path: Path) -> Path:
    """The NEAT config ``base`` with each of ``keys`` set (every key must occur once), written
    to ``path``; ``CompareError`` naming a key that is not there."""
    text = Path(base).read_text(encoding="utf-8")
    for key, value in keys.items():
        text, n = re.subn(rf"^{key}\s*=.*$", f"{key} = {value}", text, flags=re.M)
        if n != 1:
            raise CompareError(f"NEAT key {key!r} is not (once) in {base}")
    atomic_write_text(path, text)
    return path


def training_set(preset: Preset, out: Path) -> tuple[LevelSet, list[str]]:
    """The training levels (generated ones written to ``out/levels``) and their file specs."""
    from envs.levels.generator import generate_level
    from envs.levels.level import load_level

    (out / "levels").mkdir(parents=True, exist_ok=True)
    specs = list(preset.train_levels)
    seeds = [TRAIN_SEED_BASE + i for i in range(preset.train_generated)]
    for s in seeds:
        level = generate_level(s, preset.difficulty, preset.length)
        path = out / "levels" / f"{level.name}.txt"
        atomic_write_text(path, level.to_text())
        specs.append(str(path))
    levels = [load_level(s) for s in specs]
    return LevelSet("training", levels), specs


def _train_neat(preset: Preset, seed: int, specs: list[str], config: Path, out: Path) -> Any:
    from agent.neat.trainer import TrainSettings, train

    settings = TrainSettings(
        levels=specs,
        generations=100_000,  # the frame budget stops it
        max_frames=preset.frames,
        config=config,
        seed=seed,
        out=out,
        stop_when_solved=False,  # the same budget for everyone, solved or not
    )
    return train(settings, progress=False)


def _train_ppo(preset: Preset, seed: int, specs: list[str], out: Path) -> Any:
    from agent.rnn.ppo import load_ppo_config, train_ppo

    mcfg, pcfg = load_ppo_config()
    mcfg = dataclasses.replace(mcfg, **preset.model)
    pcfg = dataclasses.replace(pcfg, **preset.ppo)
    return train_ppo(
        mcfg, pcfg, levels=specs, frames=preset.frames, seed=seed, out_dir=out, device="cpu",
        progress=False,
    )  # fmt: skip


def _train_bc(preset: Preset, seed: int, specs: list[str], out: Path) -> Any:
    from agent.rnn.bc import load_bc_config, train_bc

    mcfg, bcfg = load_bc_config()
    mcfg = dataclasses.replace(mcfg, **preset.model)
    bcfg = dataclasses.replace(bcfg, **preset.bc)
    return train_bc(mcfg, bcfg, levels=specs, seed=seed, out_dir=out, device="cpu", progress=False)


TRAINERS = ("neat", "ppo", "bc")


def run_protocol(
    preset: Preset,
    out: Path,
    log: Log | None = None,
    episodes: int = 1,
    draw: Draw | None = None,
    sample: bool = False,
    sample_seed: int = 0,
    max_frames: int = 0,
) -> dict[str, Any]:
    """Train every trainer of ``preset`` for every seed into ``out/runs``, then compare them
    (with the solver) on the training levels and the held-out levels; returns the results.
    ``draw``, ``sample`` and ``max_frames``: as for ``compare`` (the plots; recurrent runs
    sampling their buttons while evaluated; a cap on each evaluation episode)."""
    say = log or (lambda line: None)
    out = Path(out)
    runs_dir = out / "runs"
    if runs_dir.exists() and any(runs_dir.iterdir()):
        raise CompareError(f"{runs_dir}: already holds runs; give a fresh --out directory")
    unknown = [t for t in preset.trainers if t not in TRAINERS]
    if unknown:
        raise CompareError(f"preset {preset.name}: unknown trainer {unknown[0]!r}")
    eval_seeds = range(preset.eval_seed, preset.eval_seed + preset.eval_generated)
    train_seeds = range(TRAIN_SEED_BASE, TRAIN_SEED_BASE + preset.train_generated)
    if set(eval_seeds) & set(train_seeds):
        raise CompareError("held-out level seeds overlap the training level seeds")
    held_out = generated_set(
        preset.eval_generated, preset.eval_seed, preset.difficulty, preset.length, "held-out"
    )
    train_set, specs = training_set(preset, out)
    from agent.neat.trainer import DEFAULT_CONFIG

    config = write_neat_config(DEFAULT_CONFIG, preset.neat, out / "neat.ini")
    say(
        f"preset {preset.name}: seeds {list(preset.seeds)}, {preset.frames:,} frames per run, "
        f"{len(specs)} training levels, {len(held_out.levels)} held-out levels"
    )
    agents = ["solver"]
    for seed in preset.seeds:
        for trainer in preset.trainers:
            run = runs_dir / (f"neat-s{seed}" if trainer == "neat" else f"{trainer}-lstm-s{seed}")
            if trainer == "neat":
                _train_neat(preset, seed, specs, config, run)
            elif trainer == "ppo":
                _train_ppo(preset, seed, specs, run)
            else:
                _train_bc(preset, seed, specs, run)
            agents.append(str(run))
            say(f"[{trainer} seed {seed}] {run_summary(run, trainer)}")
    settings = CompareSettings(
        agents=agents,
        level_sets=[train_set, held_out],
        episodes=episodes,
        max_frames=max_frames,
        out=out,
        sample=sample,
        sample_seed=sample_seed,
        extra={"protocol": {"preset": dataclasses.asdict(preset), "training_levels": specs}},
    )
    return compare(settings, log=say, draw=draw)
