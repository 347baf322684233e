"""A small hand-made warehouse: a few hundred requests over recent days, known models and one unpriced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from dashboard.warehouse import Warehouse
from support.paths import REPO

APP = str(REPO / "dashboard" / "app.py")  # the entry point AppTest runs

MODELS = [("openai", "gpt-4o-mini"), ("deepseek", "deepseek-v4-flash"), ("anthropic", "claude-sonnet-4-5"),
          ("acme", "acme-unpriced")]
PROJECTS = ["alpha", "beta", "gamma"]
KEYS = ["sk-test-aaaa1111", "sk-test-bbbb2222"]


def rows(n: int = 300, now: datetime | None = None) -> list[dict]:
    now = (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
    out = []
    for i in range(n):
        provider, model = MODELS[i % len(MODELS)] if i % 50 else MODELS[3]
        if (provider, model) == MODELS[3] and i % 50:
            provider, model = MODELS[i % 3]
        out.append({
            "source": "fixture",
            "request_id": f"r{i:04d}",
            "ts": now - timedelta(hours=3 * i + 1),
            "provider": provider,
            "model": model,
            "project": PROJECTS[i % 3],
            "api_key": KEYS[i % 2],
            "user": f"u{i % 5}",
            "tags": ["prod"] if i % 4 else ["prod", "eu"],
            "input_tokens": 1000 + 37 * i,
            "cache_read_tokens": (500 + 11 * i) if i % 3 else 0,
            "cache_write_tokens": 200 if provider == "anthropic" else 0,
            "cache_write_1h_tokens": 300 if provider == "anthropic" and i % 2 else 0,
            "output_tokens": 100 + 5 * i,
            "reasoning_tokens": 0,
            "latency_ms": 400.0 + i,
            "ttft_ms": 50.0 + i % 40,
            "status": "200",
            "billed_cost": Decimal("0.001") * (i % 7) if provider == "deepseek" else None,
            "currency": "USD",
        })
    return out


def build(path: Path, n: int = 300) -> Path:
    with Warehouse.open(path) as wh:
        wh.insert_requests(rows(n))
    return path
