"""What the pages write: imports, the demo data, prices, default routes, profiles, live calls and evaluation runs.

Each write goes to the process's warehouse (or the local price file) and then forgets the
cached results it makes stale: all of them when the data or the prices change, only the
import decisions when a default route changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO, Any

from dashboard import demo, ingest
from dashboard.appdata import reads
from dashboard.appdata.store import clear, local_catalog, local_prices_path, saved_upload, warehouse
from dashboard.errors import mask_secrets, mask_value
from dashboard.evaluate import EvalRun
from dashboard.evaluate.storage import save_run
from dashboard.live import CallResult, record_calls
from dashboard.warehouse import explore as ex
from dashboard.warehouse import settings
from pricing import overrides


def clear_demo() -> int:
    """Delete the demo rows and remember that they were declined; returns how many were removed."""
    wh = warehouse()
    removed = demo.clear(wh)
    ex.decline_demo(wh)
    clear()
    return removed


def import_upload(upload: IO[bytes], name: str, fmt_name: str | None, options: ingest.Options) -> ingest.ImportResult:
    """Import one uploaded file in one transaction, then forget cached results (the data changed)."""
    with saved_upload(upload, name) as path:
        try:
            return ingest.import_file(warehouse(), path, fmt_name, options, display_name=name)
        finally:
            clear()


def save_eval_run(run: EvalRun) -> bool:
    """Store an evaluation run; False (nothing stored) when the warehouse is open read-only."""
    wh = warehouse()
    if wh.read_only:
        return False
    save_run(wh, run)
    return True


def record_live_calls(results: Sequence[CallResult]) -> tuple[int, int]:
    """Store the calls (source `live`) and refresh every cached chart: (added, already there)."""
    added, duplicates = record_calls(warehouse(), results)
    clear()
    return added, duplicates


# ------------------------------------------------------------------------ prices


def reload_prices() -> None:
    """Load the catalog files again (a local file fixed by hand), re-price history, forget cached results."""
    # Reload everything local (converted imports too), not just the overrides file.
    warehouse().reload_catalog(local_catalog())
    clear()


def save_price(provider: str, model: str, rates: dict[str, str], effective_from: Any, source: str) -> None:
    """Save an override to the local file, re-price all history with it, forget cached results.

    The names and the source are typed by whoever uses the page: a key pasted into one is
    written to the file as its hint."""
    overrides.save_override(local_prices_path(), mask_value(provider) or "", mask_value(model) or "", rates,
                            effective_from, mask_secrets(source) or "")
    reload_prices()


def save_discount(provider: str, model: str, percent: str, effective_from: Any, source: str) -> None:
    """A negotiated discount off the list price from a date on; re-price history, forget cached results.
    (A key typed into a name or the source is written, or named in an error, as its hint, as in save_price.)"""
    overrides.discount_override(local_prices_path(), mask_value(provider) or "", mask_value(model) or "", percent,
                                effective_from, mask_secrets(source) or None)
    reload_prices()


# ------------------------------------------------------------------------ import settings


def set_default_route(vendor: str, route: str) -> None:
    settings.set_default_route(warehouse(), vendor, route)
    reads.upload_decision.clear()


def delete_default_route(vendor: str) -> None:
    settings.delete_default_route(warehouse(), vendor)
    reads.upload_decision.clear()


def save_profile(profile: settings.Profile) -> None:
    settings.save_profile(warehouse(), profile)


def delete_profile(source: str, fmt: str) -> None:
    settings.delete_profile(warehouse(), source, fmt)
