"""Warm starts: a new PPO run that begins from a saved policy (``train.py rnn --init-from DIR``).

The usual source is a behaviour-cloned policy (``--algo bc``) trained on solver demonstrations:
PPO then starts from a policy that already finishes some levels, instead of one that presses
buttons at random, and skips the long search for its first completions (BENCHMARKS.md, "The
LSTM generalist"). Any run directory with ``model.pt`` + ``model.json`` will do (a PPO run, a
zoo agent).

Only the weights are taken, never the optimizer, generators or counters: the warm-started run
is a new run with its own seed, budget and levels. Its model settings are the saved model's
(the cell, sizes and view are fixed by the weights); a model config that asks for another shape
is refused with a one-line error naming the differing fields. ``run.json`` records where the
weights came from (``init_from``: the directory, the saved model's trainer and levels, and the
SHA-256 of its ``model.pt``) so a zoo agent says what it was built on.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from agent.rnn.model import MODEL_FILE, ModelConfig, load_model
from agent.runs import TrainError
from envs.levels.generator import held_out_seeds

__all__ = ["WarmStart", "load_warm_start"]


@dataclass
class WarmStart:
    """The weights a new run starts from, their model settings and what ``run.json`` says."""

    weights: dict[str, torch.Tensor]
    config: ModelConfig
    record: dict[str, Any]


#: A generated level's name (``envs.levels.generator.generate_level``): its seed.
GENERATED_NAME = re.compile(r"gen-s(\d+)-")


def load_warm_start(
    directory: str | Path, asked: ModelConfig | None = None, frame_skip: int | None = None
) -> WarmStart:
    """The saved policy in ``directory`` (validated by ``agent.rnn.model.load_model``).

    ``asked``: the model settings the caller configured, or None to take the saved model's;
    when given they must equal the saved model's (``TrainError`` naming the fields otherwise).
    ``frame_skip``: the new run's; a model that decided every other number of frames is
    refused. So is a model trained on a held-out generated level (the benchmarks' test set).
    """
    path = Path(directory)
    if not path.is_dir():
        raise TrainError(f"--init-from {path}: not a run directory")
    try:
        model, config, extra = load_model(path)
    except ValueError as exc:  # ModelError: unreadable, mismatched or non-finite weights
        raise TrainError(f"--init-from {path}: {exc}") from None
    if asked is not None and asked != config:
        mine, theirs = asked.to_dict(), config.to_dict()
        diff = ", ".join(
            f"{k} {theirs[k]!r} (configured {mine[k]!r})"
            for k in theirs
            if mine.get(k) != theirs[k]
        )
        raise TrainError(
            f"--init-from {path}: the saved model differs from the configured one: {diff}; "
            "leave out --config/--cell to train the saved model's shape"
        )
    saved_skip = extra.get("frame_skip")
    if frame_skip is not None and saved_skip is not None and saved_skip != frame_skip:
        raise TrainError(
            f"--init-from {path}: the saved model decides every {saved_skip} frames, this run "
            f"every {frame_skip} (ppo.frame_skip)"
        )
    levels = extra.get("levels")
    held = held_out_seeds()
    for name in levels if isinstance(levels, list) else []:
        m = GENERATED_NAME.match(str(name))
        if m and int(m.group(1)) in held:
            raise TrainError(
                f"--init-from {path}: the saved model was trained on {name}, a held-out level "
                "(envs.levels.generator.held_out_seed): a warm start must not have seen them"
            )
    digest = hashlib.sha256((path / MODEL_FILE).read_bytes()).hexdigest()
    record = {
        "dir": str(path),
        "trainer": extra.get("trainer"),
        "levels": len(levels) if isinstance(levels, list) else None,
        "model_sha256": digest,
    }
    return WarmStart({k: v.detach().clone() for k, v in model.state_dict().items()}, config, record)
