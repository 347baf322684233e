"""Exact cost math: Decimal from the catalog to the result, no rounding anywhere."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any

from pricing.catalog import Catalog, ModelPrice, Period, Rates
from pricing.usage import Usage

__all__ = [
    "HOURS_OF_WEEK", "CostBreakdown", "PriceBand", "SpanCost", "bucket_costs", "money_str", "price_bands", "price_span",
    "price_usage", "span_slices", "to_utc", "week_rates",
]

PER_TOKEN = Decimal("0.000001")  # rates are per 1M tokens
# Open ends of the first and the current period, as a database needs real bounds.
FAR_PAST = datetime(1900, 1, 1, tzinfo=UTC)
FAR_FUTURE = datetime(9999, 12, 31, tzinfo=UTC)
MAX_PROMPT_TOKENS = 2**62


def money_str(value: Decimal, *, trailing_zeros: bool = True) -> str:
    """A Decimal as a plain decimal string (never exponent notation), every digit kept.

    Without `trailing_zeros`, the zeros after the last non-zero decimal go, and a point left
    bare: 0.000784000000 -> '0.000784', 1E+2 -> '100'. They go by text, not by `normalize()`,
    which rounds to the context's 28 digits (a DECIMAL(38, 12) holds 38).
    """
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if not trailing_zeros and "." in text else text


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


HOURS_OF_WEEK = 7 * 24  # a band's `slots`: weekday x 24 + UTC hour, 0 = Monday 00:00 UTC


@dataclass(frozen=True)
class PriceBand:
    """A model's rates for one period and prompt-size band, at the UTC hours of the week they apply to.

    A database spreads each band over its `slots` (one joinable row per UTC weekday and hour,
    see pricing.sql). The rows of one model never overlap, so a request matches exactly one
    when `valid_from <= ts < valid_to`, its UTC weekday and hour match, and
    `min_prompt_tokens <= prompt tokens <= max_prompt_tokens`.
    """

    provider: str
    model: str
    valid_from: datetime
    valid_to: datetime
    slots: tuple[int, ...]  # weekday x 24 + hour, UTC; 0 = Monday 00:00
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


def _slots_by_window(period: Period) -> dict[int | None, list[int]]:
    """The hours of the week under each of the period's windows (by index), and under none (None)."""
    if not period.windows:  # most periods: a tenth of a millisecond instead of a third, 54 times a start-up
        return {None: list(range(HOURS_OF_WEEK))}
    slots: dict[int | None, list[int]] = {}
    for slot in range(HOURS_OF_WEEK):
        weekday, hour = divmod(slot, 24)
        window = next((i for i, w in enumerate(period.windows)
                       if weekday in w.weekdays and any(a <= hour < b for a, b in w.hours)), None)
        slots.setdefault(window, []).append(slot)
    return slots


def price_bands(catalog: Catalog) -> list[PriceBand]:
    """Flatten the catalog to bands: a window's rates hold for any prompt size, the base and tier
    rates outside every window, each for its range of prompt tokens per request."""
    bands = []
    for m in catalog.models:
        for p in m.periods:
            for index, slots in _slots_by_window(p).items():
                window = None if index is None else p.windows[index]
                ranges = [(0, MAX_PROMPT_TOKENS, window.rates)] if window else _bands(p)
                bands.extend(
                    PriceBand(
                        provider=m.provider,
                        model=m.id,
                        valid_from=p.effective_from or FAR_PAST,
                        valid_to=p.effective_to or FAR_FUTURE,
                        slots=tuple(slots),
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
                    for lo, hi, r in ranges
                )
    return bands


# A row that covers a span of time (a day's requests of one model and key) is priced at rates
# weighted by time: the span is cut at every UTC hour (where a time-of-day window can start
# or end) and at every period start or end inside it, and each bucket's rate is the mean of
# its slices' rates weighted by their microseconds over the span's priced ones. The weights
# are exact; the weighted rate is rounded once, half up, to 12 decimals per token (6 per 1M
# tokens, the precision of every catalog rate), so tokens x rate = cost exactly, as for any
# other row, and as the SQL in pricing.sql does. Rates per token x 10^12 are whole numbers,
# so the sums are exact integers until that one division.
HOUR_US = 3_600_000_000


@dataclass(frozen=True)
class SpanCost:
    """The cost of a row covering a span, at rates weighted by the share of the span under each.

    `approximate` is true when the prices met inside the span give the row different costs;
    `low_usd` / `high_usd` are the row's cost at the cheapest / dearest of them. A span with
    one price throughout is exact: low = high = total.
    """

    currency: str
    rates: Rates  # the weighted rates, per 1M tokens
    input_usd: Decimal
    cache_read_usd: Decimal
    cache_write_usd: Decimal
    cache_write_1h_usd: Decimal
    output_usd: Decimal
    low_usd: Decimal
    high_usd: Decimal

    @property
    def total_usd(self) -> Decimal:
        return self.input_usd + self.cache_read_usd + self.cache_write_usd + self.cache_write_1h_usd + self.output_usd

    @property
    def approximate(self) -> bool:
        return self.low_usd != self.high_usd


def _epoch_us(at: datetime) -> int:
    delta = at - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _from_epoch_us(us: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)


def _scaled(rate_per_mtok: Decimal) -> int:
    """A rate per 1M tokens as a whole number of 10^-12 per token."""
    scaled = rate_per_mtok * 1_000_000
    if scaled != scaled.to_integral_value():
        raise ValueError(f"rate {rate_per_mtok} per 1M tokens has more than 6 decimals")
    return int(scaled)


def _weighted_rates(parts: list[tuple[int, Rates]]) -> Rates:
    """The mean of the rates of `parts`, each weighted by its whole-number weight (a time), to
    the catalog's precision (see the note above), half up."""
    sums = [0] * 6
    for weight, rates in parts:
        for i, r in enumerate((rates.input, rates.cache_read, rates.cache_write, rates.cache_write_1h_effective,
                               rates.output, rates.reasoning_effective)):
            sums[i] += weight * _scaled(r)
    covered = sum(weight for weight, _ in parts)
    i, cr, cw, cw1h, o, rs = (Decimal((2 * total + covered) // (2 * covered)).scaleb(-6) for total in sums)
    return Rates(input=i, output=o, cache_read=cr, cache_write=cw, cache_write_1h=cw1h, reasoning=rs)


def week_rates(period: Period, prompt_tokens_per_request: int) -> Rates:
    """The rates of `period` for requests of this prompt size spread evenly over the hours of a
    week: each time-of-day window's rates weighted by the hours of the week it covers, the tier
    (chosen from the prompt size per request) or base rates by the rest. A period without
    windows gives its tier or base rates as they are."""
    rates, _ = period.tier_rates(prompt_tokens_per_request)
    if not period.windows:
        return rates
    return _weighted_rates([(len(slots), rates if index is None else period.windows[index].rates)
                            for index, slots in _slots_by_window(period).items()])


def span_slices(entry: ModelPrice, start_us: int, end_us: int) -> list[tuple[int, int, Period]]:
    """The priced slices [from, to) of a span, in epoch microseconds, each with its period:
    cut at UTC hours and at period bounds; parts with no period in force are left out."""
    cuts = {start_us, end_us}
    hour = start_us - start_us % HOUR_US + HOUR_US
    while hour < end_us:
        cuts.add(hour)
        hour += HOUR_US
    for p in entry.periods:
        for bound in (p.effective_from, p.effective_to):
            if bound is not None and start_us < _epoch_us(bound) < end_us:
                cuts.add(_epoch_us(bound))
    slices = []
    for a, b in pairwise(sorted(cuts)):
        at = _from_epoch_us(a)
        period = next((p for p in entry.periods if p.covers(at)), None)
        if period is not None:
            slices.append((a, b, period))
    return slices


def price_span(entry: ModelPrice, usage: Usage, start: datetime | str, span_s: int) -> SpanCost:
    """Cost of a row whose requests fell anywhere in [start, start + span_s seconds).

    Each bucket's rate is the mean of the rates in force over the span's priced part,
    weighted by time (see the note above). Raises UnknownModelError when no part of the
    span has a price, as `price_usage` does for a moment before a model's first price.
    """
    if span_s <= 0:
        raise ValueError(f"a span lasts at least a second, got {span_s} s")
    moment = to_utc(start)
    start_us = _epoch_us(moment)
    slices = span_slices(entry, start_us, start_us + span_s * 1_000_000)
    if not slices:
        entry.period_at(moment)  # raises the "no price for model ... at" error
    parts = [(b - a, period.select(_from_epoch_us(a), usage.prompt_tokens, usage.request_count)[0])
             for a, b, period in slices]
    costs = [sum(bucket_costs(usage, rates), Decimal(0)) for _, rates in parts]
    weighted = _weighted_rates(parts)
    input_usd, cache_read_usd, cache_write_usd, cache_write_1h_usd, output_usd = bucket_costs(usage, weighted)
    return SpanCost(
        currency=slices[0][2].currency,
        rates=weighted,
        input_usd=input_usd,
        cache_read_usd=cache_read_usd,
        cache_write_usd=cache_write_usd,
        cache_write_1h_usd=cache_write_1h_usd,
        output_usd=output_usd,
        low_usd=min(costs),
        high_usd=max(costs),
    )
