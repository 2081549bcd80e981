"""The confidence-interval arithmetic of the comparison harness (``agent.study.stats``)."""

from __future__ import annotations

import math

import pytest

from agent.study.stats import mean_ci, t_cdf, t_quantile

# Student t quantiles from printed tables (e.g. NIST/SEMATECH e-Handbook, table 1.3.6.7.2).
TABLE = [
    (0.975, 1, 12.706),
    (0.975, 2, 4.303),
    (0.975, 4, 2.776),
    (0.975, 10, 2.228),
    (0.975, 30, 2.042),
    (0.95, 5, 2.015),
    (0.995, 10, 3.169),
    (0.9, 20, 1.325),
    (0.975, 100, 1.984),
]


@pytest.mark.parametrize(("p", "df", "expected"), TABLE)
def test_t_quantiles_match_the_printed_tables(p, df, expected):
    """``t_quantile`` agrees with published t tables to their 3 decimals."""
    assert t_quantile(p, df) == pytest.approx(expected, abs=6e-4)


def test_t_quantile_inverts_the_cdf_and_is_symmetric():
    """cdf(quantile(p)) = p, quantile(1 - p) = -quantile(p), and large df tends to the normal
    quantile 1.95996."""
    for df in (1, 3, 7.5, 40):
        for p in (0.6, 0.9, 0.975, 0.999):
            q = t_quantile(p, df)
            assert t_cdf(q, df) == pytest.approx(p, abs=1e-10)
            assert t_quantile(1 - p, df) == pytest.approx(-q, rel=1e-9)
    assert t_quantile(0.975, 1e6) == pytest.approx(1.959964, abs=1e-5)
    assert t_cdf(0.0, 5) == pytest.approx(0.5)


def test_mean_ci_is_mean_plus_minus_t_times_standard_error():
    """For 1..5: mean 3, s = sqrt(2.5), half-width = t(0.975, 4) * s / sqrt(5) = 1.9632."""
    c = mean_ci([1, 2, 3, 4, 5])
    assert c.mean == 3.0 and c.n == 5
    assert c.half_width == pytest.approx(2.776445 * math.sqrt(2.5) / math.sqrt(5), rel=1e-6)
    assert c.half_width == pytest.approx(1.96324, abs=1e-5)
    assert c.format(2) == "3.00 ± 1.96"
    assert mean_ci([0.2, 0.2, 0.2]).half_width == pytest.approx(0.0, abs=1e-12)


def test_mean_ci_of_one_value_has_no_interval_and_bad_input_is_refused():
    """One value: its mean and no interval; no values or a confidence outside (0, 1) raise;
    quantile arguments out of range raise."""
    one = mean_ci([0.7])
    assert one.mean == 0.7 and one.half_width is None and one.format(1) == "0.7"
    with pytest.raises(ValueError, match="at least one value"):
        mean_ci([])
    with pytest.raises(ValueError, match="confidence"):
        mean_ci([1, 2], confidence=1.0)
    with pytest.raises(ValueError, match="p must be"):
        t_quantile(1.0, 3)
    with pytest.raises(ValueError, match="degrees of freedom"):
        t_quantile(0.9, 0)
