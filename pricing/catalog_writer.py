"""Catalog files written: a catalog document as TOML text, and catalog objects as documents.

The one writer of catalog files (tomllib only reads): the local overrides (pricing.overrides)
and LiteLLM's converted price map (pricing.litellm) both write through `to_toml`. A document
is plain dicts and lists in the catalog's format (docs/catalog.md); a `Commented` table
carries comment lines written under its header. Numbers are written as the exact decimals
they are, moments in UTC, strings as TOML basic strings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from pricing.catalog import OPTIONAL_RATES, REQUIRED_RATES, WEEKDAYS, Period, Rates
from pricing.errors import CatalogError

__all__ = ["Commented", "moment_doc", "period_doc", "rates_doc", "to_toml"]

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


class Commented(dict):  # type: ignore[type-arg]
    """A table written with comment lines under its header (each line without its `# `)."""

    def __init__(self, table: Mapping[str, Any], comments: Iterable[str] = ()) -> None:
        super().__init__(table)
        self.comments = list(comments)


def _string(text: str) -> str:
    # JSON string escapes are valid TOML basic-string escapes; TOML also wants DEL escaped.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _comment(line: str) -> str:
    """A comment's text on one line: a control character (a newline in a model's name) is escaped."""
    return "".join(c if c == "\t" or c.isprintable() else repr(c)[1:-1] for c in line)


def _key(name: str) -> str:
    return name if _BARE_KEY.match(name) else _string(name)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise CatalogError(f"cannot write the rate {value!r}; rates are finite numbers")
        text = format(value.normalize(), "f")
        return "0" if text == "-0" else text
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise CatalogError(f"the moment {value!r} has no time zone; give it one (UTC)")
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise CatalogError(f"cannot write {value!r} ({type(value).__name__}) to a catalog file")


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _emit(table: Mapping[str, Any], path: tuple[str, ...], out: list[str], array: bool = False) -> None:
    indent = "  " * max(0, len(path) - 2)  # windows and tiers indented, as in the shipped files
    if path:
        dotted = ".".join(_key(k) for k in path)
        out.append("")
        out.append(f"{indent}[[{dotted}]]" if array else f"{indent}[{dotted}]")
    out.extend(f"{indent}# {_comment(line)}" for line in getattr(table, "comments", ()))
    nested = []
    for key, value in table.items():
        if isinstance(value, dict) or _is_table_array(value):
            nested.append((key, value))
        else:
            out.append(f"{indent}{_key(key)} = {_value(value)}")
    for key, value in nested:
        if isinstance(value, dict):
            _emit(value, (*path, key), out)
        else:
            for item in value:
                _emit(item, (*path, key), out, array=True)


def to_toml(doc: Mapping[str, Any], header: str = "") -> str:
    """A catalog document (route, models, periods, windows, tiers) as TOML text, after `header`'s lines."""
    out: list[str] = []
    _emit(doc, (), out)
    return header + "\n".join(out).lstrip("\n") + "\n"


# ------------------------------------------------------------------ catalog objects -> documents


def moment_doc(moment: datetime) -> date | datetime:
    """A period start as written in a file: a date when it is 00:00 UTC, else the UTC moment."""
    moment = moment.astimezone(UTC)
    return moment.date() if moment.time() == time(0) else moment


def rates_doc(rates: Rates) -> dict[str, Any]:
    """The rates a file states: the required ones and the optional ones that are set."""
    doc: dict[str, Any] = {k: getattr(rates, k) for k in REQUIRED_RATES}
    doc |= {k: getattr(rates, k) for k in OPTIONAL_RATES if getattr(rates, k) is not None}
    return doc


def period_doc(period: Period, route_currency: str) -> dict[str, Any]:
    """A price period as a file writes it; its currency only where it differs from the route's."""
    doc: dict[str, Any] = {}
    if period.effective_from is not None:
        doc["effective_from"] = moment_doc(period.effective_from)
    doc["source"] = period.source
    doc["checked"] = period.checked
    if period.currency != route_currency:
        doc["currency"] = period.currency
    doc |= rates_doc(period.rates)
    if period.windows:
        doc["windows"] = [
            {"name": w.name, "weekdays": [WEEKDAYS[d] for d in sorted(w.weekdays)],
             "hours": [list(h) for h in w.hours], **rates_doc(w.rates)}
            for w in period.windows
        ]
    if period.tiers:
        doc["tiers"] = [{"above_prompt_tokens": t.above_prompt_tokens, **rates_doc(t.rates)} for t in period.tiers]
    return doc
