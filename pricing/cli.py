"""`python -m pricing ...`: quote a request, list the catalog, check it, import LiteLLM's price map."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from pricing import (
    CatalogError,
    PricingError,
    Usage,
    cost,
    load_catalog,
    local_overlays,
    money_str,
    normalize_usage,
    to_utc,
)
from pricing.catalog import Catalog, Period, Route


def _catalog(args: argparse.Namespace, strict: bool = False) -> Catalog:
    """The shipped catalog and the overlays: files named with --overlay (and every file for `check`)
    must validate whole; in the default local files a bad entry is left out with a warning."""
    overlays = [Path(p) for p in (args.overlay or [])] or local_overlays()
    return load_catalog(overlays=overlays, skip_bad=not (strict or args.overlay))


def _usage(args: argparse.Namespace) -> Usage:
    if args.usage_json:
        try:
            body = json.loads(Path(args.usage_json).read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise PricingError(f"--usage-json {args.usage_json!r}: cannot read a JSON object: {e}") from e
        return normalize_usage(body)
    if args.input is None or args.output is None:
        raise PricingError("give --input N and --output N (or --usage-json FILE)")
    return Usage(
        input_tokens=args.input,
        cache_read_tokens=args.cache_read,
        cache_write_tokens=args.cache_write,
        cache_write_1h_tokens=args.cache_write_1h,
        output_tokens=args.output,
        reasoning_tokens=args.reasoning,
    )


def cmd_quote(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    usage = _usage(args)
    b = cost(usage, args.model, args.provider, args.at, catalog=catalog)
    if args.json:
        print(json.dumps(b.as_dict()))
        return 0
    print(f"{b.provider}/{b.model} at {b.at.isoformat()}"
          + (f" (window {b.window})" if b.window else "")
          + (f" (tier above {b.tier:,} prompt tokens)" if b.tier else ""))
    rows = [
        ("input", usage.input_tokens, b.rates.input, b.input_usd),
        ("cache read", usage.cache_read_tokens, b.rates.cache_read, b.cache_read_usd),
        ("cache write", usage.cache_write_tokens, b.rates.cache_write, b.cache_write_usd),
        ("cache write 1h", usage.cache_write_1h_tokens, b.rates.cache_write_1h_effective, b.cache_write_1h_usd),
        ("output", usage.output_tokens, b.rates.output, b.output_usd),
    ]
    print(f"{'bucket':<16}{'tokens':>14}{'per 1M':>12}{'cost ' + b.currency:>22}")
    for name, tokens, rate, amount in rows:
        print(f"{name:<16}{tokens:>14,}{money_str(rate.normalize()):>12}{money_str(amount.normalize()):>22}")
    print(f"{'total':<16}{usage.total_tokens:>14,}{'':>12}{money_str(b.total_usd.normalize()):>22}")
    print(f"source: {b.period.source} (checked {b.period.checked})")
    return 0


def _list_rows(catalog: Catalog, provider: str | None, at: datetime) -> list[dict[str, Any]]:
    rows = []
    for m in sorted(catalog.models, key=lambda m: (m.provider, m.id)):
        if provider and m.provider != provider.lower():
            continue
        try:
            period = m.period_at(at)
        except PricingError:
            continue
        rows.append({
            "provider": m.provider, "model": m.id, "aliases": list(m.aliases), "currency": period.currency,
            "rates": period.rates.as_dict(), "period": period.as_dict(),
        })
    return rows


def cmd_list(args: argparse.Namespace) -> int:
    rows = _list_rows(_catalog(args), args.provider, to_utc(args.at))
    if args.json:
        print(json.dumps(rows))
        return 0
    print(f"{'provider':<11}{'model':<30}{'input':>10}{'output':>10}{'cache rd':>10}{'cache wr':>10}  notes")
    for r in rows:
        rates, period = r["rates"], r["period"]
        notes = ", ".join(filter(None, [
            f"windows: {', '.join(period['windows'])}" if period["windows"] else "",
            f"tiers above {', '.join(map(str, period['tiers']))}" if period["tiers"] else "",
        ]))
        print(f"{r['provider']:<11}{r['model']:<30}{rates['input']:>10}{rates['output']:>10}"
              f"{rates['cache_read']:>10}{rates['cache_write']:>10}  {notes}")
    print("rates in USD per 1M tokens, in force now (or at --at)")
    return 0


def _listing_day(route: Route, period: Period) -> date:
    """The day a reseller period's rates were listed: its own start, else the route's listing date, else checked."""
    if period.effective_from is not None:
        return period.effective_from.date()
    return route.upstream_listed or period.checked


def reseller_differences(catalog: Catalog) -> list[str]:
    """Where a reseller's explicit rates differ from upstream x factor, the upstream's rates taken as they
    stood on the reseller's listing date (the explicit rates win). Nothing when they agree."""
    notes = []
    for m in catalog.models:
        route = catalog.routes[m.provider]
        if not route.upstream or route.factor is None:
            continue
        upstream = catalog.find(m.id, route.upstream)
        if upstream is None:
            notes.append(f"{m.route}: upstream {route.upstream!r} has no model {m.id!r} to compare with")
            continue
        for mine in m.periods:
            day = _listing_day(route, mine)
            try:
                theirs = upstream.period_at(datetime.combine(day, time(), UTC))
            except PricingError:
                notes.append(f"{m.route}: {upstream.route} has no price on the listing date {day} to compare with")
                continue
            since = theirs.effective_from.date().isoformat() if theirs.effective_from else "its first listing"
            used = f"{upstream.route} period from {since}, in force on the listing date {day}"
            for bucket in ("input", "output", "cache_read", "cache_write"):
                have, base = getattr(mine.rates, bucket), getattr(theirs.rates, bucket)
                expected = base * route.factor
                if have != expected:
                    notes.append(
                        f"{m.route}: {bucket} {money_str(have.normalize())} per 1M differs from "
                        f"{route.upstream} {money_str(base.normalize())} x {route.factor} = "
                        f"{money_str(expected.normalize())} ({used}; explicit rates are used)"
                    )
    return notes


def cmd_check(args: argparse.Namespace) -> int:
    catalog = _catalog(args, strict=True)
    print(f"catalog OK: {len(catalog.routes)} routes, {len(catalog.models)} models")
    for note in reseller_differences(catalog):
        print(f"note: {note}")
    return 0


def cmd_import_litellm(args: argparse.Namespace) -> int:
    from pricing.litellm import convert_litellm_report

    try:
        data = json.loads(Path(args.file).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise PricingError(f"{args.file}: cannot read LiteLLM's price map as JSON: {e}") from e
    report = convert_litellm_report(data, checked=datetime.now(UTC).date(), source=args.source or str(args.file))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for provider, text in report.files.items():
        target = out / f"{provider}.toml"
        target.write_text(text, encoding="utf-8")
        written.append(target)
    load_catalog(overlays=written)  # the converted files must validate as overlays
    print(f"wrote {len(written)} catalog files to {out} ({sum(1 for _ in written)} providers); "
          f"skipped {len(report.skipped)} entries")
    for s in report.skipped[: args.show_skipped]:
        print(f"skipped {s.key}: {s.reason}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pricing", description="Exact LLM API prices and costs.")
    parser.add_argument("--overlay", action="append",
                        help="extra catalog file(s) loaded after the shipped ones "
                        "(default: data/catalog.d/*.toml, then data/prices.local.toml)")
    sub = parser.add_subparsers(dest="command", required=True)

    q = sub.add_parser("quote", help="the exact cost of one request")
    q.add_argument("--model", required=True)
    q.add_argument("--provider", help="the route as billed (default: the vendor's own list)")
    q.add_argument("--at", help="ISO-8601 time of the request (default now; naive = UTC)")
    q.add_argument("--input", type=int, help="input tokens not read from or written to cache")
    q.add_argument("--output", type=int, help="output tokens, reasoning included")
    q.add_argument("--cache-read", type=int, default=0)
    q.add_argument("--cache-write", type=int, default=0)
    q.add_argument("--cache-write-1h", type=int, default=0)
    q.add_argument("--reasoning", type=int, default=0, help="the part of --output spent on reasoning")
    q.add_argument("--usage-json", help="a provider response body or usage object (any supported shape)")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_quote)

    ls = sub.add_parser("list", help="the catalog's models and current rates")
    ls.add_argument("--provider")
    ls.add_argument("--at", help="rates in force at this time (default now)")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_list)

    ck = sub.add_parser("check", help="validate the catalog; report reseller rates that differ from upstream x factor")
    ck.set_defaults(func=cmd_check)

    li = sub.add_parser("import-litellm", help="convert LiteLLM's model_prices_and_context_window.json")
    li.add_argument("file")
    li.add_argument("--out", default="data/catalog.d", help="folder for the converted files (default data/catalog.d)")
    li.add_argument("--source", help="source to record (default: the file name)")
    li.add_argument("--show-skipped", type=int, default=10)
    li.set_defaults(func=cmd_import_litellm)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except CatalogError as e:
        print(f"catalog error: {e}", file=sys.stderr)
        return 3
    except PricingError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
