"""Exact cost math: Decimal from the catalog to the result, no rounding anywhere."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pricing.catalog import Catalog, ModelPrice, Period, Rates
from pricing.usage import Usage

__all__ = ["CostBreakdown", "PriceRow", "bucket_costs", "money_str", "price_rows", "price_usage", "to_utc"]

PER_TOKEN = Decimal("0.000001")  # rates are per 1M tokens
# Open ends of the first and the current period, as a database needs real bounds.
FAR_PAST = datetime(1900, 1, 1, tzinfo=UTC)
FAR_FUTURE = datetime(9999, 12, 31, tzinfo=UTC)
MAX_PROMPT_TOKENS = 2**62


def money_str(value: Decimal) -> str:
    """A Decimal as a plain decimal string (never exponent notation), every digit kept."""
    return format(value, "f")


def to_utc(at: datetime | str | None) -> datetime:
    """A moment in UTC: naive datetimes and ISO strings without an offset are taken as UTC."""
    if at is None:
        return datetime.now(UTC)
    if isinstance(at, str):
        at = datetime.fromisoformat(at.replace("Z", "+00:00"))
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


@dataclass(frozen=True)
class CostBreakdown:
    provider: str
    model: str
    at: datetime
    currency: str
    usage: Usage
    rates: Rates
    period: Period
    window: str | None
    tier: int | None
    input_usd: Decimal
    cache_read_usd: Decimal
    cache_write_usd: Decimal
    cache_write_1h_usd: Decimal
    output_usd: Decimal

    @property
    def total_usd(self) -> Decimal:
        return (
            self.input_usd
            + self.cache_read_usd
            + self.cache_write_usd
            + self.cache_write_1h_usd
            + self.output_usd
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: money as decimal strings, exact."""
        return {
            "provider": self.provider,
            "model": self.model,
            "at": self.at.isoformat(),
            "currency": self.currency,
            "input_tokens": self.usage.input_tokens,
            "cache_read_tokens": self.usage.cache_read_tokens,
            "cache_write_tokens": self.usage.cache_write_tokens,
            "cache_write_1h_tokens": self.usage.cache_write_1h_tokens,
            "output_tokens": self.usage.output_tokens,
            "reasoning_tokens": self.usage.reasoning_tokens,
            "input_usd": money_str(self.input_usd),
            "cache_read_usd": money_str(self.cache_read_usd),
            "cache_write_usd": money_str(self.cache_write_usd),
            "cache_write_1h_usd": money_str(self.cache_write_1h_usd),
            "output_usd": money_str(self.output_usd),
            "total_usd": money_str(self.total_usd),
            "billed_usd": None if self.usage.billed_cost is None else money_str(self.usage.billed_cost),
            "rates": self.rates.as_dict(),
            "period": self.period.as_dict(),
            "window": self.window,
            "tier_above_prompt_tokens": self.tier,
        }


def bucket_costs(usage: Usage, rates: Rates) -> tuple[Decimal, Decimal, Decimal, Decimal, Decimal]:
    """(input, cache_read, cache_write, cache_write_1h, output) cost for disjoint buckets."""
    plain_output = usage.output_tokens - usage.reasoning_tokens
    return (
        usage.input_tokens * rates.input * PER_TOKEN,
        usage.cache_read_tokens * rates.cache_read * PER_TOKEN,
        usage.cache_write_tokens * rates.cache_write * PER_TOKEN,
        usage.cache_write_1h_tokens * rates.cache_write_1h_effective * PER_TOKEN,
        plain_output * rates.output * PER_TOKEN + usage.reasoning_tokens * rates.reasoning_effective * PER_TOKEN,
    )


def price_usage(entry: ModelPrice, usage: Usage, at: datetime | str | None = None) -> CostBreakdown:
    moment = to_utc(at)
    period = entry.period_at(moment)
    rates, window, tier = period.select(moment, usage.prompt_tokens, usage.request_count)
    i, cr, cw, cw1h, o = bucket_costs(usage, rates)
    return CostBreakdown(
        provider=entry.provider,
        model=entry.id,
        at=moment,
        currency=period.currency,
        usage=usage,
        rates=rates,
        period=period,
        window=window,
        tier=tier,
        input_usd=i,
        cache_read_usd=cr,
        cache_write_usd=cw,
        cache_write_1h_usd=cw1h,
        output_usd=o,
    )


@dataclass(frozen=True)
class PriceRow:
    """One joinable price: a model's rates for one period, weekday, UTC hour and prompt-size band.

    The rows of one model never overlap, so a request matches exactly one row when
    `valid_from <= ts < valid_to`, its UTC weekday and hour match, and
    `min_prompt_tokens <= prompt tokens <= max_prompt_tokens`.
    """

    provider: str
    model: str
    valid_from: datetime
    valid_to: datetime
    weekday: int  # 0 = Monday, UTC
    hour: int  # UTC
    min_prompt_tokens: int
    max_prompt_tokens: int
    currency: str
    price_window: str | None
    input_per_token: Decimal
    cache_read_per_token: Decimal
    cache_write_per_token: Decimal
    cache_write_1h_per_token: Decimal
    output_per_token: Decimal
    reasoning_per_token: Decimal


def _bands(period: Period) -> list[tuple[int, int, Rates]]:
    bounds = [0] + [t.above_prompt_tokens + 1 for t in period.tiers]
    rates = [period.rates] + [t.rates for t in period.tiers]
    ends = [b - 1 for b in bounds[1:]] + [MAX_PROMPT_TOKENS]
    return list(zip(bounds, ends, rates, strict=True))


def price_rows(catalog: Catalog) -> list[PriceRow]:
    """Flatten the catalog to rows a database can join on (per weekday x hour, so no row overlaps)."""
    rows = []
    for m in catalog.models:
        for p in m.periods:
            start = p.effective_from or FAR_PAST
            end = p.effective_to or FAR_FUTURE
            for weekday in range(7):
                for hour in range(24):
                    window = next(
                        (w for w in p.windows if weekday in w.weekdays and any(a <= hour < b for a, b in w.hours)),
                        None,
                    )
                    bands = [(0, MAX_PROMPT_TOKENS, window.rates)] if window else _bands(p)
                    for lo, hi, r in bands:
                        rows.append(
                            PriceRow(
                                provider=m.provider,
                                model=m.id,
                                valid_from=start,
                                valid_to=end,
                                weekday=weekday,
                                hour=hour,
                                min_prompt_tokens=lo,
                                max_prompt_tokens=hi,
                                currency=p.currency,
                                price_window=window.name if window else None,
                                input_per_token=r.input * PER_TOKEN,
                                cache_read_per_token=r.cache_read * PER_TOKEN,
                                cache_write_per_token=r.cache_write * PER_TOKEN,
                                cache_write_1h_per_token=r.cache_write_1h_effective * PER_TOKEN,
                                output_per_token=r.output * PER_TOKEN,
                                reasoning_per_token=r.reasoning_effective * PER_TOKEN,
                            )
                        )
    return rows
