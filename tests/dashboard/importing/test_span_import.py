"""Rows that cover a span, from an export: a date alone is a day in --tz, an end time ends the
span; the month's report and statement say how much of the cost is approximate."""

import json
import subprocess
import sys
from decimal import Decimal

import pytest
from support.paths import REPO

from dashboard.ingest import import_file
from dashboard.ingest.base import Options
from dashboard.ingest.formats.generic import canonical_field
from dashboard.warehouse import Warehouse
from dashboard.warehouse.queries import month_report
from dashboard.warehouse.statement import statement

DAILY = ("date,model,provider,requests,input_tokens,output_tokens,cost\n"
         "2026-08-24,deepseek-v4-flash,deepseek,10,1000000,1000000,1.2\n"  # a Monday: peak hours inside
         "2026-08-29,deepseek-v4-flash,deepseek,10,1000000,1000000,0.9\n")  # a Saturday: one price all day


def spans(wh):
    return wh.query("SELECT strftime(ts, '%Y-%m-%dT%H:%M'), span_s FROM requests ORDER BY ts").fetchall()


@pytest.mark.slow
def test_a_date_alone_is_a_day_from_midnight_in_the_zone(new_db, tmp_path):
    path = tmp_path / "daily.csv"
    path.write_text(DAILY, encoding="utf-8")
    with Warehouse.open(new_db("utc.duckdb")) as wh:
        assert import_file(wh, path).added == 2
        assert spans(wh) == [("2026-08-24T00:00", 86_400), ("2026-08-29T00:00", 86_400)]
    with Warehouse.open(new_db("berlin.duckdb")) as wh:
        assert import_file(wh, path, options=Options(tz="Europe/Berlin")).added == 2
        assert spans(wh) == [("2026-08-23T22:00", 86_400), ("2026-08-28T22:00", 86_400)]
    # The day the clocks go back in Berlin lasts 25 hours.
    path.write_text("date,model,provider,input_tokens,output_tokens\n2026-10-25,deepseek-v4-flash,deepseek,1,1\n",
                    encoding="utf-8")
    with Warehouse.open(new_db("dst.duckdb")) as wh:
        assert import_file(wh, path, options=Options(tz="Europe/Berlin")).added == 1
        assert spans(wh) == [("2026-10-24T22:00", 25 * 3600)]


@pytest.mark.slow
def test_an_end_time_ends_the_span_and_a_bad_one_is_a_rejected_row(new_db, tmp_path):
    path = tmp_path / "buckets.csv"
    path.write_text(
        "start_time,end_time,model,provider,input_tokens,output_tokens\n"
        "2026-04-26T12:00:00Z,2026-04-26T13:00:00Z,deepseek-v4-flash,deepseek,10,0\n"
        "1777208400,1777212000,deepseek-v4-flash,deepseek,10,0\n"  # epoch seconds, as OpenAI's usage buckets
        "2026-04-26T14:00:00Z,2026-04-26T14:00:00Z,deepseek-v4-flash,deepseek,10,0\n"  # no length: a moment
        "2026-04-26T13:00:00Z,2026-04-26T12:00:00Z,deepseek-v4-flash,deepseek,10,0\n"
        "2026-04-26T13:00:00Z,soon,deepseek-v4-flash,deepseek,10,0\n"
        "2026-01-01T00:00:00Z,2027-06-01T00:00:00Z,deepseek-v4-flash,deepseek,10,0\n",
        encoding="utf-8")
    with Warehouse.open(new_db("w.duckdb")) as wh:
        result = import_file(wh, path)
        assert (result.added, result.rejected) == (3, 3)
        assert spans(wh) == [("2026-04-26T12:00", 3600), ("2026-04-26T13:00", 3600), ("2026-04-26T14:00", None)]
        reasons = [r[0] for r in wh.query("SELECT reason FROM rejected_rows ORDER BY line").fetchall()]
        assert reasons == [
            "end time 2026-04-26T12:00:00Z is before the time 2026-04-26T13:00:00Z",
            "unparsable end time: soon",
            "the row spans more than 366 days, from 2026-01-01T00:00:00Z to 2027-06-01T00:00:00Z",
        ]


def test_the_end_time_is_a_map_target_and_the_list_of_targets_names_it():
    assert canonical_field("end_time") == canonical_field("ts_end") == "ts_end"
    with pytest.raises(ValueError, match="ts_end"):
        canonical_field("finish")


@pytest.fixture
def daily(tmp_path):
    path = tmp_path / "daily.csv"
    path.write_text(DAILY, encoding="utf-8")
    db = tmp_path / "w.duckdb"
    with Warehouse.open(db) as wh:
        import_file(wh, path)
    return db


# The Monday at (7 x 0.44 + 17 x 0.22) / 24 -> 0.284167 input and (7 x 1.32 + 17 x 0.66) / 24 = 0.8525
# output per 1M; the Saturday off-peak all day, exactly 0.22 + 0.66.
MONDAY = Decimal("0.284167") + Decimal("0.8525")
SATURDAY = Decimal("0.22") + Decimal("0.66")


@pytest.mark.slow
def test_the_report_and_the_statement_say_how_much_is_approximate(daily):
    with Warehouse.open(daily) as wh:
        report = month_report(wh, "2026-08", by="day")
        st = statement(wh, "2026-08")
    assert report.total_usd == MONDAY + SATURDAY and report.approximate_usd == MONDAY
    assert [(r["key"], r["approximate_usd"]) for r in report.rows] == [("2026-08-24", MONDAY),
                                                                       ("2026-08-29", Decimal(0))]
    assert (st.total.computed_usd, st.total.approximate_usd) == (MONDAY + SATURDAY, MONDAY)
    # The billed cost in the export is what is charged, beside the computed one.
    assert st.total.billed_usd == st.total.charged_usd == Decimal("2.1")
    assert [line.approximate_usd for line in st.days] == [MONDAY, Decimal(0)]


@pytest.mark.slow
def test_report_json_adds_approximate_usd_at_the_top_and_per_row(daily):
    out = subprocess.run([sys.executable, "-m", "dashboard", "report", "--db", str(daily), "--month", "2026-08",
                          "--json"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert Decimal(data["approximate_usd"]) == MONDAY
    assert [Decimal(r["approximate_usd"]) for r in data["rows"]] == [MONDAY]  # one model
    text = subprocess.run([sys.executable, "-m", "dashboard", "report", "--db", str(daily), "--month", "2026-08"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert "1.14 is approximate" in text.stdout
