"""Route names ("provider/model") to catalog entries, and rates for aggregate usage."""

from __future__ import annotations

from datetime import datetime

from dashboard.errors import DashboardError
from pricing import Catalog, ModelPrice, Rates, default_catalog, to_utc, week_rates

__all__ = ["aggregate_rates", "resolve_route"]


def resolve_route(route: str, catalog: Catalog | None = None) -> ModelPrice:
    """`ourtoken/deepseek-v4-flash` -> its catalog entry. The model part may itself hold a `/`."""
    provider, sep, model = route.strip().partition("/")
    if not sep or not provider or not model:
        raise DashboardError(
            f"route {route!r} is not of the form PROVIDER/MODEL, e.g. ourtoken/deepseek-v4-flash"
        )
    return (catalog or default_catalog()).resolve(model, provider)


def aggregate_rates(
    entry: ModelPrice, prompt_tokens_per_request: int, at: datetime | str | None = None
) -> Rates:
    """The rates that apply to a month of requests of a typical prompt size, in the period in
    force at `at` (default now).

    Context tiers depend on the size of one request, so a tier is chosen from the
    per-request prompt size, never from an aggregate's total. Time-of-day windows (a peak
    price) are weighted by the hours of the week they cover: a month's traffic is taken as
    spread evenly over the week (see pricing.week_rates).
    """
    return week_rates(entry.period_at(to_utc(at)), prompt_tokens_per_request)
