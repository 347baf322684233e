"""The price catalog: TOML files per route, validated into typed, immutable objects.

See docs/catalog.md for the file format. Numbers are parsed as Decimal, never float.

Every rate is checked against the same bounds (0 to MAX_RATE_PER_MTOK per 1M tokens, at
most MAX_RATE_DECIMALS places), so the warehouse's per-token DECIMAL(18, 12) holds it
exactly and can never overflow. A shipped file that breaks a rule is an error; a local
overlay loaded with `skip_bad=True` keeps its good entries and reports each bad one
(`Catalog.problems`, and a warning on the `pricing.catalog` logger, which a command line
without logging set up prints to stderr), so one hand-edited price cannot stop the app.
"""

from __future__ import annotations

import difflib
import logging
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from pricing.errors import CatalogError, UnknownModelError

__all__ = [
    "CATALOG_DIR",
    "Catalog",
    "CatalogProblem",
    "ModelPrice",
    "Period",
    "Rates",
    "Route",
    "Tier",
    "Window",
    "check_rate",
    "load_catalog",
]

CATALOG_DIR = Path(__file__).parent / "catalog"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_RATE_DECIMALS = 6
# Far above any published price (the dearest are a few hundred USD per 1M tokens), far below
# what DECIMAL(18, 12) per token holds (just under 1e12 per 1M tokens).
MAX_RATE_PER_MTOK = Decimal(10_000)
RATE_RULE = f"rates are per 1M tokens, from 0 to {MAX_RATE_PER_MTOK:,} with at most {MAX_RATE_DECIMALS} decimals"

# The rates a period, window or tier has, in the order files list them.
REQUIRED_RATES = ("input", "output", "cache_read", "cache_write")
OPTIONAL_RATES = ("cache_write_1h", "reasoning")
RATE_KEYS = (*REQUIRED_RATES, *OPTIONAL_RATES)

_log = logging.getLogger(__name__)

_ROUTE_KEYS = {"provider", "name", "base_url", "currency", "upstream", "factor", "upstream_listed"}
_MODEL_KEYS = {"id", "aliases", "periods"}
_PERIOD_KEYS = {
    "effective_from", "source", "checked", "currency", "windows", "tiers",
    *RATE_KEYS,
}
_WINDOW_KEYS = {"name", "weekdays", "hours", *RATE_KEYS}
_TIER_KEYS = {"above_prompt_tokens", *RATE_KEYS}


@dataclass(frozen=True)
class Rates:
    """Per-1M-token rates. Missing optional rates fall back as documented."""

    input: Decimal
    output: Decimal
    cache_read: Decimal
    cache_write: Decimal
    cache_write_1h: Decimal | None = None
    reasoning: Decimal | None = None

    @property
    def cache_write_1h_effective(self) -> Decimal:
        """A route without a 1-hour write class bills every cache write at `cache_write`."""
        return self.cache_write if self.cache_write_1h is None else self.cache_write_1h

    @property
    def reasoning_effective(self) -> Decimal:
        """Reasoning is billed as output unless the period names its own rate."""
        return self.output if self.reasoning is None else self.reasoning

    def as_dict(self) -> dict[str, str | None]:
        return {
            "input": str(self.input),
            "output": str(self.output),
            "cache_read": str(self.cache_read),
            "cache_write": str(self.cache_write),
            "cache_write_1h": None if self.cache_write_1h is None else str(self.cache_write_1h),
            "reasoning": None if self.reasoning is None else str(self.reasoning),
        }


@dataclass(frozen=True)
class Window:
    name: str
    weekdays: frozenset[int]  # 0 = Monday
    hours: tuple[tuple[int, int], ...]  # UTC, [start, end)
    rates: Rates

    def contains(self, at: datetime) -> bool:
        return at.weekday() in self.weekdays and any(a <= at.hour < b for a, b in self.hours)


@dataclass(frozen=True)
class Tier:
    above_prompt_tokens: int
    rates: Rates


@dataclass(frozen=True)
class Period:
    effective_from: datetime | None  # None: open-ended backwards
    effective_to: datetime | None  # None: still in force
    rates: Rates
    currency: str
    source: str
    checked: date
    windows: tuple[Window, ...] = ()
    tiers: tuple[Tier, ...] = ()

    def covers(self, at: datetime) -> bool:
        return (self.effective_from is None or self.effective_from <= at) and (
            self.effective_to is None or at < self.effective_to
        )

    def select(self, at: datetime, prompt_tokens: int, requests: int = 1) -> tuple[Rates, str | None, int | None]:
        """The rates at `at` for `requests` requests with this many prompt tokens in all: window, else
        tier (chosen from the prompt tokens per request), else base."""
        for window in self.windows:
            if window.contains(at):
                return window.rates, window.name, None
        rates, tier = self.tier_rates(prompt_tokens, requests)
        return rates, None, tier

    def tier_rates(self, prompt_tokens: int, requests: int = 1) -> tuple[Rates, int | None]:
        """The rates outside any window for `requests` requests with this many prompt tokens in
        all, and the tier's threshold (None: the base rates): the tier is chosen from the prompt
        tokens per request."""
        for tier in reversed(self.tiers):
            # prompt / requests > above, kept in whole numbers as the SQL keeps it (pricing.sql)
            if prompt_tokens > tier.above_prompt_tokens * max(requests, 1):
                return tier.rates, tier.above_prompt_tokens
        return self.rates, None

    def as_dict(self) -> dict[str, Any]:
        return {
            "effective_from": self.effective_from.isoformat() if self.effective_from else None,
            "effective_to": self.effective_to.isoformat() if self.effective_to else None,
            "currency": self.currency,
            "source": self.source,
            "checked": self.checked.isoformat(),
            "windows": [w.name for w in self.windows],
            "tiers": [t.above_prompt_tokens for t in self.tiers],
        }


@dataclass(frozen=True)
class ModelPrice:
    provider: str
    id: str
    aliases: tuple[str, ...]
    periods: tuple[Period, ...]
    file: str

    @property
    def route(self) -> str:
        return f"{self.provider}/{self.id}"

    def period_at(self, at: datetime) -> Period:
        for period in self.periods:
            if period.covers(at):
                return period
        first = self.periods[0].effective_from
        raise UnknownModelError(
            f"no price for model {self.id!r} (provider {self.provider!r}) at {at.isoformat()}; "
            f"its first price takes effect {first.isoformat() if first else '?'}"
        )


@dataclass(frozen=True)
class Route:
    provider: str
    name: str
    currency: str
    file: str
    base_url: str | None = None
    upstream: str | None = None
    factor: Decimal | None = None
    # The day of the upstream's list that the reseller's rates were set from (its listing date).
    upstream_listed: date | None = None


def _names(model: str) -> list[str]:
    """The forms a logged model name is matched under: as is, then without a vendor prefix."""
    m = model.strip().lower()
    names = [m]
    if "/" in m:
        names.append(m.rsplit("/", 1)[1])
    return names


@dataclass(frozen=True)
class CatalogProblem:
    """An overlay entry (or a whole overlay file) left out of a catalog, and why."""

    file: str
    where: str  # "model 'x' period 0", or "file" when the whole file was left out
    message: str  # what is wrong and how to fix it

    def __str__(self) -> str:
        return f"{self.file}: {self.where}: {self.message}"


class _EntryError(CatalogError):
    """A rule broken at one place of one file (the CatalogError `_err` raises)."""

    def __init__(self, file: str, where: str, message: str) -> None:
        super().__init__(f"{file}: {where}: {message}")
        self.problem = CatalogProblem(file, where, message)


@dataclass
class Catalog:
    routes: dict[str, Route]
    models: list[ModelPrice]
    problems: list[CatalogProblem] = field(default_factory=list)  # overlay entries left out (skip_bad)
    _index: dict[tuple[str, str], ModelPrice] = field(default_factory=dict, repr=False)
    _by_name: dict[str, list[ModelPrice]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for m in self.models:
            for name in (m.id, *m.aliases):
                self._index[(m.provider, name.lower())] = m
                self._by_name.setdefault(name.lower(), []).append(m)

    def resolve(self, model: str, provider: str | None = None) -> ModelPrice:
        """Find the price entry for a model as logged, on a route when one is named.

        Without a provider, a model offered by several routes resolves to the route that
        is not a reseller (the vendor's own list); pass `provider` to choose another.
        """
        if provider:
            p = provider.strip().lower()
            for name in _names(model):
                hit = self._index.get((p, name))
                if hit:
                    return hit
        else:
            for name in _names(model):
                hits = self._by_name.get(name, [])
                if hits:
                    direct = [h for h in hits if not self.routes[h.provider].upstream]
                    return sorted(direct or hits, key=lambda h: h.provider)[0]
        raise UnknownModelError(self._unknown_message(model, provider))

    def _unknown_message(self, model: str, provider: str | None) -> str:
        pool = [m for m in self.models if not provider or m.provider == provider.lower()]
        ids = sorted({m.id for m in pool})
        close = difflib.get_close_matches(model.lower(), ids, n=5, cutoff=0.4)
        where = f" (provider {provider!r})" if provider else ""
        if provider and provider.lower() not in self.routes:
            return (
                f"unknown provider {provider!r} for model {model!r}; "
                f"known providers: {', '.join(sorted(self.routes))}"
            )
        hint = ", ".join(close) if close else ", ".join(ids[:8])
        return (
            f"no price for model {model!r}{where}; closest known: {hint}. "
            "Add it to a catalog file or data/prices.local.toml (see docs/catalog.md)"
        )

    def find(self, model: str, provider: str | None = None) -> ModelPrice | None:
        try:
            return self.resolve(model, provider)
        except UnknownModelError:
            return None


# ---------------------------------------------------------------- loading and validation


def _err(file: str, where: str, msg: str) -> CatalogError:
    return _EntryError(file, where, msg)


def _check_keys(obj: Mapping[str, Any], allowed: set[str], file: str, where: str) -> None:
    if not isinstance(obj, Mapping):
        raise _err(file, where, f"must be a table of keys ({', '.join(sorted(allowed))}), got {obj!r:.60}")
    extra = sorted(set(obj) - allowed)
    if extra:
        raise _err(
            file, where,
            f"unknown key {extra[0]!r}; allowed keys are {', '.join(sorted(allowed))} "
            "(check the spelling, see docs/catalog.md)",
        )


def _rate_problem(key: str, value: Any) -> str | None:
    """What is wrong with a rate, and the fix; None for a good one."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return f"rate {key!r} must be a number, got {value!r:.60}; {RATE_RULE}"
    rate = Decimal(value)
    if not rate.is_finite():
        return f"rate {key!r} is {rate}, not a finite number; {RATE_RULE}"
    if rate < 0:
        return f"rate {key!r} is negative ({rate}); rates are >= 0: {RATE_RULE}"
    if rate > MAX_RATE_PER_MTOK:
        return (f"rate {key!r} = {rate:,f} is over {MAX_RATE_PER_MTOK:,} per 1M tokens; {RATE_RULE} "
                "(write 2.5 for 2.50 per 1M tokens)")
    exponent = rate.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MAX_RATE_DECIMALS:
        return (f"rate {key!r} = {rate} has more than {MAX_RATE_DECIMALS} decimals; rates are per 1M tokens, "
                f"so round to {MAX_RATE_DECIMALS} places")
    return None


def check_rate(key: str, value: Any) -> Decimal:
    """A rate (USD, or the route's currency, per 1M tokens) as a Decimal; CatalogError naming the fix."""
    problem = _rate_problem(key, value)
    if problem:
        raise CatalogError(problem)
    return Decimal(value)


def _rate(obj: Mapping[str, Any], key: str, file: str, where: str, required: bool) -> Decimal | None:
    if key not in obj:
        if required:
            raise _err(file, where, f"missing rate {key!r}; write `{key} = 0` if it is free")
        return None
    problem = _rate_problem(key, obj[key])
    if problem:
        raise _err(file, where, problem)
    return Decimal(obj[key])


def _rates(obj: Mapping[str, Any], file: str, where: str) -> Rates:
    req = {k: _rate(obj, k, file, where, True) for k in REQUIRED_RATES}
    opt = {k: _rate(obj, k, file, where, False) for k in OPTIONAL_RATES}
    return Rates(**req, **opt)  # type: ignore[arg-type]


def _moment(value: Any, file: str, where: str) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise _err(file, where, f"effective_from {value!r} has no offset; write it with Z or +00:00")
        return value.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=UTC)
    raise _err(file, where, f"effective_from must be a date or datetime, got {value!r}")


def _windows(raw: Any, file: str, where: str) -> tuple[Window, ...]:
    windows = []
    taken: dict[tuple[int, int], str] = {}
    for i, w in enumerate(raw or []):
        wwhere = f"{where} window {i}"
        _check_keys(w, _WINDOW_KEYS, file, wwhere)
        name = w.get("name") or f"window{i}"
        days = []
        for d in w.get("weekdays", WEEKDAYS):
            if not isinstance(d, str) or d.lower()[:3] not in WEEKDAYS:
                raise _err(file, wwhere, f"weekday {d!r} is not one of {', '.join(WEEKDAYS)}")
            days.append(WEEKDAYS.index(d.lower()[:3]))
        hours = []
        for pair in w.get("hours", []):
            if (
                not isinstance(pair, list) or len(pair) != 2
                or not all(isinstance(h, int) and not isinstance(h, bool) for h in pair)
                or not 0 <= pair[0] < pair[1] <= 24
            ):
                raise _err(file, wwhere, f"hours {pair!r} must be [start, end] with 0 <= start < end <= 24 (UTC)")
            hours.append((pair[0], pair[1]))
        if not hours:
            raise _err(file, wwhere, "a window needs `hours = [[start, end], ...]` in UTC")
        for d in days:
            for a, b in hours:
                for h in range(a, b):
                    if (d, h) in taken:
                        raise _err(
                            file, wwhere,
                            f"overlaps window {taken[(d, h)]!r} on {WEEKDAYS[d]} at {h:02d}:00 UTC; "
                            "windows of a period must not overlap",
                        )
                    taken[(d, h)] = name
        windows.append(Window(name, frozenset(days), tuple(hours), _rates(w, file, wwhere)))
    return tuple(windows)


def _tiers(raw: Any, file: str, where: str) -> tuple[Tier, ...]:
    tiers: list[Tier] = []
    for i, t in enumerate(raw or []):
        twhere = f"{where} tier {i}"
        _check_keys(t, _TIER_KEYS, file, twhere)
        above = t.get("above_prompt_tokens")
        if not isinstance(above, int) or isinstance(above, bool) or above <= 0:
            raise _err(file, twhere, f"above_prompt_tokens must be a positive whole number, got {above!r}")
        if tiers and above <= tiers[-1].above_prompt_tokens:
            raise _err(
                file, twhere,
                f"above_prompt_tokens {above} must be larger than the previous tier's "
                f"{tiers[-1].above_prompt_tokens}; list tiers in ascending order",
            )
        tiers.append(Tier(above, _rates(t, file, twhere)))
    return tuple(tiers)


def _periods(raw: Any, currency: str, file: str, where: str) -> tuple[Period, ...]:
    if not raw:
        raise _err(file, where, "no price periods; add at least one [[models.periods]]")
    if not isinstance(raw, list):
        raise _err(file, where, "periods must be a list of [[models.periods]] tables")
    starts: list[datetime | None] = []
    parsed = []
    for i, p in enumerate(raw):
        pwhere = f"{where} period {i}"
        _check_keys(p, _PERIOD_KEYS, file, pwhere)
        if "effective_from" in p:
            start: datetime | None = _moment(p["effective_from"], file, pwhere)
        elif i == 0:
            start = None
        else:
            raise _err(file, pwhere, "missing effective_from; only the first period may omit it")
        for key in ("source", "checked"):
            if key not in p:
                raise _err(file, pwhere, f"missing {key!r}; every price names its source and when it was checked")
        if not isinstance(p["checked"], date) or isinstance(p["checked"], datetime):
            raise _err(file, pwhere, f"checked must be a date like 2026-11-28, got {p['checked']!r}")
        starts.append(start)
        parsed.append((p, start, pwhere))
    for i in range(1, len(starts)):
        prev, cur = starts[i - 1], starts[i]
        if prev is not None and cur is not None and cur <= prev:
            order = sorted(range(len(starts)), key=lambda k: starts[k] or datetime.min.replace(tzinfo=UTC))
            j = order.index(i)
            what = "starts on the same date as" if cur == prev else "starts before"
            raise _err(
                file, f"{where} period {i}",
                f"{what} period {i - 1} ({cur.isoformat()} vs {prev.isoformat()}); periods must be "
                f"listed oldest first without overlap: move period {i} -> {j}",
            )
    periods = []
    for i, (p, start, pwhere) in enumerate(parsed):
        end = starts[i + 1] if i + 1 < len(starts) else None
        periods.append(
            Period(
                effective_from=start,
                effective_to=end,
                rates=_rates(p, file, pwhere),
                currency=str(p.get("currency", currency)),
                source=str(p["source"]),
                checked=p["checked"],
                windows=_windows(p.get("windows"), file, pwhere),
                tiers=_tiers(p.get("tiers"), file, pwhere),
            )
        )
    return tuple(periods)


def _parse_file(path: Path, problems: list[CatalogProblem] | None = None) -> tuple[Route, list[ModelPrice]]:
    """A file's route and models; with `problems`, a bad model is added there and left out, not raised."""
    file = str(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    except tomllib.TOMLDecodeError as e:
        raise CatalogError(f"{file}: not valid TOML: {e}") from e
    except OSError as e:
        raise CatalogError(f"{file}: cannot read the catalog file: {e.strerror}") from e
    _check_keys(doc, {"route", "models"}, file, "top level")
    route_raw = doc.get("route")
    if not isinstance(route_raw, Mapping) or "provider" not in route_raw:
        raise _err(file, "[route]", "missing [route] table with `provider = \"...\"`")
    _check_keys(route_raw, _ROUTE_KEYS, file, "[route]")
    provider = str(route_raw["provider"]).strip().lower()
    currency = str(route_raw.get("currency", "USD"))
    factor = route_raw.get("factor")
    if factor is not None and (isinstance(factor, bool) or not isinstance(factor, (int, Decimal))):
        raise _err(file, "[route]", f"factor must be a number such as 0.8, got {factor!r}")
    listed = route_raw.get("upstream_listed")
    if listed is not None and (isinstance(listed, datetime) or not isinstance(listed, date)):
        raise _err(file, "[route]", f"upstream_listed must be a TOML date such as 2026-04-24, got {listed!r}")
    route = Route(
        provider=provider,
        name=str(route_raw.get("name", provider)),
        currency=currency,
        file=file,
        base_url=route_raw.get("base_url"),
        upstream=route_raw.get("upstream"),
        factor=None if factor is None else Decimal(factor),
        upstream_listed=listed,
    )
    raw_models = doc.get("models", [])
    if not isinstance(raw_models, list):
        raise _err(file, "models", "must be a list of [[models]] tables")
    models: list[ModelPrice] = []
    seen: dict[str, str] = {}
    for i, m in enumerate(raw_models):
        try:
            try:
                models.append(_parse_model(m, i, provider, currency, file, seen))
            except (TypeError, AttributeError, ValueError) as e:  # a value of another shape than the format's
                raise _err(file, f"model {i}", f"is not shaped as docs/catalog.md describes ({e})") from e
        except _EntryError as e:
            if problems is None:
                raise
            problems.append(e.problem)
    return route, models


def _parse_model(m: Any, i: int, provider: str, currency: str, file: str, seen: dict[str, str]) -> ModelPrice:
    mid = m.get("id") if isinstance(m, Mapping) else None
    where = f"model {provider}/{mid}" if isinstance(mid, str) and mid else f"model {i}"
    _check_keys(m, _MODEL_KEYS, file, where)
    if not isinstance(mid, str) or not mid.strip():
        raise _err(file, where, "missing `id = \"...\"`")
    aliases = m.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise _err(file, where, "aliases must be a list of strings")
    for name in (mid, *aliases):
        key = name.lower()
        if key in seen:
            if name == mid and seen[key] == mid:
                raise _err(file, where, f"duplicate model id {mid!r}; merge the two entries into one")
            raise _err(
                file, where,
                f"alias {name!r} is claimed by models {seen[key]!r} and {mid!r}; keep it on one of them",
            )
    periods = _periods(m.get("periods"), currency, file, where)
    for name in (mid, *aliases):  # only a model that loads claims its names
        seen[name.lower()] = mid
    return ModelPrice(provider=provider, id=mid, aliases=tuple(aliases), periods=periods, file=file)


def load_catalog(
    paths: Iterable[Path | str] | None = None,
    overlays: Iterable[Path | str] = (),
    *,
    skip_bad: bool = False,
) -> Catalog:
    """Load and validate catalog files (default: every `pricing/catalog/*.toml`).

    Overlay files (a local `data/prices.local.toml`, converted imports) are loaded after
    and may add routes and models, or replace a model's periods on an existing route.
    With `skip_bad`, an overlay model that breaks a rule (or an overlay file that cannot
    be read) is left out instead of raised: the rest applies, and each is listed in
    `Catalog.problems` and logged once as a warning. The shipped files are always strict.
    """
    files = sorted(CATALOG_DIR.glob("*.toml")) if paths is None else [Path(p) for p in paths]
    routes: dict[str, Route] = {}
    models: dict[tuple[str, str], ModelPrice] = {}
    for path in files:
        route, entries = _parse_file(path)
        if route.provider in routes:
            raise CatalogError(
                f"{path}: [route]: provider {route.provider!r} is already defined by "
                f"{routes[route.provider].file}; one file per provider"
            )
        routes[route.provider] = route
        for m in entries:
            models[(m.provider, m.id.lower())] = m
    problems: list[CatalogProblem] | None = [] if skip_bad else None
    overlay_files: set[str] = set()
    for path in overlays:
        path = Path(path)
        if not path.exists():
            continue
        overlay_files.add(str(path))
        try:
            route, entries = _parse_file(path, problems)
        except CatalogError as e:
            if problems is None:
                raise
            problems.append(CatalogProblem(str(path), "file", f"{e}; the whole file is left out until it is fixed"))
            continue
        routes.setdefault(route.provider, route)
        for m in entries:
            models[(m.provider, m.id.lower())] = m
    kept = _check_aliases(list(models.values()), problems, overlay_files)
    for problem in problems or ():
        _log.warning("price entry skipped: %s (the rest of the file applies)", problem)
    return Catalog(routes=routes, models=kept, problems=problems or [])


def _check_aliases(
    models: list[ModelPrice], problems: list[CatalogProblem] | None = None, overlay_files: set[str] | None = None
) -> list[ModelPrice]:
    """The models, raising on a name two models claim; with `problems`, an overlay model's claim is left out."""
    overlay_files = overlay_files or set()
    order = models if problems is None else sorted(models, key=lambda m: m.file in overlay_files)
    owner: dict[tuple[str, str], ModelPrice] = {}
    dropped: set[int] = set()
    for m in order:
        names = [(name, (m.provider, name.lower())) for name in (m.id, *m.aliases)]
        clash = next(((name, owner[key]) for name, key in names if owner.get(key) not in (None, m)), None)
        if clash is not None:
            name, other = clash
            message = (f"alias {name!r} is claimed by models {other.id!r} and {m.id!r} on provider "
                       f"{m.provider!r}; keep it on one of them")
            if problems is None or m.file not in overlay_files:
                raise CatalogError(f"{m.file}: model {m.id!r}: {message}")
            problems.append(CatalogProblem(m.file, f"model {m.provider}/{m.id}", message))
            dropped.add(id(m))
            continue
        for _, key in names:
            owner[key] = m
    return [m for m in models if id(m) not in dropped]
