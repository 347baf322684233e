"""Helpers shared by the format tests: sample paths, mapped rows, rejected rows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SAMPLES = Path(__file__).parent / "samples"

# The canonical columns the mapping tests compare, in this order.
MAPPED = (
    "ts", "provider", "upstream_provider", "model", "project", "api_key", "user", "tags",
    "input_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens",
    "output_tokens", "reasoning_tokens", "latency_ms", "ttft_ms", "status", "billed_cost",
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def mapped(wh: Any, source: str) -> dict[str, dict[str, Any]]:
    """request_id -> {canonical column: value} for every stored request of a source."""
    cols = ", ".join(f'"{c}"' for c in MAPPED)
    rows = wh.query(f"SELECT request_id, {cols} FROM requests WHERE source = ? ORDER BY ts", [source]).fetchall()
    return {r[0]: dict(zip(MAPPED, r[1:], strict=True)) for r in rows}


def rejected(wh: Any, import_id: int) -> list[tuple[int, str]]:
    return wh.query(
        "SELECT line, reason FROM rejected_rows WHERE import_id = ? ORDER BY line", [import_id]
    ).fetchall()


def write_lines(path: Path, lines: list[str], end: str = "\n") -> Path:
    path.write_text(end.join(lines) + end, encoding="utf-8")
    return path
