"""`python -m dashboard call`: live calls to an OpenAI-compatible endpoint, measured, priced, recorded.

The key is read from an environment variable (never a flag, which would show in the
process list and the shell history): the one named by --api-key-env, else the variable of the
preset whose base URL this is (OURTOKEN_API_KEY for https://api.ourtoken.ai/v1), which is
sent to that preset's URL only. The route used for cost comes from --provider, else from a
preset matching the base URL, else from the catalog by model. Everything printed is
scrubbed of the key first.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import io
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

import httpx

from dashboard.access import is_loopback
from dashboard.charts.format import usd
from dashboard.errors import LiveCallError
from dashboard.live import (
    DEFAULT_BASE_URL,
    DEFAULT_KEY_ENV,
    CallResult,
    ChatRequest,
    Endpoint,
    SampleReport,
    check_base_url,
    preset_for_base_url,
    record_calls,
    resolve_api_key,
    sample_run,
)
from dashboard.live.keys import named_keys
from pricing import default_catalog, money_str


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "call",
        help="call an OpenAI-compatible endpoint and measure latency, tokens and cost",
        description=__doc__.splitlines()[0].split(": ", 1)[1],
    )
    p.add_argument("--base-url", default=DEFAULT_BASE_URL, help=f"default {DEFAULT_BASE_URL}")
    p.add_argument("--model", required=True)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--prompt", help="one user message")
    what.add_argument("--messages-json", metavar="FILE", type=Path, help="a JSON list of chat messages")
    p.add_argument("--provider", help="catalog route to price on (default: from the base URL or the model)")
    p.add_argument("--stream", action="store_true", help="stream the answer (measures time to first token)")
    p.add_argument("--max-tokens", type=int)
    p.add_argument("--temperature", type=float)
    p.add_argument("--repeat", type=int, default=1, metavar="N", help="number of calls (default 1)")
    p.add_argument("--concurrency", type=int, default=1, metavar="C", help="calls in flight at once")
    p.add_argument(
        "--api-key-env", metavar="VAR",
        help=f"env var holding the key (default: the preset's, e.g. {DEFAULT_KEY_ENV} for {DEFAULT_BASE_URL})",
    )
    p.add_argument("--requests-per-day", type=int, metavar="R", help="also show the monthly cost at R/day")
    p.add_argument("--connect-timeout", type=float, default=10.0, metavar="S")
    p.add_argument("--read-timeout", type=float, default=120.0, metavar="S")
    p.add_argument("--max-attempts", type=int, default=3, metavar="N", help="tries on 429 and 5xx")
    p.add_argument("--project", help="project name stored with the recorded calls")
    p.add_argument("--db", type=Path, help="warehouse file (default: $USAGE_DB, else data/usage.duckdb)")
    p.add_argument("--no-record", action="store_true", help="do not store the calls in the warehouse")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=run)


def read_messages(path: Path) -> list[dict[str, Any]]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise LiveCallError(f"cannot read messages file {str(path)!r}: {e.strerror}") from None
    except ValueError as e:
        raise LiveCallError(f"messages file {str(path)!r} is not JSON: {e}") from None
    messages = doc.get("messages") if isinstance(doc, dict) else doc
    if not isinstance(messages, list) or not messages or not all(
        isinstance(m, dict) and "role" in m for m in messages
    ):
        raise LiveCallError(
            f"messages file {str(path)!r} must hold a list of messages like "
            '[{"role": "user", "content": "Hi"}] (or {"messages": [...]})'
        )
    return messages


def build_endpoint(args: argparse.Namespace) -> Endpoint:
    url = check_base_url(args.base_url)
    preset = preset_for_base_url(args.base_url)
    key_env = args.api_key_env
    if not key_env:
        # A preset's variable goes only to the preset's own URL; a server on this machine gets no
        # key unless one is named.
        named = named_keys(None)[0].get(preset.name) if preset else None
        refused = named.refusal(args.base_url, shared=False) if named else None
        if named and not refused:
            key_env = named.env
        elif not is_loopback(url.host):
            why = refused or f"{DEFAULT_KEY_ENV} is sent only to {DEFAULT_BASE_URL}"
            raise LiveCallError(
                f"no API key for {args.base_url}: name the environment variable that holds its key with "
                f"--api-key-env ({why})"
            )
    key = resolve_api_key(env_var=key_env) if key_env else None
    if key is None and key_env:
        raise LiveCallError(
            f"no API key: the environment variable {key_env} is not set; export it, "
            "or name the variable that holds the key with --api-key-env"
        )
    provider = args.provider or (preset.provider if preset else None)
    if not provider:
        found = default_catalog().find(args.model)
        provider = found.provider if found else None
    return Endpoint(
        base_url=args.base_url,
        api_key=key,
        provider=provider,
        key_env=key_env if key else None,
        connect_timeout_s=args.connect_timeout,
        read_timeout_s=args.read_timeout,
        max_attempts=args.max_attempts,
    )


def call_json(r: CallResult) -> dict[str, Any]:
    return {
        "status": r.status,
        "latency_ms": None if r.latency_ms is None else round(r.latency_ms, 1),
        "ttft_ms": None if r.ttft_ms is None else round(r.ttft_ms, 1),
        "prompt_tokens": r.prompt_tokens,
        "cached_tokens": r.cached_tokens,
        "completion_tokens": r.completion_tokens,
        "cost_usd": None if r.cost_usd is None else money_str(r.cost_usd),
        "error": r.error,
    }


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _usd(value: Decimal | None) -> str:
    return "unknown" if value is None else usd(value, 6)


def print_text(report: SampleReport, endpoint: Endpoint, out: TextIO) -> None:
    say = functools.partial(print, file=out)
    first = report.results[0]
    auth = "Authorization: Bearer ***" if endpoint.api_key else "no key"
    say(f"POST {endpoint.url}  ({auth})  model {first.model!r}, priced on {endpoint.provider or '?'}")
    say(f"{'#':>3}  {'status':>6}  {'latency_ms':>10}  {'ttft_ms':>8}  {'prompt':>7}  {'cached':>7}  "
        f"{'output':>7}  {'cost':>12}")
    for i, r in enumerate(report.results, 1):
        say(f"{i:>3}  {r.status!s:>6}  {_ms(r.latency_ms):>10}  {_ms(r.ttft_ms):>8}  "
            f"{r.prompt_tokens if r.ok else '-'!s:>7}  {r.cached_tokens if r.ok else '-'!s:>7}  "
            f"{r.completion_tokens if r.ok else '-'!s:>7}  {_usd(r.cost_usd):>12}  {r.error or ''}")
    if len(report.results) == 1 and first.ok and first.content:
        say(f"\n{first.content}\n")
    lat = report.latency_ms
    say(f"p50 latency {_ms(lat.p50 if lat else None)} ms, p95 {_ms(lat.p95 if lat else None)} ms; "
        f"total cost {_usd(report.total_cost_usd)} (shown to 6 places); errors {report.errors}")
    if report.monthly_cost_usd is not None:
        say(f"at {report.requests_per_day} requests/day: {_usd(report.monthly_cost_usd)} per 30-day month")


async def _sample(args: argparse.Namespace, endpoint: Endpoint, request: ChatRequest) -> SampleReport:
    def progress(done: int, total: int, _r: CallResult) -> None:
        print(f"\rcall {done}/{total}", end="\n" if done == total else "", file=sys.stderr, flush=True)

    show = not args.json and args.repeat > 1
    async with httpx.AsyncClient() as client:
        return await sample_run(
            client,
            endpoint,
            request,
            n=args.repeat,
            concurrency=args.concurrency,
            on_progress=progress if show else None,
            requests_per_day=args.requests_per_day,
        )


def run(args: argparse.Namespace) -> int:
    endpoint = build_endpoint(args)
    messages = [{"role": "user", "content": args.prompt}] if args.prompt is not None else read_messages(
        args.messages_json
    )
    request = ChatRequest(
        model=args.model,
        messages=messages,
        max_tokens=args.max_tokens,
        temperature=args.temperature,
        stream=args.stream,
    )
    report = asyncio.run(_sample(args, endpoint, request))
    # The results are scrubbed where they are made; the printed text is scrubbed again as a whole,
    # so nothing this command prints can carry the key, whatever a result field holds.
    out = io.StringIO()
    print_report(args, report, endpoint, out)
    sys.stdout.write(endpoint.scrub(out.getvalue()))
    notes = {f"cost unknown: {r.cost_error}" for r in report.results if r.ok and r.cost_error}
    notes |= {r.request_id_note for r in report.results if r.request_id_note}
    for note in sorted(notes):
        print(endpoint.scrub(f"note: {note}"), file=sys.stderr)
    if not args.no_record:
        from dashboard.warehouse import Warehouse  # DuckDB is loaded only when recording

        with Warehouse.open(args.db) as wh:
            added, duplicates = record_calls(wh, report.results, project=args.project)
        again = f" ({duplicates} already there)" if duplicates else ""
        failed = report.errors
        left = f"; {failed} failed call(s) not recorded" if failed else ""
        print(f"recorded {added} call(s) to {wh.path}{again}{left}", file=sys.stderr)
    return 0 if report.ok else 1


def print_report(args: argparse.Namespace, report: SampleReport, endpoint: Endpoint, out: TextIO) -> None:
    if args.json:
        lat = report.latency_ms
        print(json.dumps({
            "calls": [call_json(r) for r in report.results],
            "summary": {
                "p50_latency_ms": None if lat is None else round(lat.p50, 1),
                "p95_latency_ms": None if lat is None else round(lat.p95, 1),
                "total_cost_usd": None if report.total_cost_usd is None else money_str(report.total_cost_usd),
                "errors": report.errors,
            },
        }, indent=2), file=out)
    else:
        print_text(report, endpoint, out)
