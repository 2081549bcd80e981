"""Confidence intervals of the comparison harness: the mean of a small sample with its Student-t
interval, ``mean ± t(1 - α/2, n - 1) · s / √n`` (``s`` the sample standard deviation), the
quantile from ``scipy.stats.t``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats

__all__ = ["MeanCI", "mean_ci"]


@dataclass(frozen=True)
class MeanCI:
    """A sample mean with the half-width of its confidence interval (None for n < 2)."""

    mean: float
    half_width: float | None
    n: int

    def format(self, digits: int = 2, scale: float = 1.0) -> str:
        """``"0.53 ± 0.12"`` (``scale`` multiplies both, e.g. 100 for percentages)."""
        m = f"{self.mean * scale:.{digits}f}"
        return m if self.half_width is None else f"{m} ± {self.half_width * scale:.{digits}f}"


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> MeanCI:
    """Mean and t-interval half-width ``t(1 - α/2, n - 1) · s / √n`` of ``values``."""
    xs = [float(v) for v in values]
    if not xs:
        raise ValueError("mean_ci needs at least one value")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be within (0, 1), got {confidence}")
    n = len(xs)
    mean = math.fsum(xs) / n
    if n < 2:
        return MeanCI(mean, None, n)
    sd = math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (n - 1))
    quantile = float(stats.t.ppf(0.5 + confidence / 2.0, n - 1))
    return MeanCI(mean, quantile * sd / math.sqrt(n), n)
