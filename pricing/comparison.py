"""Prices side by side: one typical request on every route, and a model's price history.

Money is Decimal; a model without a price at the moment asked is left out, never costed at 0.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pricing.catalog import WEEKDAYS, Catalog, ModelPrice, Rates
from pricing.cost import price_usage
from pricing.errors import UnknownModelError
from pricing.usage import Usage

__all__ = ["price_history", "route_comparison"]


def route_comparison(catalog: Catalog, usage: Usage, at: datetime | str | None = None) -> list[dict[str, Any]]:
    """The cost of one typical request on every route and model, cheapest first.

    Models without a price at `at` (default: now) are left out. Each row has the bucket
    costs (Decimal), the total, the window or tier that applied, and the currency: rows
    in different currencies are not comparable, so check it before ranking them.
    """
    rows = []
    for entry in catalog.models:
        try:
            c = price_usage(entry, usage, at)
        except UnknownModelError:
            continue
        route = catalog.routes.get(entry.provider)
        rows.append({
            "provider": entry.provider,
            "route_name": route.name if route else entry.provider,
            "model": entry.id,
            "route": entry.route,
            "reseller_of": route.upstream if route else None,
            "currency": c.currency,
            "window": c.window,
            "tier_above_prompt_tokens": c.tier,
            "input_usd": c.input_usd,
            "cache_read_usd": c.cache_read_usd,
            "cache_write_usd": c.cache_write_usd,
            "cache_write_1h_usd": c.cache_write_1h_usd,
            "output_usd": c.output_usd,
            "total_usd": c.total_usd,
        })
    rows.sort(key=lambda r: (r["total_usd"], r["provider"], r["model"]))
    return rows


def _rates_row(rates: Rates) -> dict[str, Decimal]:
    """Rates as billed: a missing 1-hour write rate is the cache write rate, missing reasoning the output rate."""
    return {
        "input": rates.input, "output": rates.output, "cache_read": rates.cache_read,
        "cache_write": rates.cache_write, "cache_write_1h": rates.cache_write_1h_effective,
        "reasoning": rates.reasoning_effective,
    }


def price_history(catalog: Catalog, provider: str | None, model: str) -> list[dict[str, Any]]:
    """A model's price periods, oldest first, for a step chart.

    Each row: effective_from / effective_to (aware UTC datetimes, None for an open end),
    currency, source, checked, the base rates per 1M tokens (as billed), and `windows` and
    `tiers` with their own rates. Raises UnknownModelError for an unknown model.
    """
    entry: ModelPrice = catalog.resolve(model, provider)
    rows = []
    for p in entry.periods:
        rows.append({
            "provider": entry.provider,
            "model": entry.id,
            "effective_from": p.effective_from,
            "effective_to": p.effective_to,
            "currency": p.currency,
            "source": p.source,
            "checked": p.checked,
            **_rates_row(p.rates),
            "windows": [
                {"name": w.name, "weekdays": [WEEKDAYS[d] for d in sorted(w.weekdays)],
                 "hours_utc": [tuple(h) for h in w.hours], **_rates_row(w.rates)}
                for w in p.windows
            ],
            "tiers": [{"above_prompt_tokens": t.above_prompt_tokens, **_rates_row(t.rates)} for t in p.tiers],
        })
    return rows
