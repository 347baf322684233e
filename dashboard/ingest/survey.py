"""What an import cannot tell from a file's first rows, read from the whole file before it is imported.

Two choices left open by a person are decided here, over every record of the file:

- Whether the prompt tokens include the cached ones, where the format leaves it open (a
  generic export): a row with more cached than prompt tokens cannot include them, so when
  any row has that, the file is read as disjoint buckets. Guessing from the first rows
  rejected the good rows of a file whose buckets were disjoint all along.
- The default route (see warehouse.settings): a file that names no provider in any row, whose
  models all belong to vendors with a default route to the same route, is imported as billed
  through that route. Anything else is imported as the file says; the reason is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from dashboard.ingest import files
from dashboard.ingest.base import Format, Options, Sample
from dashboard.ingest.importer import choose, plan_file, sample_file
from dashboard.ingest.loader import SKIPPED, read_sample
from dashboard.ingest.sql import MACROS
from dashboard.warehouse import Warehouse
from pricing import Catalog

MAX_MODELS = 200


@dataclass(frozen=True)
class Survey:
    records: int  # records of the file (lines that are no record left out)
    provider_rows: int  # of them, rows that name a provider
    cached_over_prompt: int  # rows with more cached than prompt tokens
    models: tuple[str, ...]  # the distinct models (at most MAX_MODELS)


def survey_file(wh: Warehouse, path: Path | str, fmt_name: str | None, options: Options,
                sample: Sample | None = None) -> Survey:
    """One read of the whole file through its format, as an import with `options` would read it
    (`sample`: the file's sample when it was just read).

    `cached_over_prompt` counts rows whose cached tokens exceed their prompt tokens, whatever
    `options.cached_included` says.
    """
    path = Path(path)
    the_plan = plan_file(wh, path, fmt_name, replace(options, cached_included=True), sample)
    summary = f"""
        SELECT count(*) FILTER (WHERE reason IS DISTINCT FROM '{SKIPPED}'),
               count(*) FILTER (WHERE provider IS NOT NULL AND provider <> ''),
               count(*) FILTER (WHERE input_tokens < 0),
               list_sort(list(DISTINCT model) FILTER (WHERE model IS NOT NULL))[1:{MAX_MODELS}]
        FROM ({the_plan.staged.sql})"""
    with files.readable(path) as source:
        _, rows = read_sample(wh, summary, str(path), {**the_plan.params, "path": str(source), "import_id": None},
                              macros=MACROS)
    records, named, over, models = rows[0]
    return Survey(records, named, over, tuple(models or ()))


@dataclass(frozen=True)
class Decision:
    """The options an import runs with, and what was decided for the person to read."""

    options: Options
    notes: tuple[str, ...] = ()
    survey: Survey | None = None
    route: str | None = None  # the default route applied, if one was
    sample: Sample | None = None  # the file's sample the decision read, for the import to plan with


def default_route(survey: Survey, routes: Mapping[str, str], catalog: Catalog) -> tuple[str | None, str]:
    """(the route the file's requests go through, or None; why, in a sentence)."""
    if survey.provider_rows:
        return None, f"{survey.provider_rows:,} rows name their provider: those are kept"
    if not survey.models:
        return None, "the file has no models to route"
    chosen: set[str] = set()
    for model in survey.models:
        entry = catalog.find(model, None)
        vendor = entry.provider if entry else None
        if vendor is None or vendor not in routes:
            return None, f"no default route for model {model!r}" + (f" (vendor {vendor!r})" if vendor else "")
        chosen.add(routes[vendor])
    if len(chosen) > 1:
        return None, f"the file's models have different default routes ({', '.join(sorted(chosen))})"
    return chosen.pop(), ""


def _cached_open(fmt: Format, sample: Sample, options: Options) -> bool:
    try:
        return fmt.for_file(sample, options).cached_open
    except ValueError:
        return False  # the import says why


def decide(wh: Warehouse, path: Path | str, fmt_name: str | None, options: Options,
           routes: Mapping[str, str] | None = None, catalog: Catalog | None = None,
           detect_cached: bool = True) -> Decision:
    """The options to import `path` with: the default route and the cached-token semantics decided
    over the whole file where the person left them open (see the module docstring).

    The file is read once more only when something is left open. `detect_cached` False leaves
    the cached tokens open for the import itself to decide by the rows (plan.ImportPlan.otherwise),
    which spares that read.
    """
    sample = sample_file(wh, Path(path))
    fmt = choose(sample, fmt_name, options)
    want_route = options.provider is None and bool(routes) and catalog is not None
    want_cached = detect_cached and options.cached_included is None and _cached_open(fmt, sample, options)
    if not (want_route or want_cached):
        return Decision(options, sample=sample)
    survey = survey_file(wh, path, fmt.name, options, sample)
    notes: list[str] = []
    chosen = options
    if want_cached and survey.cached_over_prompt:
        chosen = replace(chosen, cached_included=False)
        notes.append(f"{survey.cached_over_prompt:,} rows have more cached than prompt tokens, so the prompt "
                     "tokens do not include the cached ones: read as separate buckets")
    elif want_cached:
        chosen = replace(chosen, cached_included=True)
        notes.append("no row has more cached than prompt tokens: the prompt tokens are read as including them")
    route = None
    if want_route:
        assert catalog is not None and routes is not None
        route, why = default_route(survey, routes, catalog)
        if route:
            chosen = replace(chosen, provider=route)
            notes.append(f"default route: billed through {route!r}")
        else:
            notes.append(f"default route not applied: {why}")
    return Decision(chosen, tuple(notes), survey, route, sample)
