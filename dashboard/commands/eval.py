"""`python -m dashboard eval`: run a promptfoo-style suite against one or more targets and compare them.

Each --target is `PROVIDER/MODEL=BASE_URL`, a route and model from the catalog (which prices
the calls) and where to call it. The key comes from the environment, as for `call`: the
variable named by --api-key-env, else the variable of the preset whose base URL this is,
sent to that URL only; a server on this machine gets no key unless one is named. The run is
stored in the warehouse (eval_runs, eval_results). Exit 0 when the suite ran, whatever passed;
2 for a suite or an argument that cannot be used.
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import sys
from pathlib import Path
from typing import TextIO

from dashboard.commands import call
from dashboard.commands.common import add_db, count_up_to, open_warehouse
from dashboard.errors import LiveCallError, UsageError
from dashboard.evaluate import EvalRun, load_suite, parse_target, run_json, run_suite, side_by_side, summarize
from dashboard.evaluate.runner import MAX_CONCURRENCY, MAX_REPEAT
from dashboard.evaluate.storage import save_run
from dashboard.evaluate.summary import differences, failures
from dashboard.live.experiments import Target
from pricing import default_catalog


def _count(limit: int, what: str):  # type: ignore[no-untyped-def]
    def parse(text: str) -> int:
        value = count_up_to(text, limit)
        if value is None:
            raise argparse.ArgumentTypeError(f"{what} is a whole number from 1 to {limit}, got {text!r}")
        return value

    return parse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "eval",
        help="run a test suite against targets: pass rate, latency, tokens and cost per passed task",
        description=__doc__.splitlines()[0].split(": ", 1)[1],
    )
    p.add_argument("suite", type=Path, metavar="SUITE.yaml", help="a promptfoo-style suite (see examples/suites/)")
    p.add_argument("--target", action="append", required=True, metavar="PROVIDER/MODEL=BASE_URL",
                   help="a route and model from the catalog and where to call it; repeat to compare")
    p.add_argument("--api-key-env", metavar="VAR",
                   help="env var holding the key for every target (default: each preset's own, for its URL)")
    p.add_argument("--repeat", type=_count(MAX_REPEAT, "--repeat"), default=1, metavar="N",
                   help="runs of every test on every target (default 1)")
    p.add_argument("--concurrency", type=_count(MAX_CONCURRENCY, "--concurrency"), default=4, metavar="N",
                   help="calls in flight at once (default 4)")
    p.add_argument("--connect-timeout", type=float, default=10.0, metavar="S")
    p.add_argument("--read-timeout", type=float, default=120.0, metavar="S")
    p.add_argument("--max-attempts", type=_count(10, "--max-attempts"), default=3, metavar="N",
                   help="tries on 429 and 5xx (default 3)")
    add_db(p)
    p.add_argument("--json", action="store_true", help="print one JSON object (targets and results)")
    p.set_defaults(func=run)


def _targets(args: argparse.Namespace) -> list[Target]:
    catalog = default_catalog()
    out = []
    for text in args.target:
        spec = parse_target(text, catalog)
        fields = argparse.Namespace(
            base_url=spec.base_url, api_key_env=args.api_key_env, provider=spec.provider, model=spec.model,
            connect_timeout=args.connect_timeout, read_timeout=args.read_timeout, max_attempts=args.max_attempts,
        )
        try:
            endpoint = call.build_endpoint(fields)
        except LiveCallError as e:
            raise UsageError(f"target {text!r}: {e}") from None
        out.append(Target(spec.label, endpoint, spec.model))
    labels = [t.label for t in out]
    if len(set(labels)) != len(labels):
        raise UsageError(f"each --target names a different PROVIDER/MODEL, got {', '.join(labels)}")
    return out


def print_text(run: EvalRun, out: TextIO) -> None:
    say = functools.partial(print, file=out)
    summaries = summarize(run)
    rows = side_by_side(summaries)
    width = max(len(r[""]) for r in rows)
    cols = [s.target for s in summaries]
    widths = [max(len(c), *(len(r[c]) for r in rows)) for c in cols]
    say(f"suite {run.suite_name} (sha256 {run.suite_sha256[:12]}), {run.tests} test(s) x {run.repeat} repeat(s)")
    say(" " * width + "  " + "  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)))
    for r in rows:
        say(r[""].ljust(width) + "  " + "  ".join(r[c].ljust(w) for c, w in zip(cols, widths, strict=True)))
    for d in differences(summaries):
        say(d.verdict())
    failed = failures(run)
    if failed:
        say("\nfailed:")
        for f in failed:
            say(f"  {f['target']} · {f['test']} (prompt {f['prompt']}, run {f['repeat']}): {f['assertion']}"
                + (f": expected {f['expected']}, got {f['got']}" if f["expected"] else f": {f['got']}"))
    say(f"\nrun {run.run_id} stored; money exact, latency over the calls that succeeded")


def run(args: argparse.Namespace) -> int:
    try:
        data = args.suite.read_bytes()
    except OSError as e:
        raise UsageError(f"cannot read suite {str(args.suite)!r}: {e.strerror}") from None
    suite = load_suite(data, args.suite.name)
    targets = _targets(args)
    wh = open_warehouse(args)
    try:
        def progress(done: int, total: int) -> None:
            bar = "#" * (30 * done // total)
            print(f"\r[{bar:<30}] {done}/{total} runs", end="\n" if done == total else "", file=sys.stderr,
                  flush=True)

        result = run_suite(suite, targets, repeat=args.repeat, concurrency=args.concurrency,
                           on_progress=None if args.json else progress, catalog=wh.catalog)
        save_run(wh, result)
    finally:
        wh.close()
    out = io.StringIO()
    if args.json:
        print(json.dumps(run_json(result), indent=2), file=out)
    else:
        print_text(result, out)
    # Every text in the run is scrubbed where it was made; the printed whole is scrubbed again.
    text = out.getvalue()
    for t in targets:
        text = t.endpoint.scrub(text)
    sys.stdout.write(text)
    return 0
