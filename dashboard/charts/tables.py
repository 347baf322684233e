"""Tables for the pages: which columns to show, how to format them, and Parquet download bytes.

Downloads are built from the Decimal frame (exact money), display tables from a float copy.
CSV downloads are written by `dashboard.exports.to_csv`, the one CSV writer, which keeps
spreadsheets from running a cell as a formula.
"""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from dashboard.charts.format import drop_empty, to_float
from dashboard.warehouse.queries import BLANK_LABEL, DIMENSIONS

LATENCY = ["latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "ttft_p50_ms", "ttft_p95_ms"]
LABELS = {
    "requests": "Requests", "input_tokens": "Input tokens", "cache_read_tokens": "Cache read tokens",
    "cache_write_tokens": "Cache write tokens", "output_tokens": "Output tokens", "cost_usd": "Cost (USD)",
    "billed_usd": "Billed (USD)", "unpriced_requests": "Unpriced requests", "cache_hit_rate": "Cache hit rate",
    "latency_p50_ms": "Latency p50 (ms)", "latency_p95_ms": "Latency p95 (ms)",
    "latency_p99_ms": "Latency p99 (ms)", "ttft_p50_ms": "TTFT p50 (ms)", "ttft_p95_ms": "TTFT p95 (ms)",
    "input_usd": "Input cost (USD)", "cache_write_usd": "Cache write (USD)",
}


_UNITS = (("_per_mtok", " ($/1M)"), ("_usd", " (USD)"), ("_pct", " (%)"), ("_ms", " (ms)"))


def label(column: str) -> str:
    """A column's header in words: LABELS, else 'computed_usd' -> 'Computed (USD)', never a field name."""
    if column in LABELS:
        return LABELS[column]
    unit = ""
    for suffix, shown in _UNITS:
        if column.endswith(suffix):
            column, unit = column[: -len(suffix)], shown
            break
    words = column.replace("_", " ").replace("api key", "API key").strip()
    return words[:1].upper() + words[1:] + unit


def explore_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The group-by as shown: latency columns only where the logs have latency."""
    return drop_empty(frame, LATENCY)


def chart_metrics(frame: pd.DataFrame) -> list[str]:
    return [c for c in LABELS if c in frame.columns and c != "unpriced_requests"]


def display(frame: pd.DataFrame) -> pd.DataFrame:
    """A float copy for st.dataframe (sortable numbers); never for downloads."""
    out = to_float(frame)
    if "cache_hit_rate" in out.columns:
        out["cache_hit_rate"] = pd.to_numeric(out["cache_hit_rate"], errors="coerce")
    if "tags" in out.columns:
        out["tags"] = out["tags"].map(lambda t: ", ".join(t) if t else BLANK_LABEL)
    for c in out.columns:
        if c in DIMENSIONS and c not in ("day", "tags"):  # a group without a value
            out[c] = out[c].map(lambda v: BLANK_LABEL if v is None or v is pd.NA or v != v or v == "" else v)
    return out


def _number(label: str, fmt: str) -> dict[str, Any]:
    """st.column_config.NumberColumn as the plain dict it builds (keeps this module free of Streamlit)."""
    return {"label": label, "type_config": {"type": "number", "format": fmt}}


def column_config(frame: pd.DataFrame, money_format: str = "dollar") -> dict[str, Any]:
    """Labels and formats for st.dataframe: money in dollars, rates in percent, tokens with separators."""
    config: dict[str, Any] = {}
    for c in frame.columns:
        name = label(c)
        if c.endswith("_usd"):
            config[c] = _number(name, money_format)
        elif c == "cache_hit_rate":
            config[c] = _number(name, "percent")
        elif c.endswith(("_tokens", "requests")):
            config[c] = _number(name, "localized")
        elif c.endswith("_ms"):
            config[c] = _number(name, "%.0f")
        elif c.endswith("_per_mtok"):
            config[c] = _number(name, "%.4f")
        else:
            config[c] = {"label": name}
    return config


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    """Parquet with money as DECIMAL (pyarrow infers decimal128 from Decimal values)."""
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buf)
    return buf.getvalue()


STATEMENT_COLUMNS = [
    "requests", "input_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens", "output_tokens",
    "input_usd", "cache_read_usd", "cache_write_usd", "cache_write_1h_usd", "output_usd", "computed_usd",
    "billed_usd", "difference_usd", "difference_pct", "unpriced_requests", "explanation",
]
FLAG_STYLE = "background-color: rgba(245, 158, 11, 0.28)"  # amber, readable on light and dark


def statement_table(frame: pd.DataFrame) -> Any:
    """A statement breakdown for display: float copy, flagged lines highlighted (a pandas Styler)."""
    keys = [c for c in frame.columns if c not in STATEMENT_COLUMNS and c not in LABELS and not c.endswith(
        ("_usd", "_tokens", "_requests", "_pct")) and c not in ("flag", "dimension")]
    shown = display(frame[[*keys, *[c for c in STATEMENT_COLUMNS if c in frame.columns]]])
    if "difference_pct" in shown.columns:
        shown["difference_pct"] = pd.to_numeric(shown["difference_pct"].map(
            lambda v: None if v is None else float(v)), errors="coerce")
    flags = frame["flag"].tolist() if "flag" in frame.columns else [False] * len(frame)
    return shown.style.apply(lambda row: [FLAG_STYLE if flags[row.name] else ""] * len(row), axis=1)


def flagged_lines(lines: list[Any]) -> pd.DataFrame:
    """Statement lines whose billed and computed costs disagree, with the explanation (money as Decimal)."""
    return pd.DataFrame(
        [{"breakdown": line.dimension, "key": line.key or "(none)", "billed_usd": line.billed_usd,
          "computed_usd": line.computed_usd, "difference_usd": line.difference_usd,
          "explanation": line.explanation} for line in lines if line.flag],
        columns=["breakdown", "key", "billed_usd", "computed_usd", "difference_usd", "explanation"],
    )


RATE_BUCKETS = ("input", "output", "cache_read", "cache_write")


def catalog_frame(catalog: Any, at: Any = None) -> pd.DataFrame:
    """Every model of the catalog with the rates in force now (USD per 1M tokens, Decimal)."""
    from datetime import UTC, datetime

    moment = at or datetime.now(UTC)
    rows = []
    for m in catalog.models:
        period = next((p for p in m.periods if p.covers(moment)), m.periods[-1])
        rows.append({
            "provider": m.provider, "model": m.id,
            **{f"{b}_per_mtok": getattr(period.rates, b) for b in RATE_BUCKETS},
            "windows": ", ".join(w.name for w in period.windows), "tiers": len(period.tiers),
            "since": period.effective_from.date() if period.effective_from else None,
            "currency": period.currency, "source": period.source, "checked": period.checked,
            "aliases": ", ".join(m.aliases),
        })
    return pd.DataFrame(rows).sort_values(["provider", "model"], ignore_index=True)


def history_frame(rows: list[dict[str, Any]], now: Any = None) -> pd.DataFrame:
    """Price periods as step-chart points: columns effective_from, bucket, usd_per_mtok (Decimal).

    An open start is drawn from the first known date, an open end up to now.
    """
    from datetime import UTC, datetime

    points = []
    end = now or datetime.now(UTC)
    for row in rows:
        for b in RATE_BUCKETS:
            points.append({"effective_from": row["effective_from"], "bucket": b, "usd_per_mtok": row[b]})
    if rows:
        last = rows[-1]
        points += [{"effective_from": last["effective_to"] or end, "bucket": b, "usd_per_mtok": last[b]}
                   for b in RATE_BUCKETS]
    frame = pd.DataFrame(points, columns=["effective_from", "bucket", "usd_per_mtok"])
    first = frame["effective_from"].dropna().min() if len(frame) else None
    frame["effective_from"] = frame["effective_from"].fillna(first if first is not None else end)
    return frame
