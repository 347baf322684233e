"""Launch-cost scenarios: what a planned traffic costs per month on one or more routes.

Traffic model. A month is 30 days. Month k (0-based) has
`requests_per_day * (1 + growth_pct/100) ** k` requests per day, so its request count is
that times 30, rounded half-even to whole requests (computed exactly in Decimal).

Tokens. `input_tokens` is the mean prompt size per request, *every* prompt token (cached
or not); `output_tokens` the mean completion size, reasoning included. Per month:
prompt = round(requests * input_tokens); cache_read = round(prompt * cache_hit_rate);
cache_write = min(round(prompt * cache_write_share), prompt - cache_read);
input (uncached) = prompt - cache_read - cache_write; output = round(requests *
output_tokens); reasoning = round(output * reasoning_share). Every `round` is half-even to
whole tokens on the month's total, so the buckets are disjoint and add up to the prompt.

Cost is exact Decimal: the pricing engine's `bucket_costs` on each month's aggregate
`Usage`, at the rates in force at `at` (default now). A context tier is chosen from the
per-request prompt size (never the month's total); time-of-day windows (a peak price) are
weighted by the hours of the week they cover, the traffic taken as spread evenly over the week.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import numpy as np
import pandas as pd

from dashboard import metrics
from dashboard.errors import DashboardError
from dashboard.forecasts.routes import aggregate_rates, resolve_route
from pricing import Catalog, Rates, Usage, bucket_costs, money_str

__all__ = [
    "DAYS_PER_MONTH",
    "MonteCarloMonth",
    "MonthCost",
    "RouteCost",
    "ScenarioInputs",
    "ScenarioResult",
    "SensitivityRow",
    "inputs_from_history",
    "monte_carlo",
    "run_scenario",
    "sensitivity",
]

DAYS_PER_MONTH = 30
ONE = Decimal(1)


def _whole(x: Decimal) -> int:
    """Half-even to a whole number (tokens or requests)."""
    return int(x.to_integral_value(rounding=ROUND_HALF_EVEN))


def _dec(value: Any, name: str) -> Decimal:
    if isinstance(value, bool):
        raise DashboardError(f"{name} must be a number, got {value!r}")
    try:
        # str() first, so 0.3 becomes Decimal("0.3") and not its binary neighbour.
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except ArithmeticError as e:
        raise DashboardError(f"{name} must be a number, got {value!r}") from e


@dataclass(frozen=True)
class ScenarioInputs:
    """A planned traffic. Shares are fractions 0..1; growth is percent per month."""

    routes: tuple[str, ...]
    requests_per_day: Decimal
    input_tokens: Decimal  # mean prompt tokens per request, cached ones included
    output_tokens: Decimal  # mean completion tokens per request, reasoning included
    growth_pct: Decimal = Decimal(0)  # month-over-month traffic growth, percent
    months: int = 12
    cache_hit_rate: Decimal = Decimal(0)  # share of prompt tokens read from cache
    cache_write_share: Decimal = Decimal(0)  # share of prompt tokens written to cache
    reasoning_share: Decimal = Decimal(0)  # share of output tokens spent reasoning

    @classmethod
    def for_users(cls, users: Any, requests_per_user_per_day: Any, **kwargs: Any) -> ScenarioInputs:
        """Traffic given as users x requests per user per day."""
        daily = _dec(users, "users") * _dec(requests_per_user_per_day, "requests per user per day")
        return cls(requests_per_day=daily, **kwargs)

    def __post_init__(self) -> None:
        routes = (self.routes,) if isinstance(self.routes, str) else tuple(self.routes)
        if not routes:
            raise DashboardError("a scenario needs at least one route PROVIDER/MODEL")
        object.__setattr__(self, "routes", routes)
        for name in (
            "requests_per_day",
            "input_tokens",
            "output_tokens",
            "growth_pct",
            "cache_hit_rate",
            "cache_write_share",
            "reasoning_share",
        ):
            object.__setattr__(self, name, _dec(getattr(self, name), name))
        for name in ("requests_per_day", "input_tokens", "output_tokens"):
            if getattr(self, name) < 0:
                raise DashboardError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("cache_hit_rate", "cache_write_share", "reasoning_share"):
            if not 0 <= getattr(self, name) <= 1:
                raise DashboardError(
                    f"{name} is a share of tokens between 0 and 1, got {getattr(self, name)}"
                )
        if self.cache_hit_rate + self.cache_write_share > 1:
            raise DashboardError(
                f"cache hit rate ({self.cache_hit_rate}) + cache write share ({self.cache_write_share}) "
                "exceed 1; together they are at most every prompt token"
            )
        if self.growth_pct <= -100:
            raise DashboardError(f"growth must be above -100% per month, got {self.growth_pct}%")
        if isinstance(self.months, bool) or not isinstance(self.months, int) or not 1 <= self.months <= 120:
            raise DashboardError(f"months must be a whole number from 1 to 120, got {self.months!r}")


@dataclass(frozen=True)
class MonthCost:
    month: int  # 1-based
    requests: int
    usage: Usage
    input_usd: Decimal
    cache_read_usd: Decimal
    cache_write_usd: Decimal
    output_usd: Decimal

    @property
    def total_usd(self) -> Decimal:
        return self.input_usd + self.cache_read_usd + self.cache_write_usd + self.output_usd

    def as_dict(self) -> dict[str, Any]:
        u = self.usage
        return {
            "month": self.month,
            "requests": self.requests,
            "input_tokens": u.input_tokens,
            "cache_read_tokens": u.cache_read_tokens,
            "cache_write_tokens": u.cache_write_tokens,
            "output_tokens": u.output_tokens,
            "reasoning_tokens": u.reasoning_tokens,
            "input_usd": money_str(self.input_usd),
            "cache_read_usd": money_str(self.cache_read_usd),
            "cache_write_usd": money_str(self.cache_write_usd),
            "output_usd": money_str(self.output_usd),
            "cost_usd": money_str(self.total_usd),
        }


@dataclass(frozen=True)
class RouteCost:
    route: str
    rates: Rates
    months: tuple[MonthCost, ...]
    cheapest: bool = False

    @property
    def total_usd(self) -> Decimal:
        return sum((m.total_usd for m in self.months), Decimal(0))

    def as_dict(self) -> dict[str, Any]:
        return {
            "route": self.route,
            "cheapest": self.cheapest,
            "rates_per_mtok": self.rates.as_dict(),
            "months": [m.as_dict() for m in self.months],
            "total_usd": money_str(self.total_usd),
        }


@dataclass(frozen=True)
class ScenarioResult:
    inputs: ScenarioInputs
    routes: tuple[RouteCost, ...]

    @property
    def cheapest(self) -> RouteCost:
        return next(r for r in self.routes if r.cheapest)

    def as_dict(self) -> dict[str, Any]:
        return {"routes": [r.as_dict() for r in self.routes]}


def month_usage(inputs: ScenarioInputs, k: int) -> tuple[int, Usage]:
    """Requests and token buckets of month k (0-based); see the module docstring for rounding."""
    requests = _whole(inputs.requests_per_day * (ONE + inputs.growth_pct / 100) ** k * DAYS_PER_MONTH)
    prompt = _whole(requests * inputs.input_tokens)
    cache_read = _whole(prompt * inputs.cache_hit_rate)
    cache_write = min(_whole(prompt * inputs.cache_write_share), prompt - cache_read)
    output = _whole(requests * inputs.output_tokens)
    return requests, Usage(
        input_tokens=prompt - cache_read - cache_write,
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        output_tokens=output,
        reasoning_tokens=_whole(output * inputs.reasoning_share),
    )


def run_scenario(
    inputs: ScenarioInputs, at: datetime | str | None = None, catalog: Catalog | None = None
) -> ScenarioResult:
    """Cost per route and month; the route with the lowest total over the horizon is marked cheapest."""
    usages = [month_usage(inputs, k) for k in range(inputs.months)]
    costs = []
    for route in inputs.routes:
        entry = resolve_route(route, catalog)
        rates = aggregate_rates(entry, _whole(inputs.input_tokens), at)
        months = []
        for k, (requests, usage) in enumerate(usages):
            i, cr, cw, cw1h, o = bucket_costs(usage, rates)
            months.append(MonthCost(k + 1, requests, usage, i, cr, cw + cw1h, o))
        costs.append(RouteCost(entry.route, rates, tuple(months)))
    best = min(range(len(costs)), key=lambda j: costs[j].total_usd)
    costs[best] = replace(costs[best], cheapest=True)
    return ScenarioResult(inputs, tuple(costs))


# ------------------------------------------------------------------------------ sensitivity

SENSITIVE_INPUTS = (
    "requests_per_day",
    "growth_pct",
    "input_tokens",
    "output_tokens",
    "cache_hit_rate",
    "cache_write_share",
    "reasoning_share",
)
_SHARES = {"cache_hit_rate": "cache_write_share", "cache_write_share": "cache_hit_rate"}


@dataclass(frozen=True)
class SensitivityRow:
    """One bar of a tornado chart: the mean monthly cost with one input moved down and up."""

    input: str
    low_value: Decimal
    high_value: Decimal
    low_usd: Decimal
    base_usd: Decimal
    high_usd: Decimal

    @property
    def swing_usd(self) -> Decimal:
        return abs(self.high_usd - self.low_usd)


def _moved(inputs: ScenarioInputs, name: str, factor: Decimal) -> tuple[Decimal, ScenarioInputs]:
    value = getattr(inputs, name) * factor
    if name in _SHARES:
        value = min(value, ONE - getattr(inputs, _SHARES[name]))
    elif name == "reasoning_share":
        value = min(value, ONE)
    return value, replace(inputs, **{name: value})


def sensitivity(
    inputs: ScenarioInputs,
    route: str | None = None,
    delta: Decimal = Decimal("0.2"),
    at: datetime | str | None = None,
    catalog: Catalog | None = None,
) -> list[SensitivityRow]:
    """Mean monthly cost (horizon total / months) on one route (default the first) with each
    input moved by -delta and +delta of its own value, largest swing first.

    Shares are capped so they stay valid: at most 1, and cache hit + write at most 1.
    """
    base_inputs = replace(inputs, routes=(route or inputs.routes[0],))

    def monthly(x: ScenarioInputs) -> Decimal:
        return run_scenario(x, at, catalog).routes[0].total_usd / x.months

    base = monthly(base_inputs)
    rows = []
    for name in SENSITIVE_INPUTS:
        lo_value, lo = _moved(base_inputs, name, ONE - delta)
        hi_value, hi = _moved(base_inputs, name, ONE + delta)
        rows.append(SensitivityRow(name, lo_value, hi_value, monthly(lo), base, monthly(hi)))
    return sorted(rows, key=lambda r: r.swing_usd, reverse=True)


# ------------------------------------------------------------------------------ Monte Carlo

BUCKETS = ("input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens")


@dataclass(frozen=True)
class MonteCarloMonth:
    month: int  # 1-based
    simulations: int
    p10_usd: Decimal
    p50_usd: Decimal
    p90_usd: Decimal


def _column(samples: Mapping[str, Any] | pd.DataFrame, name: str, n: int | None) -> np.ndarray:
    if name not in samples:
        if name in ("reasoning_tokens", "cache_write_tokens"):
            return np.zeros(n or 0, dtype=np.int64)
        raise DashboardError(f"token samples need a {name!r} column (one value per request)")
    arr = np.asarray(samples[name])
    if arr.ndim != 1 or (n is not None and len(arr) != n):
        raise DashboardError(f"token sample column {name!r} must be one value per request, like the others")
    if not np.issubdtype(arr.dtype, np.integer):
        raise DashboardError(f"token sample column {name!r} must hold whole token counts, got {arr.dtype}")
    if (arr < 0).any():
        raise DashboardError(f"token sample column {name!r} has negative token counts")
    return arr.astype(np.int64)


def monte_carlo(
    samples: Mapping[str, Any] | pd.DataFrame,
    daily_requests: Sequence[int] | np.ndarray,
    route: str,
    months: int = 1,
    growth_pct: Any = 0,
    simulations: int = 1000,
    seed: int = 0,
    at: datetime | str | None = None,
    catalog: Catalog | None = None,
) -> list[MonteCarloMonth]:
    """P10/P50/P90 of monthly cost by bootstrapping history.

    `samples` holds one row per past request in disjoint buckets (`input_tokens`,
    `cache_read_tokens`, `output_tokens`; optional `cache_write_tokens`,
    `reasoning_tokens`); `daily_requests` the past daily request counts. One simulated
    month draws 30 daily counts (with replacement), scales them by the growth of month k
    and rounds them to whole requests, then draws that many requests (with replacement,
    as a multinomial count per sample) and sums their integer tokens. Each simulated
    month is then priced exactly with `bucket_costs`, per request-size tier, and the
    quantiles are nearest-rank picks of those exact Decimal costs (P10 is the
    ceil(0.1 * simulations)-th smallest), so every quantile is a cost one simulation had.
    """
    first = next((k for k in BUCKETS if k in samples), None)
    n = len(np.asarray(samples[first])) if first else None
    cols = {name: _column(samples, name, n) for name in BUCKETS}
    if not n:
        raise DashboardError("no request samples to bootstrap from; the history has no requests")
    if (cols["reasoning_tokens"] > cols["output_tokens"]).any():
        raise DashboardError(
            "reasoning_tokens exceed output_tokens in some samples; reasoning is part of output"
        )
    days = np.asarray(daily_requests)
    if days.ndim != 1 or len(days) == 0 or (days < 0).any():
        raise DashboardError("daily request counts must be a non-empty list of counts >= 0")
    if simulations < 10:
        raise DashboardError(f"use at least 10 simulations, got {simulations}")
    growth = 1 + float(_dec(growth_pct, "growth_pct")) / 100
    entry = resolve_route(route, catalog)
    prompt = metrics.prompt_tokens(cols["input_tokens"], cols["cache_read_tokens"], cols["cache_write_tokens"])
    # Requests of different sizes can fall in different context tiers: price each group alone.
    groups: dict[Rates, tuple[Rates, np.ndarray]] = {}
    for size in np.unique(prompt):
        rates = aggregate_rates(entry, int(size), at)
        members = groups.setdefault(rates, (rates, np.zeros(n, dtype=bool)))[1]
        members |= prompt == size
    tokens = np.stack([cols[b] for b in BUCKETS], axis=1)  # (n, 5)
    rng = np.random.default_rng(seed)
    uniform = np.full(n, 1 / n)
    out = []
    for k in range(months):
        costs = []
        for _ in range(simulations):
            daily = rng.choice(days, size=DAYS_PER_MONTH, replace=True) * growth**k
            drawn = rng.multinomial(int(np.rint(daily).sum()), uniform)
            total = Decimal(0)
            for rates, members in groups.values():
                i, cr, cw, o, r = (int(t) for t in drawn[members] @ tokens[members])
                usage = Usage(
                    input_tokens=i,
                    cache_read_tokens=cr,
                    cache_write_tokens=cw,
                    output_tokens=o,
                    reasoning_tokens=r,
                )
                total += sum(bucket_costs(usage, rates))
            costs.append(total)
        costs.sort()

        def pick(q: float, costs: list[Decimal] = costs) -> Decimal:
            return costs[max(math.ceil(q * simulations), 1) - 1]

        out.append(MonteCarloMonth(k + 1, simulations, pick(0.1), pick(0.5), pick(0.9)))
    return out


# ------------------------------------------------------------------------------ from history

HISTORY_COLUMNS = (
    "day",
    "requests",
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "output_tokens",
)
MIN_GROWTH_FIT_DAYS = 28


def inputs_from_history(
    history: Mapping[str, Any] | pd.DataFrame,
    routes: Sequence[str],
    months: int = 12,
    window_days: int = 30,
) -> ScenarioInputs:
    """Scenario inputs from a daily history ("use my traffic").

    `history` has one row per day: `day`, `requests` and the disjoint token sums
    `input_tokens`, `cache_read_tokens`, `cache_write_tokens`, `output_tokens` (optional
    `reasoning_tokens`); days absent from it count as days without traffic.
    - requests per day: the mean over the last `window_days` calendar days (0.01 precision);
    - token means and shares: token-weighted over that window, e.g. cache hit rate =
      cache_read / (input + cache_read + cache_write); means to 0.01 token, shares to 0.0001;
    - growth: a least-squares line through log(daily requests) over the whole history (days
      with traffic), as percent per 30 days to 0.1%; 0 with fewer than 28 days of history.
    """
    frame = pd.DataFrame(dict(history) if not isinstance(history, pd.DataFrame) else history)
    missing = [c for c in HISTORY_COLUMNS if c not in frame.columns]
    if missing:
        raise DashboardError(
            f"traffic history is missing {', '.join(missing)}; expected daily rows with "
            f"{', '.join(HISTORY_COLUMNS)}"
        )
    if frame.empty:
        raise DashboardError("traffic history is empty; import some requests first")
    if "reasoning_tokens" not in frame.columns:
        frame["reasoning_tokens"] = 0
    frame["day"] = pd.to_datetime(frame["day"])
    sums = ["requests", *BUCKETS]
    daily = frame.groupby("day")[sums].sum().apply(lambda c: c.map(int))
    full = pd.date_range(daily.index.min(), daily.index.max(), freq="D")
    daily = daily.reindex(full, fill_value=0)
    recent = daily.iloc[-window_days:]
    t = {c: int(recent[c].sum()) for c in sums}
    prompt = metrics.prompt_tokens(t["input_tokens"], t["cache_read_tokens"], t["cache_write_tokens"])

    def ratio(a: int, b: int, places: str) -> Decimal:
        return (Decimal(a) / Decimal(b)).quantize(Decimal(places)) if b else Decimal(0)

    hit = (metrics.cache_hit_rate(t["cache_read_tokens"], prompt) or Decimal(0)).quantize(Decimal("0.0001"))
    growth = Decimal(0)
    active = daily[daily["requests"] > 0]
    if len(daily) >= MIN_GROWTH_FIT_DAYS and len(active) >= 2:
        x = (active.index - active.index[0]).days.to_numpy(dtype=float)
        slope = np.polyfit(x, np.log(active["requests"].to_numpy(dtype=float)), 1)[0]
        growth = Decimal(str(round(math.expm1(slope * DAYS_PER_MONTH) * 100, 1)))
    return ScenarioInputs(
        routes=tuple(routes),
        requests_per_day=ratio(t["requests"], len(recent), "0.01"),
        input_tokens=ratio(prompt, t["requests"], "0.01"),
        output_tokens=ratio(t["output_tokens"], t["requests"], "0.01"),
        growth_pct=max(growth, Decimal("-99.9")),
        months=months,
        cache_hit_rate=hit,
        # Two shares rounded apart may add up to 1.0001; the write share gives way.
        cache_write_share=min(ratio(t["cache_write_tokens"], prompt, "0.0001"), ONE - hit),
        reasoning_share=ratio(t["reasoning_tokens"], t["output_tokens"], "0.0001"),
    )
