"""Helpers of the recurrent-trainer tests: untimed metrics, saved weights, their equality."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from agent.rnn.runfiles import TIMING_KEYS


def untimed(metrics: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Metrics lines without the keys that measure time (they differ between identical runs)."""
    return [{k: v for k, v in m.items() if k not in TIMING_KEYS} for m in metrics]


def weights(path: str | Path) -> dict[str, torch.Tensor]:
    """The state dict in ``path`` (a ``model.pt``, or a run directory holding one)."""
    path = Path(path)
    return torch.load(path / "model.pt" if path.is_dir() else path, weights_only=True)


def same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
