"""Live calls as canonical request rows, and their insertion into the warehouse.

The warehouse is passed in (anything with `insert_requests(rows, source)`), so this module
does not open DuckDB itself. Every call is logged with its outcome (`live_calls`); only a call
that succeeded is a request: the warehouse counts every request row as billed, and a failure
would add a request of zero tokens to the request counts and per-request averages.
A call whose usage was not reported is stored with zero tokens (its cost stays unknown in
the result, where the reason is kept).

The row's texts come from a CallResult, which the client has already scrubbed of the key;
its request_id is the server's id unless that held the key (then a generated one).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from dashboard.errors import LiveCallError, id_without_key, mask_secrets, mask_value
from dashboard.live.client import CallResult

__all__ = ["SOURCE", "call_row", "record_calls", "request_row"]

SOURCE = "live"


class RequestSink(Protocol):
    def insert_requests(self, rows: list[dict[str, Any]], source: str) -> tuple[int, int]: ...

    def log_calls(self, rows: list[dict[str, Any]]) -> int: ...


def call_row(result: CallResult) -> dict[str, Any]:
    """A call's outcome for the warehouse's log of live calls: the client scrubbed the key it
    sent from every text; any other key, typed into a field or echoed by the server, is cut to
    its hint here, as the request rows' texts are (rows.MASKED_TEXT)."""
    return {
        "called_at": result.started_at,
        "base_url": mask_secrets(result.base_url),
        "provider": mask_value(result.provider),
        "model": mask_value(result.model),
        "status": str(result.status),
        "ok": result.ok,
        "error_kind": result.error_kind,
        "error": mask_secrets(result.error),
        "attempts": result.attempts,
        "latency_ms": result.latency_ms,
        "request_id": id_without_key(result.request_id) if result.ok else None,
    }


def request_row(result: CallResult, project: str | None = None) -> dict[str, Any]:
    if not result.ok:
        raise LiveCallError(f"a failed call ({result.status}) is not a request to store: {result.error}")
    u = result.usage
    provider = result.provider or (result.cost.provider if result.cost else None) or "unknown"
    return {
        "source": SOURCE,
        "request_id": result.request_id,
        "ts": result.started_at,
        "provider": provider,
        "model": result.model,
        "project": project,
        "api_key": result.key_hint,  # the last 4 characters only
        "user": None,
        "tags": None,
        "input_tokens": u.input_tokens if u else 0,
        "cache_read_tokens": u.cache_read_tokens if u else 0,
        "cache_write_tokens": u.cache_write_tokens if u else 0,
        "cache_write_1h_tokens": u.cache_write_1h_tokens if u else 0,
        "output_tokens": u.output_tokens if u else 0,
        "reasoning_tokens": u.reasoning_tokens if u else 0,
        "latency_ms": result.latency_ms,
        "ttft_ms": result.ttft_ms,
        "status": result.status,
        "billed_cost": u.billed_cost if u else None,  # OpenRouter's usage.cost
        "currency": result.cost.currency if result.cost else "USD",
    }


def record_calls(
    warehouse: RequestSink, results: Iterable[CallResult], project: str | None = None
) -> tuple[int, int]:
    """Log every call with its outcome, and store the calls that succeeded as `source="live"` rows;
    returns (added, duplicates) from the warehouse. A failed call is logged, not a request (see the
    module docstring)."""
    results = list(results)
    if results:
        warehouse.log_calls([call_row(r) for r in results])
    rows = [request_row(r, project) for r in results if r.ok]
    if not rows:
        return 0, 0
    return warehouse.insert_requests(rows, source=SOURCE)
