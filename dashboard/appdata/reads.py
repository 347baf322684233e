"""What the pages read: cached loaders over the process's warehouse (see store.loader).

Each loader is the warehouse function it caches, or a few lines deriving a page's figures from
the shared rollup. A few reads are not cached because they must show a write the moment it
happens (the import history, the live-call log).
"""

from __future__ import annotations

import functools
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import pandas as pd

from dashboard import demo, exports, ingest
from dashboard.appdata.store import catalog, loader, rollup, saved_upload, warehouse
from dashboard.errors import ImportFailed
from dashboard.evaluate import EvalRun
from dashboard.evaluate.storage import list_runs, load_run
from dashboard.ingest import survey
from dashboard.ingest.formats import all_formats
from dashboard.ingest.formats.generic import guess_mapping
from dashboard.warehouse import Warehouse, settings, statement
from dashboard.warehouse import explore as ex
from dashboard.warehouse.queries import Filters
from pricing import Usage, comparison
from pricing.catalog import CatalogProblem


def showing_demo() -> bool:
    return demo.has_demo(warehouse())


# ------------------------------------------------------------------------ spend, explore, cache

@loader
def kpis(wh: Warehouse, filters: Filters, grain: str = "day") -> tuple[ex.Totals, ex.Totals | None]:
    """Totals of the period and of the equal period before it (None for an unbounded range)."""
    bounded = filters.start is not None and filters.end is not None
    return ex.kpis(rollup(wh, filters, grain), bounded)


@loader
def approximate(wh: Warehouse, filters: Filters, grain: str = "day") -> tuple[Decimal, Decimal]:
    """(approximate, computed) cost in the range (see explore.approximate_of)."""
    return ex.approximate_of(rollup(wh, filters, grain))


@loader
def spend_over_time(wh: Warehouse, filters: Filters, grain: str, by: str) -> pd.DataFrame:
    return ex.spend_over_time(rollup(wh, filters, grain), grain, by)


@loader
def cache_rate_over_time(wh: Warehouse, filters: Filters, grain: str, by_model: bool = False) -> pd.DataFrame:
    return ex.cache_rate_over_time(rollup(wh, filters, grain), grain, by_model)


@loader
def top(wh: Warehouse, filters: Filters, dimension: str, limit: int = 10, grain: str = "day") -> pd.DataFrame:
    return ex.top(rollup(wh, filters, grain), dimension, limit)


@loader
def cache_write_over_time(wh: Warehouse, filters: Filters, grain: str) -> pd.DataFrame:
    return ex.cache_write_over_time(rollup(wh, filters, grain), grain)


group_by = loader(ex.group_by)
raw_rows = loader(ex.raw_rows)
largest_uncached = loader(ex.largest_uncached)
filter_values = loader(ex.filter_values)  # every sidebar filter's values, read together
data_span = loader(ex.data_span)
months_with_data = loader(ex.months_with_data)


def distinct_values(name: str) -> list[str]:
    """The values one sidebar filter offers (see explore.filter_values)."""
    return filter_values()[ex.filter_name(name)]


def live_call_log() -> pd.DataFrame:
    """Not cached: it must show a call the moment it is recorded."""
    return ex.live_call_log(warehouse())


# ------------------------------------------------------------------------ statement

month_statement = loader(statement.statement)  # (month, tz, filters): the filters' own dates are ignored

STATEMENT_FILES = {
    # label: (file name pattern, MIME type)
    "CSV (by model)": ("statement-{month}.csv", "text/csv"),
    "Excel (.xlsx)": ("statement-{month}.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "FOCUS CSV": ("focus-{month}.csv", "text/csv"),
}


@loader
def statement_file(wh: Warehouse, month: str, tz: str, filters: Filters, label: str) -> bytes:
    """One statement export (a label of STATEMENT_FILES) as bytes; money exact."""
    if label == "FOCUS CSV":
        # Written by DuckDB (a month may hold millions of requests), cell by cell as exports writes CSV.
        with tempfile.TemporaryDirectory(prefix="focus-") as folder:
            path = Path(folder) / "focus.csv"
            statement.write_focus_csv(wh, path, exports.CSV_SQL, month, tz, filters)
            return path.read_bytes()
    report = month_statement(month, tz, filters)  # the statement the page shows, not built again
    if label == "Excel (.xlsx)":
        return exports.to_xlsx(exports.statement_sheets(report))
    return exports.statement_csv(report)


def statement_downloads(month: str, tz: str, filters: Filters) -> dict[str, tuple[str, Any, str]]:
    """label -> (file name, a callable building the bytes, MIME type): built only when clicked."""
    return {
        label: (name.format(month=month), functools.partial(statement_file, month, tz, filters, label), mime)
        for label, (name, mime) in STATEMENT_FILES.items()
    }


# ------------------------------------------------------------------------ prices


def price_problems() -> list[CatalogProblem]:
    """The local price entries the warehouse's catalog left out, for the Prices page to show with the fix."""
    return list(catalog().problems)


@loader
def route_comparison(wh: Warehouse, prompt_tokens: int, cached_tokens: int, output_tokens: int) -> pd.DataFrame:
    """One typical request (prompt tokens, of which cached, and output) priced on every route, cheapest first."""
    cached_tokens = min(cached_tokens, prompt_tokens)
    usage = Usage(input_tokens=prompt_tokens - cached_tokens, cache_read_tokens=cached_tokens,
                  output_tokens=output_tokens)
    return pd.DataFrame(comparison.route_comparison(wh.catalog, usage))


def price_history(provider: str, model: str) -> list[dict[str, Any]]:
    return comparison.price_history(catalog(), provider, model)


# ------------------------------------------------------------------------ the Import page


def import_history() -> pd.DataFrame:
    """Not cached: it is small and must show an import the moment it finishes."""
    return ex.import_history(warehouse())


def eval_runs() -> list[dict[str, Any]]:
    """The stored evaluation runs, newest first. Not cached: a run shows the moment it is stored."""
    return list_runs(warehouse())


def eval_run(run_id: str) -> EvalRun:
    return load_run(warehouse(), run_id)


def rejected_rows(import_id: int) -> pd.DataFrame:
    return ex.rejected_rows(warehouse(), import_id)


def format_names() -> list[str]:
    return [f.name for f in all_formats()]


def format_sources() -> dict[str, str]:
    """format name -> the source name its rows get by default."""
    return {f.name: f.source for f in all_formats()}


def inspect_upload(upload: IO[bytes], name: str) -> tuple[str | None, list[str], dict[str, str]]:
    """(detected format or None, the file's headers or record keys, the guessed field -> header mapping)."""
    wh = warehouse()
    with saved_upload(upload, name) as path:
        sample = ingest.sample_file(wh, path)
    headers = list(sample.columns)
    for record in sample.records:
        headers.extend(k for k in record if k not in headers)
    try:
        detected: str | None = ingest.detect(sample).name
    except ImportFailed:
        detected = None
    return detected, headers, guess_mapping(headers)


def preview_upload(upload: IO[bytes], name: str, fmt_name: str | None,
                   options: ingest.Options) -> tuple[str, list[str], list[tuple[Any, ...]]]:
    with saved_upload(upload, name) as path:
        return ingest.preview(warehouse(), path, fmt_name, options)


@loader(max_entries=64, spinner="Reading the whole file")
def upload_decision(wh: Warehouse, file_id: str, name: str, fmt_name: str | None, options: tuple[Any, ...],
             routes: tuple[tuple[str, str], ...], _upload: IO[bytes]) -> survey.Decision:
    provider, model, tz, mapping, cached, source = options
    opts = ingest.Options(provider=provider, model=model, tz=tz, mapping=dict(mapping), cached_included=cached,
                          source=source)
    with saved_upload(_upload, name) as path:
        return survey.decide(wh, path, fmt_name, opts, dict(routes), wh.catalog)


def decide_upload(upload: Any, name: str, fmt_name: str | None, options: ingest.Options) -> survey.Decision:
    """The options an upload will be imported with: the default route and the cached-token semantics
    decided over the whole file where `options` leave them open (see ingest.survey). Read once per
    file and choice: the page runs again on every click."""
    key = (options.provider, options.model, options.tz, tuple(sorted(options.mapping.items())),
           options.cached_included, options.source)
    routes = tuple(sorted(default_routes().items()))
    return upload_decision(upload.file_id, name, fmt_name, key, routes, upload)


def default_routes() -> dict[str, str]:
    return settings.default_routes(warehouse())


def import_profiles() -> list[settings.Profile]:
    return settings.profiles(warehouse())

