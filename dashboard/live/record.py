"""Live calls as canonical request rows, and their insertion into the warehouse.

The warehouse is passed in (anything with `insert_requests(rows, source)`), so this module
does not open DuckDB itself. A failed call is not stored: the warehouse counts every row
as a billed request, and a failure would add a request of zero tokens to the request counts
and per-request averages. Its status and message stay in the CallResult the caller shows.
A call whose usage was not reported is stored with zero tokens (its cost stays unknown in
the result, where the reason is kept).

The row's texts come from a CallResult, which the client has already scrubbed of the key;
its request_id is the server's id unless that held the key (then a generated one).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from dashboard.errors import LiveCallError
from dashboard.live.client import CallResult

__all__ = ["SOURCE", "record_calls", "request_row"]

SOURCE = "live"


class RequestSink(Protocol):
    def insert_requests(self, rows: list[dict[str, Any]], source: str) -> tuple[int, int]: ...


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
    """Store the calls that succeeded as `source="live"` rows; returns (added, duplicates) from the
    warehouse. Failed calls are left out (see the module docstring)."""
    rows = [request_row(r, project) for r in results if r.ok]
    if not rows:
        return 0, 0
    return warehouse.insert_requests(rows, source=SOURCE)
