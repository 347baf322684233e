"""The process's warehouse, the catalog it prices with, and the caching every loader shares.

One Warehouse per process and database file (`cache_resource`). A loader is a function of the
warehouse and the query's inputs, made a cached function of the inputs alone by `@loader`: the
result is kept by `cache_data`, keyed on the database path and the inputs, bounded by a ttl and
`max_entries`, and forgotten by `clear()` after anything writes.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, Concatenate, Generic, ParamSpec, TypeVar

import pandas as pd
import streamlit as st

from dashboard import demo
from dashboard.errors import DashboardError
from dashboard.warehouse import Warehouse
from dashboard.warehouse import explore as ex
from dashboard.warehouse.queries import Filters, is_empty
from pricing import LOCAL_OVERLAY, Catalog, load_catalog, local_overlays

TTL_S = 600
ENTRIES = 256

P = ParamSpec("P")
R = TypeVar("R")


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


def db_path() -> str:
    return str(Warehouse.default_path().resolve())


def warehouse() -> Warehouse:
    """The process's Warehouse; raises WarehouseError (with the file and the fix) when it cannot open."""
    return _open(db_path())


def catalog() -> Catalog:
    """The catalog the warehouse prices with (shipped files plus the local overrides)."""
    return warehouse().catalog


def refresh_priced_cache_behind() -> None:
    """Rebuild a stale priced cache in a thread of its own: call it once a page is drawn, which a
    build running beside the page's reads would slow down (see Warehouse.refresh_priced_cache_behind)."""
    warehouse().refresh_priced_cache_behind()


def clear() -> None:
    """Forget every cached query result: the data or the prices changed."""
    st.cache_data.clear()
    _rollup.clear()


class Loader(Generic[P, R]):
    """`fn(wh, *args)` as a cached `loader(*args)` on the process's warehouse; `clear()` forgets its results."""

    def __init__(self, fn: Callable[Concatenate[Warehouse, P], R], max_entries: int, spinner: bool | str) -> None:
        # The cached function carries fn's name and source (functools.wraps): Streamlit keys each
        # cache on those, so every loader keeps its own results.
        @functools.wraps(fn)
        def on_file(db: str, *args: Any, **kwargs: Any) -> R:
            return fn(_open(db), *args, **kwargs)

        self._cached = st.cache_data(ttl=TTL_S, max_entries=max_entries, show_spinner=spinner)(on_file)
        functools.update_wrapper(self, fn)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self._cached(db_path(), *args, **kwargs)

    def clear(self) -> None:
        self._cached.clear()


def loader(fn: Callable[Concatenate[Warehouse, P], R] | None = None, *, max_entries: int = ENTRIES,
           spinner: bool | str = False) -> Any:
    """Decorate `fn(wh, *args)` into a cached `fn(*args)` (see Loader). Arguments whose name starts with
    `_` are not part of the key (Streamlit's rule): pass an upload that way, with its id as a keyed one."""
    if fn is None:
        return lambda f: Loader(f, max_entries, spinner)
    return Loader(fn, max_entries, spinner)


# The rollup is shared read-only rather than copied: cache_data would pickle its Decimal
# columns on every read, which costs more than the loaders derived from it.
@st.cache_resource(ttl=TTL_S, max_entries=32, show_spinner=False)
def _rollup(db: str, filters: Filters, unit: str, _wh: Warehouse) -> pd.DataFrame:
    return ex.rollup(_wh, filters, unit)


def rollup(wh: Warehouse, filters: Filters, grain: str) -> pd.DataFrame:
    """The filtered rollup the spend loaders derive from: hourly for the hour grain, daily otherwise."""
    return _rollup(str(wh.path), filters, "hour" if grain == "hour" else "day", wh)


@contextlib.contextmanager
def saved_upload(upload: IO[bytes], name: str) -> Iterator[Path]:
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
