"""The preview's rows as they will be priced: route, model and computed cost, by the pricing engine."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd

from pricing import Catalog, PricingError, Usage, price_usage

_TOKENS = ("input_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens", "output_tokens",
           "reasoning_tokens")
SHOWN = ("ts", "provider", "model", *_TOKENS, "request_count", "billed_cost")


def priced_preview(columns: list[str], rows: list[tuple[Any, ...]],
                   catalog: Catalog) -> tuple[pd.DataFrame, list[str]]:
    """(the rows as text with a Route, Model and Computed (USD) column, why rows will be unpriced).

    A rejected row shows its reason instead of a cost. Costs are exact (Decimal, as text).
    """
    out, unpriced = [], {}
    for row in rows:
        r = dict(zip(columns, row, strict=True))
        cost, note = None, r.get("reason")
        if note is None:
            model, provider = r["model"], r.get("provider")
            entry = catalog.find(model, provider or None)
            if entry is None:
                note = f"no price for model {model!r} on route {provider or 'as in the catalog'!r}"
                unpriced[note] = unpriced.get(note, 0) + 1
            else:
                usage = Usage(**{k: int(r[k] or 0) for k in _TOKENS}, request_count=int(r.get("request_count") or 1))
                try:
                    cost = price_usage(entry, usage, r["ts"] if isinstance(r["ts"], datetime) else None).total_usd
                    r["provider"] = provider or f"{entry.provider} (as in the catalog)"
                except PricingError as e:
                    note = f"unpriced: {e}"
                    unpriced[note] = unpriced.get(note, 0) + 1
        shown = {"Route": r.get("provider"), "Model": r.get("model"),
                 "Computed (USD)": None if cost is None else str(cost), "Problem": note or ""}
        shown.update({k: None if r.get(k) is None else str(r[k]) for k in SHOWN if k not in ("provider", "model")})
        out.append(shown)
    notes = [f"{n:,} of the first {len(rows):,} rows will be unpriced: {why}" for why, n in unpriced.items()]
    return pd.DataFrame(out), notes
