"""The intervals, against the textbook formulas written out here."""

from __future__ import annotations

import math

import pytest
from scipy.stats import norm

from dashboard.evaluate.stats import compare_rates, runs_needed, wilson

Z = norm.ppf(0.975)


def wilson_by_hand(k: int, n: int) -> tuple[float, float]:
    p = k / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z / (1 + Z * Z / n) * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return centre - half, centre + half


@pytest.mark.parametrize(("k", "n"), [(0, 12), (1, 12), (5, 12), (12, 12), (37, 50), (1, 1)])
def test_wilson_interval(k, n):
    lo, hi = wilson(k, n)
    want_lo, want_hi = wilson_by_hand(k, n)
    assert lo == pytest.approx(max(want_lo, 0.0), abs=1e-12)
    assert hi == pytest.approx(min(want_hi, 1.0), abs=1e-12)


def test_wilson_without_runs_is_none():
    assert wilson(0, 0) is None


@pytest.mark.parametrize(("k1", "n1", "k2", "n2"), [(12, 12, 5, 12), (5, 12, 1, 12), (3, 10, 3, 10), (40, 50, 30, 60)])
def test_newcomb_interval_on_the_difference(k1, n1, k2, n2):
    d = compare_rates("a", k1, n1, "b", k2, n2)
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson_by_hand(k1, n1)
    l2, u2 = wilson_by_hand(k2, n2)
    # Newcomb (1998), method 10: the hybrid score interval from the two Wilson intervals.
    lo = p1 - p2 - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    hi = p1 - p2 + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    assert (d.diff, d.lo95, d.hi95) == pytest.approx((p1 - p2, lo, hi), abs=1e-9)
    assert d.significant == (lo > 0 or hi < 0)


def test_a_difference_too_small_for_its_runs_names_the_runs_needed():
    d = compare_rates("a", 5, 12, "b", 1, 12)
    assert not d.significant
    p1, p2 = 5 / 12, 1 / 12
    # Two-sided 5%, 80% power, equal groups, normal approximation with pooled variance under H0.
    pbar = (p1 + p2) / 2
    n = ((norm.ppf(0.975) * math.sqrt(2 * pbar * (1 - pbar)) + norm.ppf(0.8) * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2)))
         / (p1 - p2)) ** 2
    assert d.needed == math.ceil(n)
    assert f"About {d.needed} runs per target" in d.verdict() and "too few runs (12 per target)" in d.verdict()


def test_equal_rates_need_no_count_and_say_so():
    assert runs_needed(0.5, 0.5) is None
    d = compare_rates("a", 3, 10, "b", 3, 10)
    assert not d.significant and "no difference in pass rate was observed" in d.verdict()


def test_a_clear_difference_is_significant():
    d = compare_rates("a", 12, 12, "b", 1, 12)
    assert d.significant and "significant at 95%: a passes more often" in d.verdict()
