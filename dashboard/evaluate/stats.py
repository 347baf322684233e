"""Pass rates with their uncertainty: a Wilson interval per target, a Newcomb interval on the
difference between two targets, and how many runs would settle a difference.

All three come from statsmodels: `proportion_confint(method="wilson")`,
`confint_proportions_2indep(method="newcomb")` (Newcomb's hybrid score interval, his method 10)
and `samplesize_proportions_2indep_onetail` (the normal approximation for two independent
proportions). Each interval is two-sided at 95%.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    samplesize_proportions_2indep_onetail,
)

__all__ = ["ALPHA", "POWER", "Difference", "compare_rates", "runs_needed", "wilson"]

ALPHA = 0.05  # 95% intervals
POWER = 0.8  # the chance of detecting a true difference that `runs_needed` sizes for


def wilson(passed: int, runs: int) -> tuple[float, float] | None:
    """The 95% Wilson score interval of passed / runs; None when there were no runs."""
    if runs <= 0:
        return None
    lo, hi = proportion_confint(passed, runs, alpha=ALPHA, method="wilson")
    return max(0.0, float(lo)), min(1.0, float(hi))


def runs_needed(rate_a: float, rate_b: float) -> int | None:
    """Runs per target for a 95% two-sided test to detect a difference of this size with 80% power,
    taking the observed rates as the true ones; None when the rates are equal (nothing to detect)."""
    diff = rate_a - rate_b
    if math.isclose(diff, 0.0, abs_tol=1e-12):
        return None
    n = samplesize_proportions_2indep_onetail(diff, rate_b, power=POWER, ratio=1, alpha=ALPHA,
                                              alternative="two-sided")
    return max(2, math.ceil(float(n)))


@dataclass(frozen=True)
class Difference:
    """Pass rate of A minus pass rate of B, with Newcomb's 95% interval."""

    a: str
    b: str
    diff: float
    lo95: float
    hi95: float
    runs_a: int
    runs_b: int
    needed: int | None  # runs per target that would detect a difference this size (80% power)

    @property
    def significant(self) -> bool:
        """True when the interval excludes 0: the pass rates differ at 95%."""
        return self.lo95 > 0 or self.hi95 < 0

    def verdict(self) -> str:
        """One sentence for a person: significant or not, and how many runs are needed when not."""
        pts = f"{self.diff * 100:+.1f} points (95% CI {self.lo95 * 100:+.1f} to {self.hi95 * 100:+.1f})"
        if self.significant:
            better = self.a if self.diff > 0 else self.b
            return f"{self.a} vs {self.b}: {pts}; significant at 95%: {better} passes more often."
        if self.needed is None:
            return (f"{self.a} vs {self.b}: {pts}; no difference in pass rate was observed, so no number of "
                    "runs can be named to detect one.")
        have = min(self.runs_a, self.runs_b)
        return (f"{self.a} vs {self.b}: {pts}; not significant at 95%: too few runs ({have} per target). "
                f"About {self.needed} runs per target would detect a difference this size 80% of the time "
                "(use --repeat or more tests).")


def compare_rates(a: str, passed_a: int, runs_a: int, b: str, passed_b: int, runs_b: int) -> Difference | None:
    """A's pass rate minus B's with Newcomb's 95% interval; None when either has no runs."""
    if runs_a <= 0 or runs_b <= 0:
        return None
    lo, hi = confint_proportions_2indep(passed_a, runs_a, passed_b, runs_b, method="newcomb", compare="diff",
                                        alpha=ALPHA)
    rate_a, rate_b = passed_a / runs_a, passed_b / runs_b
    return Difference(a, b, rate_a - rate_b, float(lo), float(hi), runs_a, runs_b, runs_needed(rate_a, rate_b))
