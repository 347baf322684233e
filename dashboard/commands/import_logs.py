"""`python -m dashboard import PATH...`: import exported request logs into the warehouse."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from dashboard.commands.common import add_db, open_warehouse, seconds, zone_name
from dashboard.errors import DashboardError, ImportFailed
from dashboard.ingest import files

if TYPE_CHECKING:
    from dashboard.ingest import Options

# The parser and the first file's check need neither DuckDB nor the formats and the planner: the
# names that load them (the options, the formats, the importer, the warehouse) are imported where
# a command uses them, so the check starts before their start-up cost is paid (see run).


class _FormatNames:
    """The formats' names, as --format's choices: loaded when argparse first asks (a --format
    given, or --help), not when the parser is built."""

    def __iter__(self) -> Iterator[str]:
        from dashboard.ingest.formats import all_formats

        return iter([f.name for f in all_formats()])

    def __contains__(self, name: object) -> bool:
        return name in list(self)


def _pair(pair: str) -> tuple[str, str]:
    """An argparse type: HEADER=FIELD (the header may itself hold '=': the last one splits)."""
    header, sep, field = pair.rpartition("=")
    if not sep or not header.strip() or not field.strip():
        raise argparse.ArgumentTypeError(f"--map takes HEADER=FIELD, both named (such as 'Tokens In=input_tokens'), "
                                         f"got {pair!r}")
    return header, field.strip()


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import",
        help="import log files (format detected, or --format)",
        description="Import exported request logs. Each file is one transaction: all its good rows land "
        "or, if the file cannot be read, nothing changes. Bad rows are kept in rejected_rows with their "
        "line and reason. Re-importing adds nothing. The formats: see --format.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH")
    add_db(p)
    p.add_argument("--format", dest="fmt", metavar="NAME", choices=_FormatNames(),
                   help="force a format: %(choices)s")
    p.add_argument("--provider", help="the route the requests were billed through (the file's own is kept as "
                   "upstream); without it, the warehouse's default routes (set on the Import page) apply to a file "
                   "whose rows name no provider")
    p.add_argument("--model", help="attribute every row to this model (overrides the file)")
    p.add_argument("--tz", type=zone_name, help="time zone of naive timestamps in the file (default UTC)")
    p.add_argument("--map", action="append", default=[], metavar="HEADER=FIELD", type=_pair,
                   help="map a column to a field (time, model, input_tokens, output_tokens, cache_read_tokens, "
                   "cache_write_tokens, cost, request_id, api_key, project, user, request_count, ...)")
    p.add_argument("--cached-included-in-input", choices=["yes", "no"],
                   help="whether the file's input/prompt token count already includes cache reads/writes")
    p.add_argument("--source", help="name of the system the file's ids belong to (default: per format)")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per file, a failed one too (with `status` 'failed' and `error`)")
    p.add_argument("--wait", type=seconds, default=30.0, metavar="SECONDS",
                   help="how long to wait for a warehouse another import is writing (default 30)")
    p.add_argument("--explain", action="store_true",
                   help="print how each file would be imported (its format, the reads in turn, the table, the "
                   "choices decided over the whole file) and import nothing")
    p.set_defaults(func=run)


def _failed(path: str, fmt: str | None, error: str) -> dict[str, object]:
    return {"file": path, "format": fmt, "added": 0, "duplicates": 0, "rejected": 0,
            "status": "failed", "updated": 0, "error": error}


def _options(args: argparse.Namespace) -> Options:
    from dashboard.ingest import Options

    return Options(
        provider=args.provider,
        model=args.model,
        tz=args.tz,
        mapping=dict(args.map),
        cached_included=None if args.cached_included_in_input is None else args.cached_included_in_input == "yes",
        source=args.source,
    )


@contextlib.contextmanager
def _reading_warehouse(args: argparse.Namespace):
    """The warehouse, opened read-only; a warehouse that does not exist yet is not created (an empty one stands in)."""
    from dashboard.warehouse import Warehouse

    path = Path(args.db) if args.db else Warehouse.default_path()
    if path.is_file():
        with open_warehouse(args, read_only=True, wait=args.wait) as wh:
            yield wh
        return
    with tempfile.TemporaryDirectory(prefix="usage-explain-") as folder, \
            Warehouse.open(Path(folder) / "empty.duckdb", cache=False) as wh:
        yield wh


def explain(args: argparse.Namespace) -> int:
    """Print each file's import plan, as the import would make it; write nothing."""
    from dashboard.ingest import plan_file
    from dashboard.ingest.survey import decide
    from dashboard.warehouse.settings import default_routes

    options, failed = _options(args), False
    with _reading_warehouse(args) as wh:
        routes = default_routes(wh) if args.provider is None else {}
        for path in args.paths:
            try:
                decision = decide(wh, path, args.fmt, options, routes, wh.catalog)
                plan = plan_file(wh, path, args.fmt, decision.options)
            except ImportFailed as e:
                failed = True
                print(json.dumps({"file": path, "status": "failed", "error": str(e)}) if args.json
                      else f"{path}: FAILED: {e}")
                continue
            if args.json:
                print(json.dumps({"file": path, **plan.as_dict(), "decided": list(decision.notes)}))
            else:
                print(f"{path}:\n" + "\n".join(f"  {line}" for line in plan.explain().splitlines())
                      + "".join(f"\n  decided: {note}" for note in decision.notes))
    return 1 if failed else 0


def run(args: argparse.Namespace) -> int:
    if args.explain:
        return explain(args)
    # The first file's whole-file check starts now, before the formats, DuckDB and the warehouse load.
    first = args.paths[0] if args.paths and Path(args.paths[0]).is_file() else None
    early = {first: files.check_in_background(first, files.MAX_LINE_BYTES)} if first else {}
    options = _options(args)
    failed = False
    done: list[str] = []

    def report(record: dict) -> None:
        done.append(record["file"])
        if args.json:
            print(json.dumps(record), flush=True)
        elif record["status"] == "failed":
            print(f"{record['file']}: FAILED, nothing imported: {record['error']}")
        else:
            grown = f" ({record['updated']} updated: logged mid-reply before)" if record["updated"] else ""
            routed = f" (billed through {record['default_route']!r}, the default route)" \
                if record.get("default_route") else ""
            print(f"{record['file']}: {record['format']}: {record['added']} added, {record['duplicates']} "
                  f"duplicate{grown}, {record['rejected']} rejected{routed}")

    from dashboard.ingest import import_file
    from dashboard.ingest.survey import decide
    from dashboard.warehouse.settings import default_routes

    try:
        with open_warehouse(args, wait=args.wait) as wh:
            routes = default_routes(wh) if args.provider is None else {}
            for path in args.paths:
                try:
                    # Left open (no --provider with default routes): decided over the whole file, as the
                    # Import page does. No --cached-included-in-input on a file with a cached column: the
                    # import decides by the rows as it reads them (the same choice, one read less).
                    decision = decide(wh, path, args.fmt, options, routes, wh.catalog, detect_cached=False)
                    chosen, route = decision.options, decision.route
                    result = import_file(wh, path, args.fmt, chosen, sample=decision.sample,
                                         check=early.pop(path, None))
                    record = {k: v for k, v in result.as_dict().items() if k != "message"}
                    report({**record, "default_route": route} if routes else record)
                except ImportFailed as e:
                    failed = True
                    report(_failed(path, args.fmt, str(e)))
    except DashboardError as e:
        # The warehouse itself failed (held too long by another process, damaged): no file
        # after this one is imported either. Under --json each still gets its record.
        if not args.json:
            raise
        for path in args.paths[len(done):]:
            report(_failed(path, args.fmt, str(e)))
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 1 if failed else 0
