"""Helpers of the recurrent-trainer tests: small levels, untimed metrics, saved weights."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

from agent.rnn.runfiles import TIMING_KEYS
from envs.levels.level import Level
from tests.helpers.levels import level_from_rows

# A flat corridor, the flag 27 tiles from the start: the solver runs it in a few dozen steps,
# and going right is all a policy has to learn.
FLAT_ROWS = (
    "................................",
    "................................",
    "................................",
    "................................",
    "................................",
    "..S..........................F..",
    "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
)

# Two pits and an enemy: a student has to learn when to jump.
PITS_ROWS = (
    "........................................",
    "........................................",
    "........................................",
    "........................................",
    "........................................",
    "........................................",
    "..S............E..................F.....",
    "XXXXXXXXXXXX...XXXXXXXXX..XXXXXXXXXXXXXX",
    "XXXXXXXXXXXX...XXXXXXXXX..XXXXXXXXXXXXXX",
)


def flat_level() -> Level:
    return level_from_rows(*FLAT_ROWS, name="flat")


def pits_level() -> Level:
    """The level of the BC run in tests/agent/rnn/data/old-runs (given again on resume)."""
    return level_from_rows(*PITS_ROWS, name="pits")


def untimed(metrics: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Metrics lines without the keys that measure time (they differ between identical runs)."""
    return [{k: v for k, v in m.items() if k not in TIMING_KEYS} for m in metrics]


def close_metrics(a: list[dict[str, Any]], b: list[dict[str, Any]], rtol: float = 1e-5) -> bool:
    """The same metrics lines, floats within ``rtol`` (or 1e-6 absolute): for reference runs
    made on another machine, whose CPU kernels round float32 sums differently (a loss differs
    in its 8th digit, a loss near 0 by 1e-7); every other value (counts, keys) must be equal."""

    def close(x: Any, y: Any) -> bool:
        if isinstance(x, float) or isinstance(y, float):
            return (
                isinstance(x, (int, float))
                and isinstance(y, (int, float))
                and (math.isclose(x, y, rel_tol=rtol, abs_tol=1e-6))
            )
        return x == y

    if len(a) != len(b):
        return False
    pairs = zip(a, b, strict=True)
    return all(m.keys() == n.keys() and all(close(m[k], n[k]) for k in m) for m, n in pairs)


def weights(path: str | Path) -> dict[str, torch.Tensor]:
    """The state dict in ``path`` (a ``model.pt``, or a run directory holding one)."""
    path = Path(path)
    return torch.load(path / "model.pt" if path.is_dir() else path, weights_only=True)


def same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def close_weights(
    a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], atol: float = 1e-7
) -> bool:
    """Equal keys and weights within ``atol``: for reference files written on another machine,
    whose CPU kernels round differently (about 1e-11 after a few updates); runs on one machine
    are compared exactly with :func:`same_weights`."""
    return a.keys() == b.keys() and all(
        a[k].shape == b[k].shape and torch.allclose(a[k], b[k], rtol=0.0, atol=atol) for k in a
    )
