"""Export builders: tables in, file bytes out (CSV, Excel, Parquet and a FOCUS-style CSV).

Money is exact in every format: CSV cells hold the Decimal as written (no exponent, no
rounding); Excel cells hold the Decimal's digits as a number (shown with 6 decimals; Excel
itself keeps 15 significant digits); Parquet columns of Decimals are decimal128(38, 12), or
a wider scale when a value (a percentage quotient) needs it.

Spreadsheet safety: model names, projects, tags and keys come from logs and may be
hostile (`=HYPERLINK("http://x","y")`). Every *text* cell, headers included, that starts
with `=`, `+`, `-`, `@`, a tab or a carriage return (or their full-width forms) gets a
leading `'` in CSV and Excel output, so no spreadsheet runs it as a formula. Numbers,
negative ones included, stay numbers.

A CSV too large to pass through Python cell by cell (the FOCUS file of a month) is written
by DuckDB's COPY, with each cell made by `CSV_SQL`: the same rules as `csv_cell`, written
as SQL from the same definitions (`FORMULA_PREFIXES`, `ISO_UTC`, `LINE_END`), so the two
writers give the same bytes for the same values.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from dashboard.errors import DashboardError
from pricing import money_str

if TYPE_CHECKING:  # only for the annotation: this module never imports the warehouse (nor duckdb)
    from dashboard.warehouse.statement import Statement

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
ISO_UTC = "%Y-%m-%dT%H:%M:%SZ"  # an aware moment in a CSV cell, in UTC (strftime and DuckDB's strftime alike)
LINE_END = "\r\n"
MONEY_FORMAT = "0.000000"
INT_FORMAT = "0"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
DATE_FORMAT = "yyyy-mm-dd"
MONEY_SCALE = 12


def neutralise(text: str) -> str:
    """A text cell a spreadsheet will not run as a formula: a leading `'` where it could."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def _plain(value: Any) -> Any:
    """Python scalars for numpy / pandas ones; None for every kind of missing value."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def decimal_text(value: Decimal) -> str:
    """A CSV's decimal cell: `money_str` without trailing zeros, as `CSV_SQL` writes it too."""
    return money_str(value, trailing_zeros=False)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


@functools.lru_cache(maxsize=4096)  # the period columns repeat the same few moments on every line
def _iso_or_naive(value: datetime) -> str:
    return _iso(value) if value.tzinfo else value.isoformat()


# Exact-type fast paths: exports write millions of cells, most of them str, Decimal or int.
_FAST_CELLS: dict[type, Any] = {
    str: neutralise,
    Decimal: lambda v: decimal_text(v),
    int: repr,
    bool: lambda v: "true" if v else "false",
    datetime: _iso_or_naive,
    date: date.isoformat,
    type(None): lambda v: "",
}


def csv_cell(value: Any) -> str:
    """The text of one CSV cell for `value`: exact money, ISO times, text neutralised (CSV_SQL, the same in SQL)."""
    fast = _FAST_CELLS.get(type(value))
    if fast is not None:
        return fast(value)
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, datetime):
        return _iso(value) if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return neutralise(_text(value))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(ISO_UTC)


def csv_bytes(header: Iterable[Any], rows: Iterable[Iterable[Any]], *, bom: bool) -> bytes:
    """The one CSV writer: a header and rows of csv_cell texts in UTF-8, a byte-order mark first if `bom`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=LINE_END)
    writer.writerow([csv_cell(h) for h in header])
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return ("\ufeff" if bom else "").encode() + buffer.getvalue().encode("utf-8")


def to_csv(df: pd.DataFrame, bom: bool = True) -> bytes:
    """UTF-8 CSV of a frame (with a BOM by default, so Excel reads the `…` of key hints right)."""
    return csv_bytes(df.columns, df.itertuples(index=False, name=None), bom=bom)


# ------------------------------------------------------------------ the same cells, as SQL


def _sql_string(text: str) -> str:
    """A SQL string of any characters, spelled with chr() so no character needs quoting."""
    return " || ".join(f"chr({ord(c)})" for c in text) or "''"


def neutralise_sql(expr: str) -> str:
    """`neutralise` as a DuckDB expression over the VARCHAR expression `expr`, from `FORMULA_PREFIXES`.

    A one-character prefix is told by its code point: DuckDB plans an IN list of strings as a
    join, which costs more than the cell itself."""
    codes = ", ".join(str(ord(p)) for p in FORMULA_PREFIXES if len(p) == 1)
    starts = [f"list_contains([{codes}], unicode({expr}))"] if codes else []
    starts += [f"starts_with({expr}, {_sql_string(p)})" for p in FORMULA_PREFIXES if len(p) > 1]
    return f"(CASE WHEN {' OR '.join(starts) or 'false'} THEN '''' || {expr} ELSE {expr} END)"


def decimal_text_sql(expr: str) -> str:
    """`decimal_text` as a DuckDB expression over the DECIMAL expression `expr`: exact digits, no trailing zeros."""
    text = f"CAST({expr} AS VARCHAR)"
    # One regular expression strips the zeros and the point they leave, as the two rstrips do.
    return rf"(CASE WHEN contains({text}, '.') THEN regexp_replace({text}, '\.?0+$', '') ELSE {text} END)"


CELL_KINDS = ("text", "decimal", "integer", "boolean", "timestamptz", "date")


@dataclass(frozen=True)
class CsvSql:
    """The cells `csv_bytes` writes, as DuckDB SQL: for a CSV the warehouse writes itself with COPY.

    `cell(kind, expr)` is the text `csv_cell` makes of a value of that kind (the column's
    SQL type: VARCHAR is text, DECIMAL decimal, any integer type integer, and so on), NULL
    where the cell stays empty: a COPY writes an empty VARCHAR as `""`, `csv_bytes` writes nothing.
    Fields are separated by commas, quoted with `"` where needed, rows end with `line_end`.
    """

    line_end: str = LINE_END

    def header(self, name: str) -> str:
        return neutralise(name)

    def cell(self, kind: str, expr: str) -> str:
        if kind == "text":
            text = neutralise_sql(expr)
        elif kind == "decimal":
            text = decimal_text_sql(expr)
        elif kind == "integer":
            text = f"CAST({expr} AS VARCHAR)"
        elif kind == "boolean":
            text = f"(CASE {expr} WHEN true THEN 'true' WHEN false THEN 'false' END)"
        elif kind == "timestamptz":
            # The UTC wall clock by arithmetic (microseconds since the epoch), not through a time zone lookup.
            text = f"strftime(make_timestamp(epoch_us({expr})), {_sql_string(ISO_UTC)})"
        elif kind == "date":
            text = f"strftime({expr}, '%Y-%m-%d')"
        else:
            raise DashboardError(f"no CSV cell for values of kind {kind!r}; kinds: {', '.join(CELL_KINDS)}")
        return f"nullif({text}, '')"


CSV_SQL = CsvSql()


# ------------------------------------------------------------------ Excel

_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def _sheet_title(name: str, taken: set[str]) -> str:
    title = _SHEET_FORBIDDEN.sub("_", str(name)).strip("'")[:31] or "Sheet"
    base, n = title, 2
    while title.lower() in taken:
        suffix = f" ({n})"
        title, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(title.lower())
    return title


def _write_xlsx_cell(ws: Any, row: int, col: int, value: Any) -> None:
    value = _plain(value)
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)  # Excel has no time zones: UTC, said in the header
    if value is None or isinstance(value, (bool, int, float, Decimal, datetime, date)):
        cell = ws.cell(row=row, column=col, value=value)
        if isinstance(value, Decimal):
            cell.number_format = MONEY_FORMAT
        elif isinstance(value, int) and not isinstance(value, bool):
            cell.number_format = INT_FORMAT
        elif isinstance(value, datetime):
            cell.number_format = DATETIME_FORMAT
        elif isinstance(value, date):
            cell.number_format = DATE_FORMAT
        return
    # Text: control characters Excel rejects become U+FFFD; a formula start gets its quote.
    text = neutralise(ILLEGAL_CHARACTERS_RE.sub("\ufffd", _text(value)))
    cell = ws.cell(row=row, column=col, value=text)
    cell.data_type = "s"  # never a formula, whatever openpyxl guesses


def to_xlsx(sheets: Mapping[str, pd.DataFrame]) -> bytes:
    """An .xlsx workbook with one sheet per frame. Times are written in UTC (Excel has no zones)."""
    wb = Workbook()
    wb.remove(wb.active)
    taken: set[str] = set()
    for name, df in sheets.items():
        ws = wb.create_sheet(_sheet_title(name, taken))
        for col, header in enumerate(df.columns, start=1):
            _write_xlsx_cell(ws, 1, col, str(header))
            ws.cell(row=1, column=col).font = Font(bold=True)
        for r, values in enumerate(df.itertuples(index=False, name=None), start=2):
            for col, value in enumerate(values, start=1):
                _write_xlsx_cell(ws, r, col, value)
        ws.freeze_panes = "A2"
    if not wb.sheetnames:
        wb.create_sheet("Sheet")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# ------------------------------------------------------------------ Parquet


def _decimal_type(name: str, values: list[Decimal]) -> pa.DataType:
    scale = MONEY_SCALE
    digits = 1
    for v in values:
        _, ds, exponent = v.as_tuple()
        if not isinstance(exponent, int):
            raise DashboardError(f"column {name!r} holds {v!r}, which is not a number; cannot export it")
        scale = max(scale, -exponent)
        digits = max(digits, len(ds) + exponent)  # digits before the point
    if scale + digits > 38:
        raise DashboardError(
            f"column {name!r} needs {digits} digits before and {scale} after the point, more than "
            "Parquet's 38-digit decimals hold exactly; export it as CSV instead"
        )
    return pa.decimal128(38, scale)


def _arrow_column(name: str, series: pd.Series) -> pa.Array:
    values = [_plain(v) for v in series.tolist()]
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, Decimal) for v in present):
        return pa.array(values, type=_decimal_type(name, present))
    if series.dtype != object:
        return pa.Array.from_pandas(series)
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # Mixed kinds in one column (text and numbers): keep every value, as text.
        return pa.array([None if v is None else _text(v) for v in values], type=pa.string())


def to_parquet(df: pd.DataFrame) -> bytes:
    """Parquet bytes; Decimal columns as decimal128(38, 12) (wider scale only when a value needs it)."""
    columns = {str(name): _arrow_column(str(name), df[name]) for name in df.columns}
    out = io.BytesIO()
    pq.write_table(pa.table(columns), out)
    return out.getvalue()


# ------------------------------------------------------------------ statement workbook


TOTAL_LABEL = "Total"


def statement_csv(st: Statement) -> bytes:
    """The statement by model as CSV, closed by a total row: provider `Total`, no model, the
    statement's total line (its money is the sum of the lines above, to the last digit)."""
    models = st.frame("model")
    total = st.frame("total").assign(provider=TOTAL_LABEL, model=None)
    columns = ["provider", "model", *(c for c in total.columns if c not in ("provider", "model"))]
    if models.empty:  # concat with an empty frame would turn the total's counts into floats
        return to_csv(total[columns])
    return to_csv(pd.concat([models[columns], total[columns]], ignore_index=True))


def statement_sheets(st: Statement) -> dict[str, pd.DataFrame]:
    """The statement as sheets: Summary, Models, Providers, Projects, Keys, Days (for `to_xlsx`)."""
    return {
        "Summary": st.frame("total").assign(month=st.month, timezone=st.timezone),
        "Models": st.frame("model"),
        "Providers": st.frame("provider"),
        "Projects": st.frame("project"),
        "Keys": st.frame("api_key"),
        "Days": st.frame("day"),
    }


# ------------------------------------------------------------------ FOCUS

FOCUS_COLUMNS = (
    "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodEnd",
    "BillingPeriodStart", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargeFrequency",
    "ChargePeriodEnd", "ChargePeriodStart", "ConsumedQuantity", "ConsumedUnit", "ContractedCost",
    "ContractedUnitPrice", "EffectiveCost", "InvoiceIssuerName", "ListCost", "ListUnitPrice", "PricingCategory",
    "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName", "ResourceId", "ResourceName",
    "ResourceType", "ServiceCategory", "ServiceName", "SkuId", "SubAccountId", "SubAccountName", "Tags",
)
X_COLUMNS = (
    "x_Bucket", "x_Provider", "x_Model", "x_Project", "x_ApiKeyHint", "x_InputTokens", "x_CacheReadTokens",
    "x_CacheWriteTokens", "x_CacheWrite1hTokens", "x_OutputTokens", "x_ReasoningTokens", "x_Unpriced",
)
_BUCKET_LABEL = {
    "input": "input", "cache_read": "cache read", "cache_write": "cache write (5 min)",
    "cache_write_1h": "cache write (1 h)", "output": "output (without reasoning)", "reasoning": "reasoning",
}
_TOKEN_X = {
    "input": ("x_InputTokens",), "cache_read": ("x_CacheReadTokens",), "cache_write": ("x_CacheWriteTokens",),
    "cache_write_1h": ("x_CacheWrite1hTokens",), "output": ("x_OutputTokens",),
    "reasoning": ("x_OutputTokens", "x_ReasoningTokens"),
}


def focus_row(line: Mapping[str, Any]) -> dict[str, Any]:
    """One FOCUS row from one line of `statement.focus_lines` (see `focus_csv` for the mapping)."""
    bucket = line["bucket"]
    usage = bucket in _BUCKET_LABEL
    provider_name = line["provider_name"] or ""
    key, project = line["api_key"], line["project"]
    tokens = line["tokens"]
    cost = line["cost_usd"]
    if usage:
        description = f"{line['model']} {_BUCKET_LABEL[bucket]} tokens on {provider_name}"
    else:
        description = (
            f"billed minus computed cost of {line.get('billed_requests', 0)} requests "
            f"of {line['model']} on {provider_name} with a billed cost"
        )
    row: dict[str, Any] = {
        "BilledCost": line["billed_usd"],
        "BillingAccountId": line["provider"],
        "BillingAccountName": provider_name,
        "BillingCurrency": line["currency"],
        "BillingPeriodEnd": line["billing_period_end"],
        "BillingPeriodStart": line["billing_period_start"],
        "ChargeCategory": "Usage" if usage else "Adjustment",
        "ChargeClass": None,
        "ChargeDescription": description,
        "ChargeFrequency": "Usage-Based",
        "ChargePeriodEnd": line["charge_period_end"],
        "ChargePeriodStart": line["charge_period_start"],
        "ConsumedQuantity": tokens,
        "ConsumedUnit": "Tokens" if usage else None,
        "ContractedCost": cost,
        "ContractedUnitPrice": line["unit_price_per_mtok"],
        "EffectiveCost": cost,
        "InvoiceIssuerName": provider_name,
        "ListCost": cost,
        "ListUnitPrice": line["unit_price_per_mtok"],
        "PricingCategory": "Standard" if usage else None,
        "PricingQuantity": Decimal(tokens).scaleb(-6) if usage else None,
        "PricingUnit": "1M Tokens" if usage else None,
        "ProviderName": provider_name,
        "PublisherName": line["publisher_name"],
        "ResourceId": key,
        "ResourceName": key,
        "ResourceType": "API Key" if key else None,
        "ServiceCategory": "AI and Machine Learning",
        "ServiceName": f"{provider_name} API",
        "SkuId": f"{line['provider']}/{line['model']}/{bucket}",
        "SubAccountId": project if project is not None else key,
        "SubAccountName": project if project is not None else key,
        # Our tags are labels without values: FOCUS writes a valueless tag as `true`.
        "Tags": json.dumps({t: True for t in line["tags"]}, ensure_ascii=False, sort_keys=True),
        "x_Bucket": bucket,
        "x_Provider": line["provider"],
        "x_Model": line["model"],
        "x_Project": project,
        "x_ApiKeyHint": key,
        "x_Unpriced": line["unpriced"],
    }
    for name in ("x_InputTokens", "x_CacheReadTokens", "x_CacheWriteTokens", "x_CacheWrite1hTokens",
                 "x_OutputTokens", "x_ReasoningTokens"):
        row[name] = tokens if usage and name in _TOKEN_X[bucket] else 0
    return row


def focus_csv(lines: Iterable[Mapping[str, Any]]) -> bytes:
    """A FOCUS-style CSV (UTF-8, no BOM) from `dashboard.warehouse.statement.focus_lines(...)`.

    Grain: one Usage row per day (in the billing zone) x provider x model x project x API
    key x tag set x token bucket x unit price, so ListUnitPrice x PricingQuantity = ListCost
    exactly; plus one Adjustment row per group whose logs carry a billed cost that differs
    from the computed one. Buckets are disjoint (output is split into output without
    reasoning and reasoning), so ConsumedQuantity sums to all tokens once.

    Totals: EffectiveCost (= ListCost = the computed cost) sums to the statement's
    `computed_usd`; BilledCost sums to its `charged_usd`, the billed cost where the logs
    have it and the computed cost otherwise. The `x_*Tokens` columns sum to the statement's
    token totals (x_OutputTokens includes reasoning, as the statement's output does).

    Deviations from FOCUS, on purpose: a model without a price has empty cost cells (not 0)
    and `x_Unpriced = true`; times are UTC as FOCUS asks, the day boundaries are the billing zone's.
    """
    rows = [focus_row(line) for line in lines]
    header = (*FOCUS_COLUMNS, *X_COLUMNS)
    return csv_bytes(header, ([row[c] for c in header] for row in rows), bom=False)
