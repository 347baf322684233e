"""Exports: hostile text neutralised in CSV and Excel, numbers kept numeric, exact money, FOCUS totals."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dashboard.exports import (
    FOCUS_COLUMNS,
    X_COLUMNS,
    decimal_text,
    focus_csv,
    neutralise,
    statement_csv,
    statement_sheets,
    to_csv,
    to_parquet,
    to_xlsx,
)
from dashboard.warehouse import Warehouse
from dashboard.warehouse.statement import focus_lines, statement
from pricing import load_catalog

M = 1_000_000
HOSTILE = [
    pytest.param('=HYPERLINK("http://x","y")', id="equals"),
    pytest.param("+1+1", id="plus"),
    pytest.param("-2+3", id="minus"),
    pytest.param("@SUM(A1:A2)", id="at"),
    pytest.param("\t=1+1", id="tab"),
    pytest.param("\r=1+1", id="carriage-return"),
    pytest.param("\uff1d1+1", id="full-width-equals"),
    pytest.param("\uff0b1+1", id="full-width-plus"),
    pytest.param("\uff0d2+3", id="full-width-minus"),
    pytest.param("\uff20SUM(A1:A2)", id="full-width-at"),
]
SAFE = [pytest.param("gpt-4o", id="model"), pytest.param("a=b", id="inner-equals"), pytest.param("", id="empty")]


def _parse_csv(data: bytes, encoding: str = "utf-8") -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode(encoding), newline="")))


def _xlsx_sheet(data: bytes, name: str | None = None):
    wb = openpyxl.load_workbook(io.BytesIO(data))
    return wb[name] if name else wb.worksheets[0]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_neutralised_in_csv(text):
    frame = pd.DataFrame({"model": [text], text: ["x"]})
    header, row = _parse_csv(to_csv(frame), "utf-8-sig")
    assert row[0] == "'" + text
    assert header[1] == "'" + text  # headers are text too


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_neutralised_in_xlsx(text):
    ws = _xlsx_sheet(to_xlsx({"Models": pd.DataFrame({"model": [text]})}))
    cell = ws["A2"]
    assert cell.data_type == "s"
    # XML turns a carriage return into a line feed when read; the quote is what matters.
    assert cell.value == "'" + text.replace("\r", "\n")


@pytest.mark.parametrize("text", SAFE)
def test_plain_text_is_left_alone(text):
    assert neutralise(text) == text
    _, row = _parse_csv(to_csv(pd.DataFrame({"model": [text]})), "utf-8-sig")
    assert row == [text]


def test_numbers_stay_numbers():
    frame = pd.DataFrame({
        "cost": [Decimal("-0.020000000000"), Decimal("0.000784000000")],
        "tokens": [-5, 7],
        "share": [-1.5, 0.25],
        "day": [date(2026, 11, 1), date(2026, 11, 2)],
        "note": ["-0.02", None],
    })
    _, first, second = _parse_csv(to_csv(frame, bom=False))
    assert first == ["-0.02", "-5", "-1.5", "2026-11-01", "'-0.02"]  # the text "-0.02" is text
    assert second == ["0.000784", "7", "0.25", "2026-11-02", ""]

    ws = _xlsx_sheet(to_xlsx({"s": frame}))
    assert [c.data_type for c in ws[2]][:3] == ["n", "n", "n"]
    assert (ws["A2"].value, ws["B2"].value, ws["C2"].value) == (-0.02, -5, -1.5)
    assert ws["A3"].value == 0.000784 and ws["A3"].number_format == "0.000000"
    assert ws["E2"].value == "'-0.02" and ws["E3"].value is None
    assert ws["D2"].value == datetime(2026, 11, 1)


def test_xlsx_money_cells_carry_the_exact_decimal_digits():
    data = to_xlsx({"s": pd.DataFrame({"cost": [Decimal("0.002387500000")]})})
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<v>0.002387500000</v>" in xml or "<v>0.0023875</v>" in xml


def test_xlsx_sheet_names_and_times():
    frames = {
        "a/b:c*?": pd.DataFrame({"at": [datetime(2026, 11, 1, 0, 30, tzinfo=UTC)]}),
        "A/B:C*?": pd.DataFrame({"x\x01y": ["bell\x07"]}),
        "x" * 40: pd.DataFrame(),
    }
    wb = openpyxl.load_workbook(io.BytesIO(to_xlsx(frames)))
    assert wb.sheetnames == ["a_b_c__", "A_B_C__ (2)", "x" * 31]
    assert wb["a_b_c__"]["A2"].value == datetime(2026, 11, 1, 0, 30)  # UTC, zone dropped
    assert wb["A_B_C__ (2)"]["A1"].value == "x\ufffdy" and wb["A_B_C__ (2)"]["A2"].value == "bell\ufffd"


def test_parquet_decimals_are_exact():
    frame = pd.DataFrame({
        "model": ["a", "b"],
        "cost_usd": [Decimal("0.000784000000"), None],
        "pct": [Decimal(1) / Decimal(3) * 100, Decimal("0")],
        "tokens": [10, 20],
    })
    table = pq.read_table(io.BytesIO(to_parquet(frame)))
    assert table.schema.field("cost_usd").type == pa.decimal128(38, 12)
    assert table.column("cost_usd").to_pylist() == [Decimal("0.000784"), None]
    assert table.column("pct").to_pylist()[0] == Decimal(1) / Decimal(3) * 100
    assert table.schema.field("tokens").type == pa.int64()
    assert table.column("model").to_pylist() == ["a", "b"]


# ------------------------------------------------------------------ a warehouse with hostile names

CATALOG = """
[route]
provider = "acme"
name = "Acme AI"
currency = "USD"

[[models]]
id = "small"

[[models.periods]]
source = "test"
checked = 2026-01-01
input = 0.5
output = 2
cache_read = 0.05
cache_write = 0.625
reasoning = 3
"""
EVIL = '=HYPERLINK("http://x","y")'


@pytest.fixture
def wh(tmp_path: Path):
    path = tmp_path / "acme.toml"
    path.write_text(CATALOG, encoding="utf-8")
    warehouse = Warehouse.open(tmp_path / "usage.duckdb", catalog=load_catalog(paths=[path]))

    def row(rid, ts, model, project, key, billed=None, tags=(), **tokens):
        return {"source": "t", "request_id": rid, "ts": ts, "provider": "acme", "model": model,
                "project": project, "api_key": key, "billed_cost": billed, "tags": list(tags), **tokens}

    warehouse.insert_requests([
        row("1", datetime(2026, 11, 2, 9, tzinfo=UTC), "small", EVIL, "@x+1", Decimal("0.01"), ("-rm", "team"),
            input_tokens=3000, cache_read_tokens=1000, output_tokens=900, reasoning_tokens=100),
        row("2", datetime(2026, 11, 2, 10, tzinfo=UTC), "small", "web", "sk-abcd9876",
            input_tokens=7000, cache_write_tokens=2000, output_tokens=10),
        row("3", datetime(2026, 11, 3, 11, tzinfo=UTC), EVIL, "web", "sk-abcd9876", Decimal("0.5"),
            input_tokens=50, output_tokens=5),
    ])
    yield warehouse
    warehouse.close()


def _focus(wh) -> tuple[list[dict[str, str]], object]:
    st = statement(wh, "2026-11", "UTC")
    rows = list(csv.DictReader(io.StringIO(focus_csv(focus_lines(wh, "2026-11", "UTC")).decode(), newline="")))
    return rows, st


def _dec(text: str) -> Decimal:
    return Decimal(text) if text else Decimal(0)


def test_focus_columns_and_totals(wh):
    rows, st = _focus(wh)
    assert tuple(rows[0]) == (*FOCUS_COLUMNS, *X_COLUMNS)
    for column in ("BilledCost", "EffectiveCost", "ListCost", "BillingCurrency", "ChargePeriodStart", "ConsumedQuantity",
                   "PricingUnit", "ServiceCategory", "SkuId", "SubAccountId", "Tags", "x_InputTokens", "x_Model"):
        assert column in rows[0]
    assert sum(_dec(r["BilledCost"]) for r in rows) == st.total.charged_usd
    assert sum(_dec(r["EffectiveCost"]) for r in rows) == st.total.computed_usd
    assert sum(int(r["x_InputTokens"]) for r in rows) == st.total.input_tokens == 3000 + 7000 + 50
    assert sum(int(r["x_OutputTokens"]) for r in rows) == st.total.output_tokens
    assert sum(int(r["x_ReasoningTokens"]) for r in rows) == st.total.reasoning_tokens == 100
    assert sum(int(r["x_CacheWriteTokens"]) for r in rows) == st.total.cache_write_tokens == 2000
    # Computed, written as arithmetic: request 1 is billed, request 2 is not, request 3 has no price.
    computed_1 = 3000 * Decimal("0.5") / M + 1000 * Decimal("0.05") / M + 800 * Decimal(2) / M + 100 * Decimal(3) / M
    computed_2 = 7000 * Decimal("0.5") / M + 2000 * Decimal("0.625") / M + 10 * Decimal(2) / M
    assert st.total.computed_usd == computed_1 + computed_2
    assert st.total.charged_usd == Decimal("0.01") + computed_2 + Decimal("0.5")


def test_focus_rows_are_consistent(wh):
    rows, _ = _focus(wh)
    usage = [r for r in rows if r["ChargeCategory"] == "Usage"]
    adjustments = [r for r in rows if r["ChargeCategory"] == "Adjustment"]
    assert {r["ServiceCategory"] for r in rows} == {"AI and Machine Learning"}
    assert {r["ConsumedUnit"] for r in usage} == {"Tokens"} and {r["PricingUnit"] for r in usage} == {"1M Tokens"}
    for r in usage:
        assert Decimal(r["PricingQuantity"]) * M == Decimal(r["ConsumedQuantity"])
        if r["x_Unpriced"] == "false":
            assert Decimal(r["ListUnitPrice"]) * Decimal(r["PricingQuantity"]) == Decimal(r["ListCost"])
        else:
            assert r["BilledCost"] == r["EffectiveCost"] == r["ListUnitPrice"] == ""  # unknown, never 0
    assert {r["x_Bucket"] for r in adjustments} == {"billed_difference"}
    assert rows[0]["ChargePeriodStart"] == "2026-11-02T00:00:00Z" and rows[0]["BillingPeriodEnd"] == "2026-12-01T00:00:00Z"
    assert {r["ProviderName"] for r in rows} == {"Acme AI"}
    reasoning = next(r for r in usage if r["x_Bucket"] == "reasoning")
    assert (reasoning["ListUnitPrice"], reasoning["ConsumedQuantity"], reasoning["SkuId"]) == ("3", "100",
                                                                                             "acme/small/reasoning")


def test_focus_hostile_values_are_neutralised(wh):
    rows, _ = _focus(wh)
    evil_project = [r for r in rows if r["x_Project"] == "'" + EVIL]
    assert evil_project and all(r["SubAccountId"] == "'" + EVIL for r in evil_project)
    assert all(r["ResourceId"] == "…@x+1" for r in evil_project)  # the hint's leading … keeps even this key inert
    assert all(r["Tags"] == '{"-rm": true, "team": true}' for r in evil_project)
    evil_model = [r for r in rows if r["x_Model"] == "'" + EVIL]
    assert evil_model and all(r["x_Unpriced"] == "true" for r in evil_model)
    assert all(r["SkuId"].startswith("acme/") for r in evil_model)


@pytest.mark.slow
def test_statement_workbook(wh):
    st = statement(wh, "2026-11", "UTC")
    wb = openpyxl.load_workbook(io.BytesIO(to_xlsx(statement_sheets(st))))
    assert wb.sheetnames == ["Summary", "Models", "Providers", "Projects", "Keys", "Days"]
    projects = {row[0].value: row for row in wb["Projects"].iter_rows(min_row=2)}
    assert "'" + EVIL in projects
    header = [c.value for c in wb["Models"][1]]
    models = {row[header.index("model")].value: row for row in wb["Models"].iter_rows(min_row=2)}
    assert models["'" + EVIL][header.index("computed_usd")].value is None
    assert models["small"][header.index("computed_usd")].data_type == "n"


@pytest.mark.slow
def test_exports_load_neither_duckdb_nor_streamlit():
    code = "import sys, dashboard.exports; print(sorted({'duckdb', 'streamlit'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parents[2])
    assert result.stdout.strip() == "[]"


# ------------------------------------------------------------------ the statement CSV's total row

_MONEY = ("input_usd", "cache_read_usd", "cache_write_usd", "cache_write_1h_usd", "output_usd", "computed_usd",
          "billed_usd", "charged_usd", "comparable_billed_usd", "comparable_computed_usd", "difference_usd")
_COUNTS = ("requests", "input_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens",
           "output_tokens", "reasoning_tokens", "billed_requests", "unpriced_requests")


def test_statement_csv_ends_with_the_statement_total(wh):
    st = statement(wh, "2026-11", "UTC")
    header, *rows = _parse_csv(statement_csv(st), "utf-8-sig")
    *lines, total = [dict(zip(header, row, strict=True)) for row in rows]
    assert (total["provider"], total["model"]) == ("Total", "")
    assert len(lines) == len(st.by_model) == 2 and all(line["model"] for line in lines)
    for column in _MONEY:
        expected = getattr(st.total, column)
        assert total[column] == ("" if expected is None else decimal_text(expected)), column
        known = [Decimal(line[column]) for line in lines if line[column]]
        assert (sum(known) if known else None) == expected, column
    for column in _COUNTS:
        assert int(total[column]) == sum(int(line[column]) for line in lines) == getattr(st.total, column), column
    # The figures written as arithmetic: request 1 billed, request 2 not, request 3 unpriced and billed.
    computed = (3000 * Decimal("0.5") + 1000 * Decimal("0.05") + 800 * Decimal(2) + 100 * Decimal(3)
                + 7000 * Decimal("0.5") + 2000 * Decimal("0.625") + 10 * Decimal(2)) / M
    assert Decimal(total["computed_usd"]) == computed
    assert Decimal(total["billed_usd"]) == Decimal("0.01") + Decimal("0.5")


def test_statement_csv_of_an_empty_month_is_a_zero_total(new_db):
    with Warehouse.open(new_db("empty.duckdb")) as empty:
        header, *rows = _parse_csv(statement_csv(statement(empty, "2026-11", "UTC")), "utf-8-sig")
    assert len(rows) == 1 and rows[0][:3] == ["Total", "", "0"]  # counts stay integers, money stays empty
    assert rows[0][header.index("computed_usd")] == ""


def test_decimal_text_keeps_every_digit():
    # normalize() rounds to the context's 28 digits; a DECIMAL(38, 12) sum can hold 38.
    assert decimal_text(Decimal("12345678901234567.123456789012")) == "12345678901234567.123456789012"
    assert decimal_text(Decimal("-1234567890123456789012345.100000000000")) == "-1234567890123456789012345.1"
    assert [decimal_text(Decimal(v)) for v in ("0E-12", "1E+2", "0.000001", "-0.020")] == ["0", "100", "0.000001",
                                                                                            "-0.02"]
