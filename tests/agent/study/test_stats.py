"""The confidence intervals of the comparison harness (``agent.study.stats``)."""

from __future__ import annotations

import math

import pytest

from agent.study.stats import mean_ci

# Student t quantiles from printed tables (e.g. NIST/SEMATECH e-Handbook, table 1.3.6.7.2).
TABLE = [
    (0.95, 2, 12.706),
    (0.95, 3, 4.303),
    (0.95, 5, 2.776),
    (0.95, 11, 2.228),
    (0.95, 31, 2.042),
    (0.90, 6, 2.015),
    (0.99, 11, 3.169),
    (0.80, 21, 1.325),
    (0.95, 101, 1.984),
]


@pytest.mark.parametrize(("confidence", "n", "quantile"), TABLE)
def test_half_widths_use_the_printed_t_quantiles(confidence, n, quantile):
    """For n values the half-width is t(1 - α/2, n - 1) · s / √n with t from a printed table
    (to its 3 decimals)."""
    values = [float(i % 7) for i in range(n)]
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    c = mean_ci(values, confidence)
    assert c.n == n and c.mean == pytest.approx(mean)
    assert c.half_width / (sd / math.sqrt(n)) == pytest.approx(quantile, abs=6e-4)


def test_mean_ci_is_mean_plus_minus_t_times_standard_error():
    """For 1..5: mean 3, s = sqrt(2.5), half-width = t(0.975, 4) * s / sqrt(5) = 1.9632; equal
    values have a zero-width interval."""
    c = mean_ci([1, 2, 3, 4, 5])
    assert c.mean == 3.0 and c.n == 5
    assert c.half_width == pytest.approx(2.776445 * math.sqrt(2.5) / math.sqrt(5), rel=1e-6)
    assert c.half_width == pytest.approx(1.96324, abs=1e-5)
    assert c.format(2) == "3.00 ± 1.96"
    assert c.format(1, scale=100) == "300.0 ± 196.3"
    assert mean_ci([0.2, 0.2, 0.2]).half_width == pytest.approx(0.0, abs=1e-12)


def test_mean_ci_of_one_value_has_no_interval_and_bad_input_is_refused():
    """One value: its mean and no interval; no values or a confidence outside (0, 1) raise."""
    one = mean_ci([0.7])
    assert one.mean == 0.7 and one.half_width is None and one.format(1) == "0.7"
    with pytest.raises(ValueError, match="at least one value"):
        mean_ci([])
    for confidence in (0.0, 1.0):
        with pytest.raises(ValueError, match="confidence"):
            mean_ci([1, 2], confidence=confidence)
