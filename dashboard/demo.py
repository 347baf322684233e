"""Realistic generated traffic for a first start and for benchmarks.

Several routes (OurToken's deepseek-v4-flash first), projects and keys; weekly seasonality
and growth; a cache hit rate that improves over time; DeepSeek's own list with its price
change inside the window when the window covers it; a few requests on a model without a
price; billed cost on the OurToken route equal to the computed cost except on a few days,
so the statement has something to reconcile. Deterministic for a seed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa

from dashboard.warehouse import Warehouse
from pricing.sql import priced_requests_sql

DEMO_SOURCE = "demo"

# (provider, model, share of requests, mean prompt tokens, mean output tokens, reasoning share)
ROUTES = [
    ("ourtoken", "deepseek-v4-flash", 0.46, 6000, 450, 0.2),
    ("deepseek", "deepseek-v4-flash", 0.14, 9000, 600, 0.3),
    ("openai", "gpt-4o-mini", 0.16, 2500, 300, 0.0),
    ("openai", "gpt-4.1", 0.08, 4000, 500, 0.0),
    ("anthropic", "claude-sonnet-4-5", 0.10, 12000, 800, 0.0),
    ("google", "gemini-2.5-flash", 0.058, 3000, 400, 0.25),
    ("acme", "acme-llm-experimental", 0.002, 1500, 200, 0.0),
]
PROJECTS = ["checkout-assistant", "support-bot", "code-review", "search-summaries", "internal-tools"]
KEYS = ["sk-demo-prod-7f3a", "sk-demo-prod-91bc", "sk-demo-staging-2d4e", "sk-demo-batch-c0de"]
USERS = [f"user-{i:03d}" for i in range(40)]
TAGS = [["prod"], ["prod", "eu"], ["staging"], ["batch"], []]


def generate(days: int = 120, seed: int = 7, end: datetime | None = None, requests_per_day: int = 800,
             catalog_models: set[tuple[str, str]] | None = None) -> pa.Table:
    """An Arrow table of demo requests covering `days` days up to `end` (default: now)."""
    rng = np.random.default_rng(seed)
    end = (end or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days)
    day_idx = np.arange(days)
    weekday = np.array([(start + timedelta(days=int(d))).weekday() for d in day_idx])
    season = np.where(weekday >= 5, 0.55, 1.0)
    growth = 1.0 + 1.2 * day_idx / max(days - 1, 1)
    per_day = rng.poisson(requests_per_day * season * growth)
    n = int(per_day.sum())
    day_of = np.repeat(day_idx, per_day)
    # Office hours in UTC+1 peak; a smooth daily curve.
    hour = (rng.normal(11, 4, n).round().astype(int)) % 24
    seconds = rng.integers(0, 3600, n)
    ts = (np.datetime64(start.replace(tzinfo=None), "s") + day_of.astype("timedelta64[D]")
          + hour.astype("timedelta64[h]") + seconds.astype("timedelta64[s]"))
    routes = [r for r in ROUTES if catalog_models is None or (r[0], r[1]) in catalog_models or r[0] == "acme"]
    shares = np.array([r[2] for r in routes])
    route = rng.choice(len(routes), n, p=shares / shares.sum())
    mean_prompt = np.array([r[3] for r in routes])[route]
    mean_out = np.array([r[4] for r in routes])[route]
    prompt = np.maximum(1, rng.lognormal(np.log(mean_prompt) - 0.5, 1.0)).astype(np.int64)
    output = np.maximum(1, rng.lognormal(np.log(mean_out) - 0.3, 0.8)).astype(np.int64)
    reasoning = (output * np.array([r[5] for r in routes])[route] * rng.uniform(0.5, 1.5, n)).astype(np.int64)
    reasoning = np.minimum(reasoning, output)
    # Cache hit rate climbs from ~25% to ~65% of prompt tokens as prompts get restructured.
    hit = np.clip(0.25 + 0.4 * day_of / max(days - 1, 1) + rng.normal(0, 0.15, n), 0, 0.95)
    is_anthropic = np.array([r[0] == "anthropic" for r in routes])[route]
    cache_read = (prompt * hit).astype(np.int64)
    cache_write = np.where(is_anthropic, ((prompt - cache_read) * 0.3).astype(np.int64), 0)
    input_tokens = prompt - cache_read - cache_write
    latency = rng.lognormal(np.log(900 + output * 8.0), 0.35)
    ttft = latency * rng.uniform(0.08, 0.3, n)
    status = np.where(rng.random(n) < 0.012, "429", "200")
    project = rng.choice(len(PROJECTS), n, p=[0.3, 0.25, 0.2, 0.15, 0.1])
    key = rng.choice(len(KEYS), n, p=[0.45, 0.3, 0.15, 0.1])
    tag_idx = rng.choice(len(TAGS), n)
    return pa.table({
        "source": pa.array([DEMO_SOURCE] * n),
        "request_id": pa.array([f"demo-{seed}-{i:09d}" for i in range(n)]),
        "ts": pa.array(ts.astype("datetime64[us]"), pa.timestamp("us", tz="UTC")),
        "provider": pa.array([routes[i][0] for i in route]),
        "upstream_provider": pa.array([None] * n, pa.string()),
        "model": pa.array([routes[i][1] for i in route]),
        "project": pa.array([PROJECTS[i] for i in project]),
        "api_key": pa.array(["…" + KEYS[i][-4:] for i in key]),
        "user": pa.array(rng.choice(USERS, n)),
        "tags": pa.array([TAGS[i] for i in tag_idx], pa.list_(pa.string())),
        "input_tokens": pa.array(input_tokens),
        "cache_read_tokens": pa.array(cache_read),
        "cache_write_tokens": pa.array(cache_write),
        "cache_write_1h_tokens": pa.array(np.zeros(n, np.int64)),
        "output_tokens": pa.array(output),
        "reasoning_tokens": pa.array(reasoning),
        "latency_ms": pa.array(latency.round(1)),
        "ttft_ms": pa.array(ttft.round(1)),
        "status": pa.array(status),
        "billed_cost": pa.array([None] * n, pa.string()),
        "currency": pa.array(["USD"] * n),
        "import_id": pa.array([None] * n, pa.int64()),
        "request_count": pa.array(np.ones(n, np.int64)),
        "span_s": pa.array([None] * n, pa.int32()),  # each row is one request at its moment
    })


def fill(wh: Warehouse, days: int = 120, seed: int = 7, end: datetime | None = None,
         requests_per_day: int = 800) -> int:
    """Insert demo traffic, bill the OurToken route as computed (off by 3% on a few days), flag it."""
    models = {(m.provider, m.id) for m in wh.catalog.models}
    added = wh.insert_table(generate(days, seed, end, requests_per_day, models))
    # The live view, not the priced cache: this write would leave a cache built for it stale at once.
    wh.query(
        f"""
        UPDATE request_rows AS r SET billed_cost = p.cost * CASE
                WHEN (epoch_ms(r.ts) // 86400000) % 23 = 5 THEN 1.03 ELSE 1 END
        FROM ({priced_requests_sql()}) AS p
        WHERE r.origin_id IN (SELECT origin_id FROM origins WHERE source = '{DEMO_SOURCE}')
          AND p.source = '{DEMO_SOURCE}' AND p.request_id = r.request_id AND r.provider = 'ourtoken'
        """
    )
    wh.query("INSERT OR REPLACE INTO settings VALUES ('demo_data', 'true')")
    return added


def has_demo(wh: Warehouse) -> bool:
    row = wh.query("SELECT value FROM settings WHERE key = 'demo_data'").fetchone()
    return bool(row and row[0] == "true")


def clear(wh: Warehouse) -> int:
    """Remove the demo rows (and only them); returns how many."""
    n = wh.query("SELECT count(*) FROM requests WHERE source = ?", [DEMO_SOURCE]).fetchone()[0]
    for table in ("request_rows", "request_rows_lean"):
        wh.query(f"DELETE FROM {table} WHERE origin_id IN (SELECT origin_id FROM origins WHERE source = ?)",
                 [DEMO_SOURCE])
    wh.query("DELETE FROM origins WHERE source = ?", [DEMO_SOURCE])
    wh.query("DELETE FROM settings WHERE key = 'demo_data'")
    return n
