"""Live calls stored as canonical rows in a real warehouse file."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from support.fake_server import FAKE_KEY, FakeOpenAI

from dashboard.errors import LiveCallError
from dashboard.live import CallFailed, CallResult, ChatRequest, Endpoint, call_chat, record_calls, request_row
from dashboard.warehouse import Warehouse
from pricing import Catalog


def calls(fake: FakeOpenAI, catalog: Catalog) -> list[CallResult]:
    results = []
    with httpx.Client() as client:
        for mode, stream in [("orcost=0.0012", True), ("", False), ("status=401", False)]:
            ep = Endpoint(fake.base_url(mode), api_key=FAKE_KEY, provider="loopback")
            try:
                request = ChatRequest.from_prompt("fake-model", "a b c", stream=stream)
                results.append(call_chat(client, ep, request, catalog=catalog))
            except CallFailed as e:
                results.append(e.result)
    return results


def test_rows_are_canonical_and_hold_only_a_key_hint(fake: FakeOpenAI, catalog: Catalog) -> None:
    ok, _, failed = calls(fake, catalog)
    row = request_row(ok, project="probe")
    assert row["source"] == "live" and row["request_id"] == ok.request_id and row["ts"] == ok.started_at
    assert row["ts"].utcoffset().total_seconds() == 0
    assert (row["provider"], row["model"], row["project"]) == ("loopback", "fake-model", "probe")
    assert row["api_key"] == "7890"
    assert (row["user"], row["tags"], row["currency"]) == (None, None, "USD")
    assert (row["input_tokens"], row["cache_read_tokens"], row["output_tokens"]) == (3, 0, 5)
    assert row["billed_cost"] == Decimal("0.0012") and row["status"] == 200
    assert row["ttft_ms"] is not None and row["latency_ms"] >= row["ttft_ms"]
    with pytest.raises(LiveCallError, match="a failed call") as caught:
        request_row(failed)  # a failure is not a billed request (see record.py)
    assert FAKE_KEY not in repr(row) + str(caught.value)


@pytest.mark.slow
def test_record_calls_into_the_warehouse(fake: FakeOpenAI, catalog: Catalog, tmp_path: Path) -> None:
    results = calls(fake, catalog)
    path = tmp_path / "usage.duckdb"
    with Warehouse.open(path, catalog=catalog) as wh:
        assert record_calls(wh, results, project="p1") == (2, 0)  # the failed call is left out
        assert record_calls(wh, results) == (0, 2)  # the same calls again are duplicates
        rows = wh.query(
            "SELECT request_id, status, api_key, input_tokens, output_tokens, billed_cost, project "
            "FROM requests WHERE source = 'live' ORDER BY ts"
        ).fetchall()
    assert [(r[1], r[3], r[4]) for r in rows] == [("200", 3, 5), ("200", 3, 5)]
    assert {r[2] for r in rows} == {"…7890"} and {r[6] for r in rows} == {"p1"}
    assert rows[0][5] == Decimal("0.0012")
    assert FAKE_KEY.encode() not in path.read_bytes()


@pytest.mark.parametrize("results", [[]], ids=["nothing"])
def test_recording_nothing_touches_nothing(results: list[CallResult]) -> None:
    class Refuse:
        def insert_requests(self, rows: list[dict], source: str) -> tuple[int, int]:
            raise AssertionError("no rows, no insert")

    assert record_calls(Refuse(), results) == (0, 0)


@pytest.mark.slow
def test_every_call_is_logged_with_its_outcome_and_a_failed_one_is_no_request(
        fake: FakeOpenAI, catalog: Catalog, tmp_path: Path) -> None:
    results = calls(fake, catalog)  # two that succeed, one refused with 401
    path = tmp_path / "usage.duckdb"
    with Warehouse.open(path, catalog=catalog) as wh:
        assert record_calls(wh, results) == (2, 0)
        log = wh.query("SELECT status, ok, error_kind, model, request_id IS NULL FROM live_calls "
                       "ORDER BY called_at").fetchall()
        requests = wh.query(f"SELECT count(*) FROM ({wh.priced_sql()}) WHERE source = 'live'").fetchone()[0]
    assert [row[:2] for row in log] == [("200", True), ("200", True), ("401", False)]
    assert log[2][2] == "auth" and log[2][3] == "fake-model" and log[2][4]  # a failure has no request id
    assert requests == 2  # the failed call adds no request to spend, counts or averages
    assert FAKE_KEY.encode() not in path.read_bytes()
