"""Local price overrides (data/prices.local.toml): a model's price from a date on, or a discount.

The local file has the catalog format (docs/catalog.md) and is loaded after the shipped
catalog. A model there replaces the shipped entry of the same provider and id, periods
*and* aliases, so an override copies the shipped entry's aliases and the periods that
start before it, then appends its own period: history keeps the prices it had.

Every rate is checked on the way in (0 to 10,000 per 1M tokens, at most 6 decimals: the
catalog's rule, `pricing.catalog.check_rate`), and every write is validated by loading the
whole catalog with the new file; when that finds a problem the file did not have before,
the previous file content is put back and the `CatalogError` raised. A bad entry already in
the file (written by hand) is left out of the catalog and reported, as the app does; it
does not stop other entries from being saved. The file is written by
pricing.catalog_writer: numbers as the exact decimals they are; comments in the local file
are not kept.

One local file holds one route (one `[route]` table), as every catalog file does.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pricing
from pricing.catalog import MAX_RATE_DECIMALS, RATE_KEYS, Catalog, Rates, check_rate, load_catalog
from pricing.catalog_writer import period_doc, rates_doc, to_toml
from pricing.cost import to_utc
from pricing.errors import CatalogError, UnknownModelError

__all__ = ["HEADER", "discount_override", "remove_override", "save_override"]

HEADER = (
    "# Local price overrides, loaded after pricing/catalog/*.toml (format: docs/catalog.md).\n"
    "# Written by the dashboard's Prices page; comments added here are not kept.\n"
)

PathLike = Path | str


# ------------------------------------------------------------------ documents


def _start_of(period: Mapping[str, Any]) -> datetime | None:
    value = period.get("effective_from")
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.combine(value, time(0), tzinfo=UTC)


# ------------------------------------------------------------------ validation of inputs


def _exact(value: Any, what: str) -> Decimal:
    if isinstance(value, (bool, float)):
        raise CatalogError(
            f"{what} is {value!r} ({type(value).__name__}); pass an exact decimal such as Decimal('0.14') or '0.14'"
        )
    try:
        return Decimal(value)
    except (InvalidOperation, TypeError, ValueError) as e:
        raise CatalogError(f"{what} is {value!r}, not a number; write it like '0.14'") from e


def _rates_input(rates: Mapping[str, Any]) -> dict[str, Decimal]:
    unknown = sorted(set(rates) - set(RATE_KEYS))
    if unknown:
        raise CatalogError(f"unknown rate {unknown[0]!r}; rates are {', '.join(RATE_KEYS)} (USD per 1M tokens)")
    return {k: check_rate(k, _exact(rates[k], f"rate {k!r}")) for k in RATE_KEYS
            if k in rates and rates[k] is not None}


# ------------------------------------------------------------------ the local file


def _read(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    except tomllib.TOMLDecodeError as e:
        raise CatalogError(f"{path}: not valid TOML: {e}; fix or remove the file") from e


def _known_problems(path: Path, catalog_paths: Iterable[PathLike] | None) -> set[tuple[str, str]]:
    """(file, place) of each entry of the file as it is that the catalog leaves out."""
    if not path.exists():
        return set()
    try:
        catalog = load_catalog(paths=catalog_paths, overlays=[path], skip_bad=True)
    except CatalogError:
        return set()
    return {(p.file, p.where) for p in catalog.problems}


def _commit(path: Path, text: str, catalog_paths: Iterable[PathLike] | None, route: str | None = None) -> Catalog:
    """Write `text`, load the catalog with it; on a new problem or any failure put the previous content back.

    A problem the file already had (a bad entry written by hand) stays reported, not raised:
    it must not block saving another model's price. A problem of `route` ('provider/model',
    the entry being written) is always raised: that save would not take effect.
    """
    known = _known_problems(path, catalog_paths)
    previous = path.read_bytes() if path.exists() else None
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(path.name + ".tmp")
    staged.write_text(text, encoding="utf-8")
    os.replace(staged, path)
    try:
        catalog = load_catalog(paths=catalog_paths, overlays=[path], skip_bad=True)
        new = [p for p in catalog.problems if (p.file, p.where) not in known
               or (route is not None and (p.where + " ").startswith(f"model {route} "))]
        if new:
            raise CatalogError(str(new[0]))
    except Exception:
        if previous is None:
            path.unlink(missing_ok=True)
        else:
            path.write_bytes(previous)
        raise
    pricing.default_catalog.cache_clear()  # the app's cached catalog must see the edit
    return catalog


def _shipped(catalog_paths: Iterable[PathLike] | None) -> Catalog:
    return load_catalog(paths=catalog_paths)


def _local_doc(path: Path, provider: str, shipped: Catalog, base_url: str | None) -> dict[str, Any]:
    """The local file as a document (a new one for `provider` when there is no file); it must hold `provider`."""
    doc = _read(path)
    if doc is None:
        route = shipped.routes.get(provider)
        doc = {"route": {"provider": provider, "name": route.name if route else provider,
                         "currency": route.currency if route else "USD"}, "models": []}
    local_provider = str(doc.get("route", {}).get("provider", "")).strip().lower()
    if local_provider != provider:
        raise CatalogError(
            f"{path}: holds prices for provider {local_provider!r}; a catalog file holds one route, so "
            f"{provider!r} cannot be added to it. Remove the {local_provider!r} overrides first, or add "
            f"the {provider!r} prices to a file under pricing/catalog/"
        )
    if base_url:
        doc["route"]["base_url"] = base_url
    doc.setdefault("models", [])
    return doc


def _replaced(doc: dict[str, Any], shipped: Catalog, provider: str,
              model: str) -> tuple[dict[str, Any] | None, str, list[dict[str, Any]], list[str]]:
    """The entry an override replaces: an earlier local one, else the shipped one, else none.

    Returns (the local entry or None, the model id, its periods as documents, its aliases).
    """
    shipped_entry = shipped.find(model, provider)
    shipped_entry = shipped_entry if shipped_entry and shipped_entry.provider == provider else None
    wanted = {model.strip().lower()}
    if shipped_entry is not None:
        wanted.add(shipped_entry.id.lower())
    local = next(
        (m for m in doc["models"] if {str(n).lower() for n in (m.get("id", ""), *m.get("aliases", []))} & wanted),
        None,
    )
    if local is not None:
        return local, local["id"], list(local.get("periods", [])), list(local.get("aliases", []))
    if shipped_entry is not None:
        currency = str(doc["route"].get("currency", "USD"))
        return None, shipped_entry.id, [period_doc(p, currency) for p in shipped_entry.periods], list(
            shipped_entry.aliases)
    return None, model.strip(), [], []


def _periods(history: list[dict[str, Any]], period: dict[str, Any],
             effective_from: date | datetime | None) -> list[dict[str, Any]]:
    """The periods starting before `effective_from`, then `period` from then on; without a start, `period` alone."""
    if effective_from is None:
        return [period]  # no start: the price applies to all of history
    start = effective_from if isinstance(effective_from, datetime) else datetime.combine(
        effective_from, time(0), tzinfo=UTC)
    if start.tzinfo is None:
        raise CatalogError(f"effective_from {effective_from!r} has no time zone; give it one (UTC)")
    kept = [p for p in history if (s := _start_of(p)) is None or s < start.astimezone(UTC)]
    return [*kept, {"effective_from": effective_from, **period}]


def _aliases(model_id: str, names: Iterable[str]) -> list[str]:
    """`names` without blanks, the id itself and repeats (ignoring case), in order."""
    merged: list[str] = []
    for name in names:
        name = str(name).strip()
        if name and name.lower() != model_id.lower() and name.lower() not in {a.lower() for a in merged}:
            merged.append(name)
    return merged


def _write_period(
    path: PathLike,
    provider: str,
    model: str,
    period: dict[str, Any],
    effective_from: date | datetime | None,
    aliases: Iterable[str],
    base_url: str | None,
    catalog_paths: Iterable[PathLike] | None,
) -> Catalog:
    path = Path(path)
    provider = provider.strip().lower()
    if not provider or not model.strip():
        raise CatalogError("an override needs a provider and a model id")
    catalog_paths = None if catalog_paths is None else list(catalog_paths)
    shipped = _shipped(catalog_paths)
    doc = _local_doc(path, provider, shipped, base_url)
    local, model_id, history, known_aliases = _replaced(doc, shipped, provider, model)
    entry: dict[str, Any] = {"id": model_id}
    if merged := _aliases(model_id, (*known_aliases, *aliases)):
        entry["aliases"] = merged
    entry["periods"] = _periods(history, period, effective_from)
    models = doc["models"]
    if local is not None:
        models[models.index(local)] = entry
    else:
        models.append(entry)
    return _commit(path, to_toml(doc, HEADER), catalog_paths, route=f"{provider}/{model_id}")


def save_override(
    path: PathLike,
    provider: str,
    model: str,
    rates: Mapping[str, Decimal | str | int],
    effective_from: date | datetime | None,
    source: str,
    aliases: Iterable[str] = (),
    base_url: str | None = None,
    *,
    checked: date | None = None,
    catalog_paths: Iterable[PathLike] | None = None,
) -> Catalog:
    """Add or replace a model's price in the local file and return the validated catalog.

    `rates` are USD (the route's currency) per 1M tokens: input, output, cache_read and
    cache_write are required, cache_write_1h and reasoning optional. With
    `effective_from`, the new period starts then and every earlier period (shipped or
    local) is kept; without it the price applies to all of history. A model named by an
    alias overrides the entry that alias belongs to; its aliases are kept and `aliases`
    added. `catalog_paths` chooses the shipped files (default: pricing/catalog/*.toml).
    Raises CatalogError (and leaves the file as it was) when the result does not validate.
    """
    if not str(source).strip():
        raise CatalogError("an override needs a source: the contract, invoice or page the price comes from")
    period: dict[str, Any] = {"source": str(source), "checked": checked or date.today(), **_rates_input(rates)}
    return _write_period(path, provider, model, period, effective_from, aliases, base_url, catalog_paths)


def _discounted(rates: Rates, factor: Decimal) -> dict[str, Decimal]:
    step = Decimal(1).scaleb(-MAX_RATE_DECIMALS)
    return {k: (v * factor).quantize(step, rounding=ROUND_HALF_UP).normalize() for k, v in rates_doc(rates).items()}


def discount_override(
    path: PathLike,
    provider: str,
    model: str,
    percent: Decimal | str | int,
    effective_from: date | datetime,
    source: str | None = None,
    *,
    checked: date | None = None,
    catalog_paths: Iterable[PathLike] | None = None,
) -> Catalog:
    """A negotiated discount: the list rates in force at `effective_from` times (1 - percent/100), from then on.

    The list rates are the shipped catalog's (the local file's when only it knows the
    model), so applying a discount twice does not compound. Every rate of the period is
    discounted, windows and tiers included, and rounded half up to 6 decimals (the
    catalog's precision: at most $0.0000005 per 1M tokens off the exact product).
    """
    pct = _exact(percent, "discount percent")
    if not Decimal(0) <= pct <= Decimal(100):
        raise CatalogError(f"discount percent {pct} is outside 0..100; 20 means 20 % off the list price")
    catalog_paths = None if catalog_paths is None else list(catalog_paths)
    entry = _shipped(catalog_paths).find(model, provider)
    if entry is None or entry.provider != provider.strip().lower():
        entry = load_catalog(paths=catalog_paths, overlays=[Path(path)]).resolve(model, provider)
    start = effective_from if isinstance(effective_from, datetime) else datetime.combine(
        effective_from, time(0), tzinfo=UTC)
    try:
        base = entry.period_at(to_utc(start))
    except UnknownModelError as e:
        raise CatalogError(f"cannot discount {entry.route!r} from {effective_from}: {e}") from e
    factor = 1 - pct / 100
    period = period_doc(base, route_currency="")  # the currency written out, whatever the route's
    period.pop("effective_from", None)
    period["source"] = source or f"negotiated discount: {pct.normalize():f}% off the list price ({base.source})"
    period["checked"] = checked or date.today()
    period |= _discounted(base.rates, factor)
    for w, window in zip(period.get("windows", []), base.windows, strict=True):
        w |= _discounted(window.rates, factor)
    for t, tier in zip(period.get("tiers", []), base.tiers, strict=True):
        t |= _discounted(tier.rates, factor)
    return _write_period(path, provider, entry.id, period, effective_from, (), None, catalog_paths)


def remove_override(path: PathLike, provider: str, model: str, *,
                    catalog_paths: Iterable[PathLike] | None = None) -> Catalog:
    """Drop a model from the local file (its shipped price, if any, applies again)."""
    path = Path(path)
    doc = _read(path)
    name = model.strip().lower()
    if doc is None or str(doc.get("route", {}).get("provider", "")).lower() != provider.strip().lower():
        raise CatalogError(f"{path}: has no override for {provider}/{model}")
    models = doc.get("models", [])
    kept = [m for m in models if name not in {str(n).lower() for n in (m.get("id", ""), *m.get("aliases", []))}]
    if len(kept) == len(models):
        raise CatalogError(f"{path}: has no override for {provider}/{model}")
    if not kept:
        path.unlink()
        pricing.default_catalog.cache_clear()
        return load_catalog(paths=catalog_paths, overlays=[path])
    doc["models"] = kept
    return _commit(path, to_toml(doc, HEADER), None if catalog_paths is None else list(catalog_paths))
