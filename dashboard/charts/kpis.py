"""The Overview's KPI cards: value and change against the previous equal period, as display text."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from dashboard import metrics
from dashboard.charts import format as fmt
from dashboard.warehouse.explore import Totals, change


@dataclass(frozen=True)
class Card:
    label: str
    value: str
    delta: str | None
    delta_color: str  # st.metric: "inverse" when up is bad (spend), "normal" when up is good
    help: str


# A previous period below 1% of the current one holds almost no data: a percent change
# against it (+26,737,876%) says nothing, so the card says "new" instead.
NEW_BELOW_SHARE = Decimal("0.01")


def delta_text(current: float | Decimal | None, previous: float | Decimal | None) -> str | None:
    """st.metric's delta against the previous period: '+12.5%', 'new' where the previous period holds
    almost nothing (NEW_BELOW_SHARE), None where there is nothing to compare."""
    if current is None or previous is None:
        return None
    if current > 0 and Decimal(str(previous)) < Decimal(str(current)) * NEW_BELOW_SHARE:
        return "new"
    return fmt.delta(change(current, previous))


def overview_cards(cur: Totals, prev: Totals | None) -> list[Card]:
    def d(a, b) -> str | None:  # type: ignore[no-untyped-def]
        return delta_text(a, b) if prev is not None else None

    p = prev
    return [
        Card("Spend", fmt.usd(cur.cost_usd), d(cur.cost_usd, p and p.cost_usd), "inverse",
             "Computed from the price catalog for every priced request in the range."),
        Card("Requests", fmt.count(cur.requests), d(cur.requests, p and p.requests), "off",
             "Requests in the range (aggregated rows count as their request count)."),
        Card("Tokens", fmt.tokens(cur.tokens), d(cur.tokens, p and p.tokens), "off",
             "Input + cache read + cache write + output tokens."),
        Card("Cache hit rate", fmt.pct(cur.cache_hit_rate), d(cur.cache_hit_rate, p and p.cache_hit_rate),
             "normal", metrics.CACHE_HIT_RATE_HELP),
        Card("Saved by caching", fmt.usd(cur.cache_saved_usd), d(cur.cache_saved_usd, p and p.cache_saved_usd),
             "normal", metrics.CACHE_SAVINGS_HELP),
        Card("Cost per 1,000 requests", fmt.usd(cur.cost_per_1k_requests_usd),
             d(cur.cost_per_1k_requests_usd, p and p.cost_per_1k_requests_usd), "inverse",
             metrics.COST_PER_1K_REQUESTS_HELP),
        Card("Unpriced requests", fmt.count(cur.unpriced_requests), None, "off",
             "Requests whose model has no price in the catalog: their volume is counted, their cost is not."),
    ]
