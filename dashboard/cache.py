"""The cache layer: the only module that uses `st.cache_resource` / `st.cache_data`.

One Warehouse per process and database file (`cache_resource`); query results cached
with `cache_data`, keyed on the database path and the query's inputs, bounded by a ttl and
`max_entries`, and cleared with `clear_data()` after anything writes (an import, a price
edit, clearing the demo data). Loaders never read widgets: the pages pass what they read.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from dashboard import demo
from dashboard.warehouse import Warehouse
from dashboard.warehouse import explore as ex
from dashboard.warehouse.queries import Filters, is_empty

TTL_S = 600
ENTRIES = 256


@st.cache_resource(show_spinner=False)
def _open(path: str) -> Warehouse:
    """Open (and migrate) the file once per process; a first start on an empty file shows demo data."""
    wh = Warehouse.open(path)
    if not wh.read_only and is_empty(wh) and not ex.demo_declined(wh):
        demo.fill(wh)
    return wh


def db_path() -> str:
    return str(Warehouse.default_path().resolve())


def warehouse() -> Warehouse:
    """The process's Warehouse; raises WarehouseError (with the file and the fix) when it cannot open."""
    return _open(db_path())


def clear_data() -> None:
    """Forget every cached query result: the data or the prices changed."""
    st.cache_data.clear()


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


@_cached
def _kpis(db: str, filters: Filters) -> tuple[ex.Totals, ex.Totals | None]:
    wh = _open(db)
    previous = ex.previous_period(filters)
    return ex.totals(wh, filters), (ex.totals(wh, previous) if previous else None)


def kpis(filters: Filters) -> tuple[ex.Totals, ex.Totals | None]:
    """Totals of the period and of the equal period before it (None for an unbounded range)."""
    return _kpis(db_path(), filters)


@_cached
def _spend_over_time(db: str, filters: Filters, grain: str, by: str) -> pd.DataFrame:
    return ex.spend_over_time(_open(db), filters, grain, by)


def spend_over_time(filters: Filters, grain: str, by: str) -> pd.DataFrame:
    return _spend_over_time(db_path(), filters, grain, by)


@_cached
def _cache_rate(db: str, filters: Filters, grain: str, by_model: bool) -> pd.DataFrame:
    return ex.cache_rate_over_time(_open(db), filters, grain, by_model)


def cache_rate_over_time(filters: Filters, grain: str, by_model: bool = False) -> pd.DataFrame:
    return _cache_rate(db_path(), filters, grain, by_model)


@_cached
def _top(db: str, filters: Filters, dimension: str, limit: int) -> pd.DataFrame:
    return ex.top(_open(db), filters, dimension, limit)


def top(filters: Filters, dimension: str, limit: int = 10) -> pd.DataFrame:
    return _top(db_path(), filters, dimension, limit)


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
def _cache_savings(db: str, filters: Filters) -> ex.CacheSavings:
    return ex.cache_savings(_open(db), filters)


def cache_savings(filters: Filters) -> ex.CacheSavings:
    return _cache_savings(db_path(), filters)


@_cached
def _cache_writes(db: str, filters: Filters, grain: str) -> pd.DataFrame:
    return ex.cache_write_over_time(_open(db), filters, grain)


def cache_write_over_time(filters: Filters, grain: str) -> pd.DataFrame:
    return _cache_writes(db_path(), filters, grain)


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


def import_history() -> pd.DataFrame:
    """Not cached: it is small and must show an import the moment it finishes."""
    return ex.import_history(warehouse())


def rejected_rows(import_id: int) -> pd.DataFrame:
    return ex.rejected_rows(warehouse(), import_id)
