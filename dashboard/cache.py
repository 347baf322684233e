"""The cache layer: the only module that uses `st.cache_resource` / `st.cache_data`.

One Warehouse per process and database file (`cache_resource`); query results cached
with `cache_data`, keyed on the database path and the query's inputs, bounded by a ttl and
`max_entries`, and cleared with `clear_data()` after anything writes (an import, a price
edit, clearing the demo data). Loaders never read widgets: the pages pass what they read.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

import pandas as pd
import streamlit as st

from dashboard import demo, exports, ingest, prices_local
from dashboard.errors import DashboardError, ImportFailed
from dashboard.ingest import survey
from dashboard.ingest.formats import all_formats
from dashboard.ingest.formats.generic import guess_mapping
from dashboard.warehouse import Warehouse, settings, statement
from dashboard.warehouse import explore as ex
from dashboard.warehouse.queries import Filters, approximate_spend, is_empty, zone
from pricing import LOCAL_OVERLAY, Catalog, Usage, load_catalog, local_overlays
from pricing.catalog import CatalogProblem

TTL_S = 600
ENTRIES = 256


@st.cache_resource(show_spinner=False)
def _open(path: str) -> Warehouse:
    """Open (and migrate) the file once per process; a first start on an empty file shows demo data."""
    wh = Warehouse.open(path, catalog=local_catalog(), fallback_read_only=True)
    if not wh.read_only and is_empty(wh) and not ex.demo_declined(wh):
        demo.fill(wh)
    return wh


def local_prices_path() -> Path:
    """The local price overrides: `PRICES_LOCAL` when set, else data/prices.local.toml (git-ignored)."""
    return Path(os.environ.get("PRICES_LOCAL") or LOCAL_OVERLAY)


def local_catalog() -> Catalog:
    """The shipped catalog plus the local files; a bad local entry is left out and listed in `problems`."""
    return load_catalog(overlays=local_overlays(local_prices_path()), skip_bad=True)


def price_problems() -> list[CatalogProblem]:
    """The local price entries the warehouse's catalog left out, for the Prices page to show with the fix."""
    return list(catalog().problems)


def db_path() -> str:
    return str(Warehouse.default_path().resolve())


def warehouse() -> Warehouse:
    """The process's Warehouse; raises WarehouseError (with the file and the fix) when it cannot open."""
    return _open(db_path())


def clear_data() -> None:
    """Forget every cached query result: the data or the prices changed."""
    st.cache_data.clear()
    _rollup.clear()


def showing_demo() -> bool:
    return demo.has_demo(warehouse())


def clear_demo() -> int:
    wh = warehouse()
    removed = demo.clear(wh)
    ex.decline_demo(wh)
    clear_data()
    return removed


def _cached(fn):  # type: ignore[no-untyped-def]
    return st.cache_data(ttl=TTL_S, max_entries=ENTRIES, show_spinner=False)(fn)


# The rollup is shared read-only rather than copied: cache_data would pickle its Decimal
# columns on every read, which costs more than the loaders derived from it.
@st.cache_resource(ttl=TTL_S, max_entries=32, show_spinner=False)
def _rollup(db: str, filters: Filters, unit: str) -> pd.DataFrame:
    return ex.rollup(_open(db), filters, unit)


def _unit(grain: str) -> str:
    """The rollup's resolution: hourly for the hour grain, daily otherwise."""
    return "hour" if grain == "hour" else "day"


@_cached
def _at_input(db: str, filters: Filters) -> tuple:
    return ex.cache_reads_at_input(_open(db), filters)


@_cached
def _kpis(db: str, filters: Filters, unit: str) -> tuple[ex.Totals, ex.Totals | None]:
    bounded = filters.start is not None and filters.end is not None
    return ex.kpis(_rollup(db, filters, unit), _at_input(db, filters), bounded)


def kpis(filters: Filters, grain: str = "day") -> tuple[ex.Totals, ex.Totals | None]:
    """Totals of the period and of the equal period before it (None for an unbounded range)."""
    return _kpis(db_path(), filters, _unit(grain))


@_cached
def _approximate(db: str, filters: Filters) -> tuple:
    return approximate_spend(_open(db), filters)


def approximate(filters: Filters) -> tuple:
    """(approximate, computed) cost in the range: see queries.approximate_spend."""
    return _approximate(db_path(), filters)


@_cached
def _spend(db: str, filters: Filters, grain: str, by: str) -> pd.DataFrame:
    return ex.spend_over_time(_rollup(db, filters, _unit(grain)), grain, by)


def spend_over_time(filters: Filters, grain: str, by: str) -> pd.DataFrame:
    return _spend(db_path(), filters, grain, by)


@_cached
def _rate(db: str, filters: Filters, grain: str, by_model: bool) -> pd.DataFrame:
    return ex.cache_rate_over_time(_rollup(db, filters, _unit(grain)), grain, by_model)


def cache_rate_over_time(filters: Filters, grain: str, by_model: bool = False) -> pd.DataFrame:
    return _rate(db_path(), filters, grain, by_model)


@_cached
def _top(db: str, filters: Filters, dimension: str, limit: int, unit: str) -> pd.DataFrame:
    return ex.top(_rollup(db, filters, unit), dimension, limit)


def top(filters: Filters, dimension: str, limit: int = 10, grain: str = "day") -> pd.DataFrame:
    return _top(db_path(), filters, dimension, limit, _unit(grain))


@_cached
def _writes(db: str, filters: Filters, grain: str) -> pd.DataFrame:
    return ex.cache_write_over_time(_rollup(db, filters, _unit(grain)), grain)


def cache_write_over_time(filters: Filters, grain: str) -> pd.DataFrame:
    return _writes(db_path(), filters, grain)


@_cached
def _group_by(db: str, filters: Filters, dimensions: tuple[str, ...], grain: str | None) -> pd.DataFrame:
    return ex.group_by(_open(db), filters, dimensions, grain)


def group_by(filters: Filters, dimensions: tuple[str, ...], grain: str | None) -> pd.DataFrame:
    return _group_by(db_path(), filters, tuple(dimensions), grain)


@_cached
def _raw_rows(db: str, filters: Filters, page: int, page_size: int) -> pd.DataFrame:
    return ex.raw_rows(_open(db), filters, page, page_size)


def raw_rows(filters: Filters, page: int = 0, page_size: int = 100) -> pd.DataFrame:
    return _raw_rows(db_path(), filters, page, page_size)


@_cached
def _largest_uncached(db: str, filters: Filters, limit: int) -> pd.DataFrame:
    return ex.largest_uncached(_open(db), filters, limit)


def largest_uncached(filters: Filters, limit: int = 20) -> pd.DataFrame:
    return _largest_uncached(db_path(), filters, limit)


@_cached
def _distinct(db: str, name: str) -> list[str]:
    return ex.distinct_values(_open(db), name)


def distinct_values(name: str) -> list[str]:
    return _distinct(db_path(), name)


@_cached
def _span(db: str) -> tuple[datetime | None, datetime | None]:
    return ex.data_span(_open(db))


def data_span() -> tuple[datetime | None, datetime | None]:
    return _span(db_path())


@_cached
def _months(db: str, tz: str) -> list[str]:
    return ex.months_with_data(_open(db), tz)


def months_with_data(tz: str) -> list[str]:
    return _months(db_path(), tz)


@_cached
def _statement(db: str, month: str, tz: str, filters: Filters) -> statement.Statement:
    return statement.statement(_open(db), month, tz, filters)


def month_statement(month: str, tz: str, filters: Filters) -> statement.Statement:
    """The finance statement of a month in the billing zone (the filters' own dates are ignored)."""
    return _statement(db_path(), month, tz, filters)


STATEMENT_FILES = {
    # label: (file name pattern, MIME type)
    "CSV (by model)": ("statement-{month}.csv", "text/csv"),
    "Excel (.xlsx)": ("statement-{month}.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "FOCUS CSV": ("focus-{month}.csv", "text/csv"),
}


@_cached
def _statement_file(db: str, month: str, tz: str, filters: Filters, label: str) -> bytes:
    wh = _open(db)
    if label == "FOCUS CSV":
        # Written by DuckDB (a month may hold millions of requests), cell by cell as exports writes CSV.
        with tempfile.TemporaryDirectory(prefix="focus-") as folder:
            path = Path(folder) / "focus.csv"
            statement.write_focus_csv(wh, path, exports.CSV_SQL, month, tz, filters)
            return path.read_bytes()
    report = statement.statement(wh, month, tz, filters)
    if label == "Excel (.xlsx)":
        return exports.to_xlsx(exports.statement_sheets(report))
    return exports.statement_csv(report)


def statement_file(month: str, tz: str, filters: Filters, label: str) -> bytes:
    """One statement export (a label of STATEMENT_FILES) as bytes; money exact."""
    return _statement_file(db_path(), month, tz, filters, label)


def statement_downloads(month: str, tz: str, filters: Filters) -> dict[str, tuple[str, Any, str]]:
    """label -> (file name, a callable building the bytes, MIME type): built only when clicked."""
    db = db_path()
    return {
        label: (name.format(month=month), functools.partial(_statement_file, db, month, tz, filters, label), mime)
        for label, (name, mime) in STATEMENT_FILES.items()
    }


def catalog() -> Catalog:
    """The catalog the warehouse prices with (shipped files plus the local overrides)."""
    return warehouse().catalog


@_cached
def _route_comparison(db: str, prompt_tokens: int, cached_tokens: int, output_tokens: int) -> pd.DataFrame:
    usage = Usage(input_tokens=prompt_tokens - cached_tokens, cache_read_tokens=cached_tokens,
                  output_tokens=output_tokens)
    return pd.DataFrame(prices_local.route_comparison(_open(db).catalog, usage))


def route_comparison(prompt_tokens: int, cached_tokens: int, output_tokens: int) -> pd.DataFrame:
    """One typical request (prompt tokens, of which cached, and output) priced on every route, cheapest first."""
    return _route_comparison(db_path(), prompt_tokens, min(cached_tokens, prompt_tokens), output_tokens)


def price_history(provider: str, model: str) -> list[dict[str, Any]]:
    return prices_local.price_history(catalog(), provider, model)


def save_price(provider: str, model: str, rates: dict[str, str], effective_from: Any, source: str) -> None:
    """Save an override to the local file, re-price all history with it, forget cached results."""
    prices_local.save_override(local_prices_path(), provider, model, rates, effective_from, source)
    # Reload everything local (converted imports too), not just the overrides file.
    warehouse().reload_catalog(local_catalog())
    clear_data()


def reload_prices() -> None:
    """Load the catalog files again (a local file fixed by hand), re-price history, forget cached results."""
    warehouse().reload_catalog(local_catalog())
    clear_data()


def save_discount(provider: str, model: str, percent: str, effective_from: Any, source: str) -> None:
    """A negotiated discount off the list price from a date on; re-price history, forget cached results."""
    prices_local.discount_override(local_prices_path(), provider, model, percent, effective_from, source or None)
    warehouse().reload_catalog(local_catalog())
    clear_data()


def live_call_log() -> pd.DataFrame:
    """Not cached: it must show a call the moment it is recorded."""
    return ex.live_call_log(warehouse())


def import_history() -> pd.DataFrame:
    """Not cached: it is small and must show an import the moment it finishes."""
    return ex.import_history(warehouse())


def rejected_rows(import_id: int) -> pd.DataFrame:
    return ex.rejected_rows(warehouse(), import_id)


# ------------------------------------------------------------------------ uploads (write path)


@contextlib.contextmanager
def _saved(upload: IO[bytes], name: str) -> Iterator[Path]:
    """The upload as a file under its own name in a private temp directory, deleted afterwards.

    Errors name the upload as the person knows it, not the temporary path.
    """
    folder = Path(tempfile.mkdtemp(prefix="usage-upload-"))
    path = folder / (Path(name).name or "upload")
    try:
        upload.seek(0)
        with path.open("wb") as out:
            shutil.copyfileobj(upload, out, 1 << 20)
        yield path
    except DashboardError as e:
        raise type(e)(str(e).replace(str(path), name)) from e
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def format_names() -> list[str]:
    return [f.NAME for f in all_formats()]


def inspect_upload(upload: IO[bytes], name: str) -> tuple[str | None, list[str], dict[str, str]]:
    """(detected format or None, the file's headers or record keys, the guessed field -> header mapping)."""
    wh = warehouse()
    with _saved(upload, name) as path:
        sample = ingest.sample_file(wh, path)
    headers = list(sample.columns)
    for record in sample.records:
        headers.extend(k for k in record if k not in headers)
    try:
        detected: str | None = ingest.detect(sample).NAME
    except ImportFailed:
        detected = None
    return detected, headers, guess_mapping(headers)


def preview_upload(upload: IO[bytes], name: str, fmt_name: str | None,
                   options: ingest.Options) -> tuple[str, list[str], list[tuple[Any, ...]]]:
    with _saved(upload, name) as path:
        return ingest.preview(warehouse(), path, fmt_name, options)


def import_upload(upload: IO[bytes], name: str, fmt_name: str | None, options: ingest.Options) -> ingest.ImportResult:
    """Import one uploaded file in one transaction, then forget cached results (the data changed)."""
    with _saved(upload, name) as path:
        try:
            return ingest.import_file(warehouse(), path, fmt_name, options, display_name=name)
        finally:
            clear_data()
            _decision.clear()


def format_sources() -> dict[str, str]:
    """format name -> the source name its rows get by default."""
    return {f.NAME: f.SOURCE for f in all_formats()}


@st.cache_data(ttl=TTL_S, max_entries=64, show_spinner="Reading the whole file")
def _decision(db: str, file_id: str, name: str, fmt_name: str | None, options: tuple[Any, ...],
              routes: tuple[tuple[str, str], ...], _upload: IO[bytes]) -> survey.Decision:
    provider, model, tz, mapping, cached, source = options
    opts = ingest.Options(provider=provider, model=model, tz=tz, mapping=dict(mapping), cached_included=cached,
                          source=source)
    wh = _open(db)
    with _saved(_upload, name) as path:
        return survey.decide(wh, path, fmt_name, opts, dict(routes), wh.catalog)


def decide_upload(upload: Any, name: str, fmt_name: str | None, options: ingest.Options) -> survey.Decision:
    """The options an upload will be imported with: the default route and the cached-token semantics
    decided over the whole file where `options` leave them open (see ingest.survey). Read once per
    file and choice: the page runs again on every click."""
    key = (options.provider, options.model, options.tz, tuple(sorted(options.mapping.items())),
           options.cached_included, options.source)
    routes = tuple(sorted(settings.default_routes(warehouse()).items()))
    return _decision(db_path(), upload.file_id, name, fmt_name, key, routes, upload)


def default_routes() -> dict[str, str]:
    return settings.default_routes(warehouse())


def set_default_route(vendor: str, route: str) -> None:
    settings.set_default_route(warehouse(), vendor, route)
    _decision.clear()


def delete_default_route(vendor: str) -> None:
    settings.delete_default_route(warehouse(), vendor)
    _decision.clear()


def import_profiles() -> list[settings.Profile]:
    return settings.profiles(warehouse())


def save_profile(profile: settings.Profile) -> None:
    settings.save_profile(warehouse(), profile)


def delete_profile(source: str, fmt: str) -> None:
    settings.delete_profile(warehouse(), source, fmt)


# ---- forecast page
# The forecast rooms are imported inside the loaders: statsmodels and the simulations would
# slow the start of every other page.


@_cached
def _traffic_history(db: str, filters: Filters) -> pd.DataFrame:
    from dashboard.warehouse.reprice import traffic_history

    return traffic_history(_open(db), filters)


def traffic_history(filters: Filters) -> pd.DataFrame:
    """Requests and token buckets per day of the filtered history ("use my traffic")."""
    return _traffic_history(db_path(), filters)


@_cached
def _daily_spend(db: str, filters: Filters) -> pd.DataFrame:
    from dashboard.warehouse.queries import daily_spend

    return daily_spend(_open(db), filters)


def daily_spend(filters: Filters) -> pd.DataFrame:
    """Computed spend per day in the filter's zone, days without traffic as 0 (Decimal)."""
    return _daily_spend(db_path(), filters)


@_cached
def _spend_forecast(db: str, filters: Filters, horizon_days: int, today: date) -> Any:
    from dashboard.forecasts.trend import forecast_spend
    from dashboard.warehouse.queries import daily_spend, month_to_date_spend

    def series(frame: pd.DataFrame) -> pd.Series:
        return pd.Series(list(frame["cost_usd"]), index=pd.to_datetime(frame["day"]), dtype=object)

    wh = _open(db)
    return forecast_spend(series(daily_spend(wh, filters)), horizon_days=horizon_days, today=today,
                          month_to_date=series(month_to_date_spend(wh, filters, today)))


def spend_forecast(filters: Filters, horizon_days: int) -> Any:
    """`forecasts.trend.SpendForecast` of the filtered daily spend, projecting this calendar month in the
    filter's zone with its spend so far read from the data; DashboardError under 7 days."""
    today = datetime.now(zone(filters.tz)).date()
    return _spend_forecast(db_path(), filters, int(horizon_days), today)


@_cached
def _monte_carlo(db: str, filters: Filters, route: str, months: int, growth_pct: str, simulations: int,
                 seed: int, limit: int) -> Any:
    from dashboard.forecasts.scenario import monte_carlo
    from dashboard.warehouse.reprice import request_samples, traffic_history

    wh = _open(db)
    samples = request_samples(wh, filters, limit, seed)
    daily = traffic_history(wh, filters)
    days = daily["requests"].to_numpy() if not daily.empty else []
    return monte_carlo(samples, days, route, months, growth_pct, simulations, seed, catalog=wh.catalog)


def monte_carlo(filters: Filters, route: str, months: int, growth_pct: Any, simulations: int, seed: int,
                limit: int = 20_000) -> Any:
    """P10/P50/P90 per month on `route`, bootstrapping at most `limit` sampled requests and the daily counts."""
    return _monte_carlo(db_path(), filters, route, int(months), str(growth_pct), int(simulations), int(seed),
                        int(limit))


@_cached
def _reprice(db: str, filters: Filters, route: str | None, price_file: str | None,
             upload: tuple[str, bytes] | None, rate: str | None) -> Any:
    import io
    from decimal import Decimal

    from dashboard.errors import DashboardError
    from dashboard.warehouse.reprice import reprice
    from pricing import local_overlays

    def with_overlay(path: Path) -> Catalog:
        # The price list overlays the catalog in use: shipped files, local overrides, then this file.
        # A bad local entry is left out, as everywhere; the price list given here must be right whole.
        catalog = load_catalog(overlays=[*local_overlays(local_prices_path()), path], skip_bad=True)
        own = [p for p in catalog.problems if p.file == str(path)]
        if own:
            raise DashboardError(f"price list {str(own[0]).replace(str(path), path.name)}")
        return catalog

    catalog, name = None, None
    if upload is not None:
        name = upload[0]
        with _saved(io.BytesIO(upload[1]), upload[0]) as path:
            catalog = with_overlay(path)
    elif price_file:
        path = Path(price_file).expanduser()
        if not path.is_file():
            raise DashboardError(f"no price list at {price_file!r}; give the path of a catalog TOML file")
        catalog, name = with_overlay(path), path.name
    return reprice(_open(db), filters, route=route, catalog=catalog, price_list=name,
                   cache_hit_rate=None if rate is None else Decimal(rate))


def reprice(filters: Filters, route: str | None = None, price_file: str | None = None,
            upload: tuple[str, bytes] | None = None, cache_hit_rate: Any = None) -> Any:
    """`warehouse.reprice.RepriceResult` of the filtered history; a price list as a path or (name, bytes)."""
    rate = None if cache_hit_rate is None else str(cache_hit_rate)
    return _reprice(db_path(), filters, route, price_file or None, upload, rate)


def _trace_key(trace: str | tuple[str, bytes]) -> tuple[str, Any]:
    from dashboard.errors import DashboardError

    if isinstance(trace, tuple):
        return trace
    path = Path(trace).expanduser()
    try:
        return str(path.resolve()), path.stat().st_mtime_ns  # a changed file is simulated again
    except OSError as e:
        raise DashboardError(f"cannot read trace {trace!r}: {e.strerror}; check the path") from e


@_cached
def _simulate(db: str, trace: tuple[str, Any], capacities: tuple[int | None, ...], ttl_seconds: float | None,
              route: str) -> list[Any]:
    import io

    from dashboard.forecasts.cache_sim import simulate_cache

    catalog = _open(db).catalog
    if isinstance(trace[1], bytes):
        with _saved(io.BytesIO(trace[1]), trace[0]) as path:
            return [simulate_cache(path, c, ttl_seconds, route, catalog=catalog) for c in capacities]
    return [simulate_cache(trace[0], c, ttl_seconds, route, catalog=catalog) for c in capacities]


def simulate_cache(trace: str | tuple[str, bytes], capacities: tuple[int | None, ...], ttl_seconds: float | None,
                   route: str) -> list[Any]:
    """One `forecasts.cache_sim.CacheSimulation` per capacity (None = unbounded) of a trace path or (name, bytes)."""
    return _simulate(db_path(), _trace_key(trace), tuple(capacities), ttl_seconds, route)
