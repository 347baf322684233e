"""The pricing engine: price catalog, usage normalisation and exact cost math.

Standard library only; no database, no UI. Money is Decimal end to end.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path

from pricing.catalog import CATALOG_DIR, Catalog, ModelPrice, Period, Rates, Route, Tier, Window, load_catalog
from pricing.cost import (
    CostBreakdown,
    PriceBand,
    SpanCost,
    bucket_costs,
    money_str,
    price_bands,
    price_span,
    price_usage,
    to_utc,
    week_rates,
)
from pricing.errors import CatalogError, PricingError, UnknownModelError, UsageError
from pricing.usage import Usage, normalize_usage

__all__ = [
    "CATALOG_DIR",
    "LOCAL_DIR",
    "LOCAL_OVERLAY",
    "Catalog",
    "CatalogError",
    "CostBreakdown",
    "ModelPrice",
    "Period",
    "PriceBand",
    "PricingError",
    "Rates",
    "Route",
    "SpanCost",
    "Tier",
    "UnknownModelError",
    "Usage",
    "UsageError",
    "Window",
    "bucket_costs",
    "cost",
    "default_catalog",
    "load_catalog",
    "local_overlays",
    "money_str",
    "normalize_usage",
    "price_bands",
    "price_span",
    "price_usage",
    "to_utc",
    "week_rates",
]

LOCAL_OVERLAY = Path("data") / "prices.local.toml"
LOCAL_DIR = Path("data") / "catalog.d"


def local_overlays(local_file: Path | None = None) -> list[Path]:
    """Local catalog files, loaded after the shipped ones: every `data/catalog.d/*.toml`
    (converted imports, one file per provider) and then `data/prices.local.toml` (or
    `local_file`, the overrides saved from the Prices page)."""
    return [*sorted(LOCAL_DIR.glob("*.toml")), local_file or LOCAL_OVERLAY]


@lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    """The shipped catalog plus the local overlays that exist (paths relative to the cwd).

    A bad entry in a local file is left out and reported (see `load_catalog`'s `skip_bad`):
    one hand-edited price must not stop every command that prices.
    """
    return load_catalog(overlays=local_overlays(), skip_bad=True)


def cost(
    usage: Usage,
    model: str,
    provider: str | None = None,
    at: datetime | str | None = None,
    catalog: Catalog | None = None,
) -> CostBreakdown:
    """Exact cost of one request: a breakdown per bucket and a total, all Decimal.

    Raises UnknownModelError (listing the closest ids) when the model has no price;
    no path returns 0 for an unknown model.
    """
    cat = catalog or default_catalog()
    return price_usage(cat.resolve(model, provider), usage, at)
