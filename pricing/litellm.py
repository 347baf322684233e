"""Convert LiteLLM's `model_prices_and_context_window.json` into catalog files.

LiteLLM publishes USD per *token* as JSON floats (`2.5e-06`); the catalog wants USD per
1M tokens with at most 6 decimals (docs/catalog.md). Each number goes through its shortest
decimal form, `Decimal(str(x))`, and is multiplied by 1,000,000 exactly. A value that still
has more than 6 decimals after that (float noise such as `2.9999900000000002e-06`) is
rounded half-even to 6 places, and the rounding is recorded in the report and as a comment
above the model in the generated file.

What maps to what:

- `litellm_provider` -> the route; a key `"<provider>/<id>"` becomes id `<id>` on it.
- `input_cost_per_token`, `output_cost_per_token` -> `input`, `output` (both required).
- `cache_read_input_token_cost` -> `cache_read`; `cache_creation_input_token_cost` ->
  `cache_write`; `cache_creation_input_token_cost_above_1hr` -> `cache_write_1h`. A missing
  cache rate is billed at the input rate: a cheaper guess would hide cost.
- `output_cost_per_reasoning_token` -> `reasoning`.
- `<rate>_above_<N>k_tokens` -> a context tier above N x 1000 prompt tokens; a rate the tier
  does not name keeps its base value (a cache rate billed as input follows the tier's input).

Entries that are not chat, completion or responses models, that lack an input or output
price, and LiteLLM's `sample_spec` are skipped, each with a reason. Within a provider the
first entry for an id wins; a later one with the same prices becomes an alias, one with other
prices is skipped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from pricing.catalog import RATE_KEYS
from pricing.catalog_writer import Commented, to_toml

__all__ = ["Conversion", "Skipped", "convert_litellm", "convert_litellm_report"]

CHAT_MODES = frozenset({"chat", "completion", "responses"})
PER_MILLION = Decimal(1_000_000)
SIX_PLACES = Decimal("0.000001")
_PROVIDER_RE = re.compile(r"[a-z0-9][a-z0-9_.-]*")
_TIER_RE = re.compile(
    r"(input_cost_per_token|output_cost_per_token|cache_read_input_token_cost"
    r"|cache_creation_input_token_cost|cache_creation_input_token_cost_above_1hr)_above_(\d+)k_tokens"
)
_FIELDS = {  # LiteLLM base field -> catalog rate
    "input_cost_per_token": "input",
    "output_cost_per_token": "output",
    "cache_read_input_token_cost": "cache_read",
    "cache_creation_input_token_cost": "cache_write",
    "cache_creation_input_token_cost_above_1hr": "cache_write_1h",
    "output_cost_per_reasoning_token": "reasoning",
}


@dataclass(frozen=True)
class Skipped:
    """A LiteLLM entry left out of the conversion, and why."""

    key: str
    reason: str


@dataclass
class Conversion:
    """{provider: TOML text}, the entries skipped, and every rate that had to be rounded."""

    files: dict[str, str]
    skipped: list[Skipped] = field(default_factory=list)
    rounded: list[str] = field(default_factory=list)


class _BadRate(ValueError):
    pass


@dataclass
class _Model:
    key: str
    id: str
    rates: dict[str, Decimal]
    tiers: list[tuple[int, dict[str, Decimal]]]
    notes: list[str]
    aliases: list[str] = field(default_factory=list)

    def prices(self) -> tuple[Any, ...]:
        return (sorted(self.rates.items()), [(n, sorted(r.items())) for n, r in self.tiers])


def _per_million(value: Any, field_name: str) -> tuple[Decimal, str | None]:
    """USD per token -> USD per 1M tokens, exact; rounded to 6 places only when it must be."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _BadRate(f"{field_name} must be a number, got {value!r}")
    try:
        per_token = Decimal(str(value))
    except InvalidOperation as e:
        raise _BadRate(f"{field_name} is not a number: {value!r}") from e
    if not per_token.is_finite() or per_token < 0:
        raise _BadRate(f"{field_name} must be a finite number >= 0, got {value!r}")
    rate = per_token * PER_MILLION
    exponent = rate.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -6:
        rounded = rate.quantize(SIX_PLACES, rounding=ROUND_HALF_EVEN)
        return rounded, f"{field_name} {value!r} is {_fmt(rate)} per 1M tokens, rounded to {_fmt(rounded)}"
    return rate, None


def _fmt(rate: Decimal) -> str:
    text = format(rate.normalize(), "f")
    return "0" if text in ("-0", "0") else text


_Tiers = list[tuple[int, dict[str, Decimal]]]


def _rates(entry: Mapping[str, Any], key: str) -> tuple[dict[str, Decimal], _Tiers, list[str]]:
    notes: list[str] = []

    def convert(name: str) -> Decimal:
        rate, note = _per_million(entry[name], name)
        if note:
            notes.append(f"{key}: {note}")
        return rate

    rates = {target: convert(name) for name, target in _FIELDS.items() if entry.get(name) is not None}
    # a cache rate LiteLLM does not give is billed as plain input (never as free)
    as_input = [k for k in ("cache_read", "cache_write") if k not in rates]
    for k in as_input:
        rates[k] = rates["input"]

    by_threshold: dict[int, dict[str, Decimal]] = {}
    for name, value in entry.items():
        match = _TIER_RE.fullmatch(name)
        if match is None or value is None:
            continue
        base, thousands = match.groups()
        by_threshold.setdefault(int(thousands) * 1000, {})[_FIELDS[base]] = convert(name)
    tiers = []
    for threshold in sorted(by_threshold):
        named = by_threshold[threshold]
        if "input" not in named and "output" not in named:
            continue  # a cache-only step is not a context tier the catalog can express alone
        tier = {k: v for k, v in rates.items() if k != "reasoning"}
        tier.update(named)
        for k in as_input:
            if k not in named:
                tier[k] = tier["input"]
        tiers.append((threshold, tier))
    return rates, tiers, notes


def _model_id(key: str, provider: str) -> str:
    prefix = provider + "/"
    return key[len(prefix) :] if key.lower().startswith(prefix) else key


HEADER = (
    "# Converted from LiteLLM's model_prices_and_context_window.json.\n"
    "# Rates are USD per 1M tokens; see docs/catalog.md for the format.\n"
)


def _ordered(rates: Mapping[str, Decimal]) -> dict[str, Decimal]:
    return {k: rates[k] for k in RATE_KEYS if k in rates}


def _render(provider: str, models: list[_Model], checked: date, source: str) -> str:
    entries = []
    for m in models:
        period: dict[str, Any] = {"source": f"{source} ({m.key})", "checked": checked, **_ordered(m.rates)}
        if m.tiers:
            period["tiers"] = [{"above_prompt_tokens": n, **_ordered(tier)} for n, tier in m.tiers]
        entry: dict[str, Any] = {"id": m.id}
        if m.aliases:
            entry["aliases"] = m.aliases
        entry["periods"] = [period]
        entries.append(Commented(entry, (f"rounded: {note}" for note in m.notes)))
    doc = {"route": {"provider": provider, "name": provider, "currency": "USD"}, "models": entries}
    return to_toml(doc, HEADER)


def convert_litellm_report(data: Mapping[str, Any], *, checked: date, source: str) -> Conversion:
    """Convert LiteLLM's price map and say what was skipped or rounded, and why."""
    if not isinstance(data, Mapping):
        raise TypeError(f"expected LiteLLM's JSON object of models, got {type(data).__name__}")
    skipped: list[Skipped] = []
    rounded: list[str] = []
    by_provider: dict[str, list[_Model]] = {}
    claimed: dict[tuple[str, str], _Model] = {}  # (provider, lower-case name) -> model

    for key, entry in data.items():
        if key == "sample_spec":
            skipped.append(Skipped(key, "LiteLLM's schema example, not a model"))
            continue
        if not isinstance(entry, Mapping):
            skipped.append(Skipped(key, f"entry is a {type(entry).__name__}, not an object"))
            continue
        mode = entry.get("mode")
        if mode not in CHAT_MODES:
            skipped.append(Skipped(key, f"mode {mode!r} is not chat, completion or responses"))
            continue
        provider = str(entry.get("litellm_provider") or "").strip().lower()
        if not _PROVIDER_RE.fullmatch(provider):
            raw = entry.get("litellm_provider")
            skipped.append(Skipped(key, f"litellm_provider {raw!r} is not a usable route name"))
            continue
        missing = [f for f in ("input_cost_per_token", "output_cost_per_token") if entry.get(f) is None]
        if missing:
            skipped.append(Skipped(key, f"no {' or '.join(missing)}"))
            continue
        try:
            rates, tiers, notes = _rates(entry, key)
        except _BadRate as e:
            skipped.append(Skipped(key, str(e)))
            continue
        model = _Model(key=key, id=_model_id(key, provider), rates=rates, tiers=tiers, notes=notes)
        if not model.id.strip():
            skipped.append(Skipped(key, "empty model id after removing the provider prefix"))
            continue

        first = claimed.get((provider, model.id.lower()))
        if first is not None:
            if first.prices() != model.prices():
                skipped.append(
                    Skipped(
                        key, f"id {model.id!r} on {provider!r} is already priced differently by {first.key!r}"
                    )
                )
            elif (provider, key.lower()) not in claimed:
                first.aliases.append(key)
                claimed[(provider, key.lower())] = first
            continue
        claimed[(provider, model.id.lower())] = model
        if key.lower() != model.id.lower() and (provider, key.lower()) not in claimed:
            model.aliases.append(key)
            claimed[(provider, key.lower())] = model
        rounded.extend(notes)
        by_provider.setdefault(provider, []).append(model)

    files = {p: _render(p, models, checked, source) for p, models in sorted(by_provider.items())}
    return Conversion(files=files, skipped=skipped, rounded=rounded)


def convert_litellm(data: Mapping[str, Any], *, checked: date, source: str) -> dict[str, str]:
    """{provider: TOML text of a catalog file}; see `convert_litellm_report` for what was skipped."""
    return convert_litellm_report(data, checked=checked, source=source).files
