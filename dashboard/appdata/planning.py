"""The Forecast page's loaders: the traffic and spend history, the trend forecast, Monte Carlo on
sampled requests, repricing under another price list, and the prompt-cache simulation.

The forecast rooms are imported inside the loaders: statsmodels and the simulations would slow
the start of every other page.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from dashboard.appdata.store import loader, local_prices_path, saved_upload
from dashboard.errors import DashboardError
from dashboard.warehouse import Warehouse
from dashboard.warehouse import queries as q
from dashboard.warehouse import reprice as rp
from dashboard.warehouse.queries import Filters
from pricing import Catalog, load_catalog, local_overlays

traffic_history = loader(rp.traffic_history)  # requests and token buckets per day ("use my traffic")
daily_spend = loader(q.daily_spend)  # computed spend per day in the filter's zone, days without traffic as 0


@loader
def _spend_forecast(wh: Warehouse, filters: Filters, horizon_days: int, today: date) -> Any:
    from dashboard.forecasts.trend import forecast_spend

    def series(frame: pd.DataFrame) -> pd.Series:
        return pd.Series(list(frame["cost_usd"]), index=pd.to_datetime(frame["day"]), dtype=object)

    return forecast_spend(series(q.daily_spend(wh, filters)), horizon_days=horizon_days, today=today,
                          month_to_date=series(q.month_to_date_spend(wh, filters, today)))


def spend_forecast(filters: Filters, horizon_days: int) -> Any:
    """`forecasts.trend.SpendForecast` of the filtered daily spend, projecting this calendar month in the
    filter's zone with its spend so far read from the data; DashboardError under 7 days. Today's date
    in that zone is part of the key: a forecast is not kept past midnight."""
    today = datetime.now(q.zone(filters.tz)).date()
    return _spend_forecast(filters, int(horizon_days), today)


@loader
def monte_carlo(wh: Warehouse, filters: Filters, route: str, months: int, growth_pct: Any, simulations: int,
                seed: int, limit: int = 20_000) -> Any:
    """P10/P50/P90 per month on `route`, bootstrapping at most `limit` sampled requests and the daily counts."""
    from dashboard.forecasts.scenario import monte_carlo as bootstrap

    samples = rp.request_samples(wh, filters, int(limit), int(seed))
    daily = rp.traffic_history(wh, filters)
    days = daily["requests"].to_numpy() if not daily.empty else []
    return bootstrap(samples, days, route, int(months), str(growth_pct), int(simulations), int(seed),
                     catalog=wh.catalog)


def _with_price_list(path: Path) -> Catalog:
    """The catalog in use (shipped files, local overrides) overlaid with the price list at `path`.

    A bad local entry is left out, as everywhere; the price list given here must be right whole.
    """
    catalog = load_catalog(overlays=[*local_overlays(local_prices_path()), path], skip_bad=True)
    own = [p for p in catalog.problems if p.file == str(path)]
    if own:
        raise DashboardError(f"price list {str(own[0]).replace(str(path), path.name)}")
    return catalog


@loader
def reprice(wh: Warehouse, filters: Filters, route: str | None = None, price_file: str | None = None,
            upload: tuple[str, bytes] | None = None, cache_hit_rate: Any = None) -> Any:
    """`warehouse.reprice.RepriceResult` of the filtered history; a price list as a path or (name, bytes)."""
    catalog, name = None, None
    if upload is not None:
        name = upload[0]
        with saved_upload(io.BytesIO(upload[1]), upload[0]) as path:
            catalog = _with_price_list(path)
    elif price_file:
        path = Path(price_file).expanduser()
        if not path.is_file():
            raise DashboardError(f"no price list at {price_file!r}; give the path of a catalog TOML file")
        catalog, name = _with_price_list(path), path.name
    return rp.reprice(wh, filters, route=route, catalog=catalog, price_list=name,
                      cache_hit_rate=None if cache_hit_rate is None else Decimal(str(cache_hit_rate)))


def _trace_key(trace: str | tuple[str, bytes]) -> tuple[str, Any]:
    if isinstance(trace, tuple):
        return trace
    path = Path(trace).expanduser()
    try:
        return str(path.resolve()), path.stat().st_mtime_ns  # a changed file is simulated again
    except OSError as e:
        raise DashboardError(f"cannot read trace {trace!r}: {e.strerror}; check the path") from e


@loader
def _simulate(wh: Warehouse, trace: tuple[str, Any], capacities: tuple[int | None, ...], ttl_seconds: float | None,
              route: str) -> list[Any]:
    from dashboard.forecasts.cache_sim import simulate_cache

    if isinstance(trace[1], bytes):
        with saved_upload(io.BytesIO(trace[1]), trace[0]) as path:
            return [simulate_cache(path, c, ttl_seconds, route, catalog=wh.catalog) for c in capacities]
    return [simulate_cache(trace[0], c, ttl_seconds, route, catalog=wh.catalog) for c in capacities]


def simulate_cache(trace: str | tuple[str, bytes], capacities: tuple[int | None, ...], ttl_seconds: float | None,
                   route: str) -> list[Any]:
    """One `forecasts.cache_sim.CacheSimulation` per capacity (None = unbounded) of a trace path or (name, bytes).
    A path's key holds its modification time: a changed file is simulated again."""
    return _simulate(_trace_key(trace), tuple(capacities), ttl_seconds, route)
