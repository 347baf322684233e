"""The Live calls page's runs: one call, a cache probe, a sample run, a comparison, each with its
own HTTP client. A failed call comes back as its recorded result, not an exception."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import httpx

from dashboard.live.client import CallFailed, CallResult, ChatRequest, Endpoint, call_chat
from dashboard.live.experiments import (
    CacheProbe,
    Comparison,
    Progress,
    SampleReport,
    Target,
    cache_probe,
    compare,
    sample_run,
)
from pricing import Catalog


def run_single(endpoint: Endpoint, request: ChatRequest, catalog: Catalog | None = None) -> CallResult:
    """One call; a failure comes back as its recorded result (its `.error` says what happened)."""
    with httpx.Client() as client:
        try:
            return call_chat(client, endpoint, request, catalog=catalog)
        except CallFailed as e:
            return e.result


def run_probe(
    endpoint: Endpoint,
    request: ChatRequest,
    prefix: str,
    n: int,
    on_progress: Progress | None = None,
    catalog: Catalog | None = None,
) -> CacheProbe:
    with httpx.Client() as client:
        return cache_probe(client, endpoint, request, prefix, n=n, on_progress=on_progress, catalog=catalog)


def run_sample(
    endpoint: Endpoint,
    request: ChatRequest,
    n: int,
    concurrency: int,
    requests_per_day: int | None,
    on_progress: Progress | None = None,
    catalog: Catalog | None = None,
) -> SampleReport:
    async def go() -> SampleReport:
        async with httpx.AsyncClient() as client:
            return await sample_run(
                client, endpoint, request, n=n, concurrency=concurrency, on_progress=on_progress,
                requests_per_day=requests_per_day, catalog=catalog,
            )

    return asyncio.run(go())


def run_compare(
    targets: Sequence[Target],
    request: ChatRequest,
    n: int,
    requests_per_day: int | None,
    on_progress: Progress | None = None,
    catalog: Catalog | None = None,
) -> list[Comparison]:
    async def go() -> list[Comparison]:
        async with httpx.AsyncClient() as client:
            return await compare(
                client, targets, request, n=n, on_progress=on_progress, requests_per_day=requests_per_day,
                catalog=catalog,
            )

    return asyncio.run(go())
