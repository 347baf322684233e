"""`python -m dashboard import PATH...`: import exported request logs into the warehouse."""

from __future__ import annotations

import argparse
import json

from dashboard.commands.common import add_db, open_warehouse
from dashboard.errors import ImportFailed
from dashboard.ingest import Options, import_file
from dashboard.ingest.formats import all_formats


def _mapping(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        header, sep, field = pair.rpartition("=")
        if not sep or not header or not field:
            raise argparse.ArgumentTypeError(f"--map takes HEADER=FIELD, got {pair!r}")
        out[header] = field
    return out


def register(sub: argparse._SubParsersAction) -> None:
    names = ", ".join(f.NAME for f in all_formats())
    p = sub.add_parser(
        "import",
        help="import log files (format detected, or --format)",
        description="Import exported request logs. Each file is one transaction: all its good rows land "
        "or, if the file cannot be read, nothing changes. Bad rows are kept in rejected_rows with their "
        f"line and reason. Re-importing adds nothing. Formats: {names}.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH")
    add_db(p)
    p.add_argument("--format", dest="fmt", help=f"force a format: {names}")
    p.add_argument("--provider", help="the route the requests were billed through (the file's own is kept as upstream)")
    p.add_argument("--model", help="attribute every row to this model (overrides the file)")
    p.add_argument("--tz", help="time zone of naive timestamps in the file (default UTC)")
    p.add_argument("--map", action="append", default=[], metavar="HEADER=FIELD",
                   help="map a column to a field (time, model, input_tokens, output_tokens, cache_read_tokens, "
                   "cache_write_tokens, cost, request_id, api_key, project, user, request_count, ...)")
    p.add_argument("--cached-included-in-input", choices=["yes", "no"],
                   help="whether the file's input/prompt token count already includes cache reads/writes")
    p.add_argument("--source", help="name of the system the file's ids belong to (default: per format)")
    p.add_argument("--json", action="store_true", help="one JSON object per file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    options = Options(
        provider=args.provider,
        model=args.model,
        tz=args.tz,
        mapping=_mapping(args.map),
        cached_included=None if args.cached_included_in_input is None else args.cached_included_in_input == "yes",
        source=args.source,
    )
    failed = False
    with open_warehouse(args) as wh:
        for path in args.paths:
            try:
                result = import_file(wh, path, args.fmt, options)
                record = {k: v for k, v in result.as_dict().items() if k != "message"}
            except ImportFailed as e:
                failed = True
                record = {"file": path, "format": args.fmt, "added": 0, "duplicates": 0, "rejected": 0,
                          "status": "failed", "updated": 0, "error": str(e)}
            if args.json:
                print(json.dumps(record))
            elif record["status"] == "failed":
                print(f"{path}: FAILED, nothing imported: {record['error']}")
            else:
                grown = f" ({record['updated']} updated: logged mid-reply before)" if record["updated"] else ""
                print(f"{path}: {record['format']}: {record['added']} added, {record['duplicates']} duplicate{grown}, "
                      f"{record['rejected']} rejected")
    return 1 if failed else 0
