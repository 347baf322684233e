"""A format's declared fields as the SELECT over `src` of one read, and what a read needs to know of them.

The reader decides how a leaf reads (a JSON field from the multi-path extraction, a STRUCT
field of a typed read, a CSV column as text or parsed by the reader); the rest of the SELECT
is the same for every read: see `format_select`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

from dashboard.ingest.base import EXTRACTED_COLUMNS, Format, Sample, record_text, sql_name
from dashboard.ingest.fields import Column, Const, Expr, First, Json, Key, Node, Reader, first_leaf, render, walk

# The shapes whose records are JSON text, where a record may be no JSON object (see base.py).
JSON_SHAPES = ("lines", "json", "documents")


def _resolved(node: Node, sample: Sample) -> Node:
    """A Key as the file's shape reads it: a column of a CSV, else the first present top-level JSON key."""
    if isinstance(node, Key):
        return Column(node.names) if sample.shape == "csv" else First(tuple(Json((n,)) for n in node.names))
    return node


def nodes(fmt: Format, sample: Sample) -> Iterator[Node]:
    """Every leaf the format reads, Keys resolved for the file's shape."""
    declared = [fmt.fields[c] for c in EXTRACTED_COLUMNS if c in fmt.fields]
    for top in (*declared, fmt.keep, fmt.qualify):
        yield from _leaves(top, sample)


def _leaves(top: Node | None, sample: Sample) -> Iterator[Node]:
    """`top` and every node inside it, each once, Keys resolved for the file's shape."""
    for node in walk(top):
        resolved = _resolved(node, sample)
        if resolved is node:
            yield node
        else:
            yield from walk(resolved)


def json_fields(fmt: Format, sample: Sample) -> list[tuple[str, ...]]:
    """The JSON fields the format reads, as key tuples, each once, in order."""
    seen: dict[tuple[str, ...], None] = {}
    for node in nodes(fmt, sample):
        if isinstance(node, Json):
            seen.setdefault(node.keys)
    return list(seen)


def sample_texts(fmt: Format, sample: Sample, name: str) -> Counter[str]:
    """How often each text the sample holds at a leaf of field `name` occurs there: the values of
    its JSON fields and columns, and its constants. The field's values are among them where it
    takes a leaf as it is."""
    texts: Counter[str] = Counter()
    for node in _leaves(fmt.fields.get(name), sample):
        if isinstance(node, Const):
            texts[node.text] += 1
        elif isinstance(node, Json):
            texts.update(v for v in (value_at(r, node.keys) for r in sample.records) if isinstance(v, str))
        elif isinstance(node, Column) and (real := real_column(sample, node.names, node.exact)):
            texts.update(v for v in (row.get(real) for row in sample.rows) if isinstance(v, str))
    return texts


def value_at(record: object, keys: Sequence[str]) -> object:
    """The value of a JSON record at `keys` (from the top), None where it has none."""
    for k in keys:
        if not isinstance(record, Mapping) or k not in record:
            return None
        record = record[k]
    return record


def unseen_keys(fmt: Format, sample: Sample) -> tuple[str, ...]:
    """The top-level keys the format reads that no sample record has, compared as DuckDB's JSON
    reader compares them (ignoring case)."""
    seen = {k.lower() for rec in sample.records if isinstance(rec, Mapping) for k in rec}
    return tuple(dict.fromkeys(keys[0] for keys in json_fields(fmt, sample) if keys[0].lower() not in seen))


def shadowed_keys(fmt: Format, sample: Sample, keys: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Of the top-level `keys`, those the format reads only as a later part of a First, after a
    part taken first from a top-level key every sample record holds a value at: each, with those
    keys. A record holding a value at them never reaches the later part, so a read that leaves
    `keys` out (see narrowed) need not read these as long as every record holds those values."""
    wanted = {k.lower() for k in keys}

    def held(part: Node) -> str | None:
        leaf = first_leaf(_resolved(part, sample))
        if not (isinstance(leaf, Json) and len(leaf.keys) == 1 and leaf.keys[0].lower() not in wanted):
            return None
        return leaf.keys[0] if sample.records and all(value_at(r, leaf.keys) is not None
                                                      for r in sample.records) else None

    exposed: set[str] = set()
    shadows: dict[str, set[str]] = {}

    def visit(node: Node | None, shade: frozenset[str]) -> None:
        node = _resolved(node, sample) if node is not None else None
        if isinstance(node, Json) and node.keys[0].lower() in wanted:
            if shade:
                shadows.setdefault(node.keys[0], set()).update(shade)
            else:
                exposed.add(node.keys[0])
        elif isinstance(node, First):
            earlier: set[str] = set()
            for part in node.parts:
                visit(part, shade | earlier)
                if key := held(part):
                    earlier.add(key)
        elif isinstance(node, Expr):
            for _, arg in node.args:
                visit(arg, shade)

    for top in (*fmt.fields.values(), fmt.keep, fmt.qualify):
        visit(top, frozenset())
    return {k: tuple(sorted(v)) for k, v in shadows.items() if k not in exposed}


def narrowed(fmt: Format, sample: Sample, keys: tuple[str, ...]) -> Format:
    """`fmt` as it reads a file whose records hold none of the top-level `keys`: each field under
    one of them is NULL, as it is on every row of such a file."""
    def without(node: Node | None) -> Node | None:
        node = _resolved(node, sample) if node is not None else None
        if isinstance(node, Json):
            return None if node.keys[0] in keys else node
        if isinstance(node, First):
            parts = tuple(p for p in map(without, node.parts) if p is not None)
            return First(parts) if parts else None
        if isinstance(node, Expr):
            return Expr(node.template, tuple((name, without(arg)) for name, arg in node.args))  # type: ignore[misc]
        return node

    def test(node: Node | None) -> Node | None:  # a filter on a field that is gone tests NULL
        return node if node is None else (without(node) or Expr("NULL", ()))

    fields = {name: without(node) for name, node in fmt.fields.items()}  # (a field that is None reads NULL)
    return replace(fmt, fields=fields, keep=test(fmt.keep), qualify=test(fmt.qualify), adapt=None)


def real_column(sample: Sample, names: tuple[str, ...], exact: bool = False) -> str | None:
    """The file's own name of the first present column among `names` (case-insensitive unless `exact`)."""
    if exact:
        return next((n for n in names if n in sample.columns), None)
    lookup = {c.strip().lower(): c for c in sample.columns}
    for name in names:
        real = lookup.get(name.lower())
        if real is not None:
            return real
    return None


def column_uses(fmt: Format, sample: Sample) -> Counter[str]:
    """How many times the format reads each of the file's columns."""
    return Counter(c for node in nodes(fmt, sample) if isinstance(node, Column)
                   and (c := real_column(sample, node.names, node.exact)) is not None)


def reads(fmt: Format, sample: Sample, reader: Reader) -> bool:
    """Whether the format reads a column of the reader itself (its line number, its record's JSON text)."""
    return any(node == reader for node in nodes(fmt, sample))


def is_null(fmt: Format, sample: Sample, name: str) -> bool:
    """Whether field `name` is NULL on every row: not declared, or a column the file does not have."""
    node = fmt.fields.get(name)
    if node is None:
        return True
    node = _resolved(node, sample)
    return isinstance(node, Column) and real_column(sample, node.names, node.exact) is None


def derives_ids(fmt: Format, sample: Sample) -> bool:
    """Whether the file's rows get derived ids: the format has no request id for them."""
    return is_null(fmt, sample, "request_id")


def numbered_because(fmt: Format, sample: Sample) -> tuple[str, ...]:
    """Why the format needs line numbers up front, if it does: it derives ids, filters records, keeps
    one record of several, reads the line or holds several records per line. The other formats get
    them from the staging table, only for the rows rejected."""
    reasons = {
        "derived ids": derives_ids(fmt, sample),
        "a row filter": fmt.keep is not None,
        "a window": fmt.qualify is not None,
        "a prelude": bool(fmt.prelude),
        f"several records per {'line' if sample.shape == 'lines' else 'document'}": fmt.records is not None,
        "the line read": reads(fmt, sample, Reader("line")),
    }
    return tuple(why for why, needed in reasons.items() if needed)


def numbered(fmt: Format, sample: Sample) -> bool:
    """Whether the format needs line numbers up front (see numbered_because)."""
    return bool(numbered_because(fmt, sample))


@dataclass(frozen=True)
class Leaves:
    """How one read gives each leaf: a JSON field (by its keys) and a column (by its real name and field)."""

    json: Callable[[tuple[str, ...]], str]
    column: Callable[[str, str], str] = lambda real, name: f"CAST(src.{sql_name(real)} AS VARCHAR)"
    overrides: Mapping[Node, str] = field(default_factory=dict)


def _leaf_sql(sample: Sample, leaves: Leaves, field_name: str) -> Callable[[Node], str]:
    def leaf(node: Node) -> str:
        if node in leaves.overrides:
            return leaves.overrides[node]
        if isinstance(node, Key):
            return render(_resolved(node, sample), leaf)
        if isinstance(node, Json):
            return leaves.json(node.keys)
        if isinstance(node, Column):
            real = real_column(sample, node.names, node.exact)
            if real is None:
                return "NULL"
            return leaves.column(real, field_name) if node.as_text else f"src.{sql_name(real)}"
        if isinstance(node, Reader):
            return f"src.{node.name}"
        raise TypeError(f"not a field: {node!r}")
    return leaf


def field_sql(fmt: Format, sample: Sample, leaves: Leaves, name: str, node: Node | None = None) -> str:
    """The SQL of one field (or of `node`) in a read."""
    node = fmt.fields.get(name) if node is None else node
    return render(node, _leaf_sql(sample, leaves, name))


def _raw(fmt: Format, sample: Sample, leaves: Leaves) -> str:
    text = record_text(sample)
    if text is None:
        return "src.raw"
    if derives_ids(fmt, sample):
        return text
    # The record's text is only hashed into an id when the record has none (built for a few
    # more rows than that: a cheap test, see ing_maybe_blank).
    return f"CASE WHEN ing_maybe_blank({field_sql(fmt, sample, leaves, 'request_id')}) THEN {text} END"


def format_select(fmt: Format, sample: Sample, leaves: Leaves, epoch: str | None = None) -> str:
    """`[WITH prelude] SELECT <EXTRACTED_COLUMNS> FROM src [WHERE keep] [QUALIFY ...]` for one read.

    `epoch`: the SQL of the time the format takes first, read as a number: given as `ts_epoch`
    beside a `ts` that holds the format's other times only where it is missing.
    """
    defaults = {"line": "src.line", "parsed": "src.ok",
                "cached_included": {True: "true", False: "false", None: "NULL"}[fmt.cached_included]}
    parts = []
    for c in EXTRACTED_COLUMNS:
        if c == "raw":
            e = _raw(fmt, sample, leaves)
        elif c in fmt.fields:
            e = field_sql(fmt, sample, leaves, c)
        else:
            e = defaults.get(c, "NULL")
        if c == "ts" and epoch is not None:
            e = f"CASE WHEN {epoch} IS NULL THEN {e} END"
        parts.append(f'{e} AS "{c}"')
        if c == "ts" and epoch is not None:
            parts.append(f'{epoch} AS "ts_epoch"')
    parts.append('src."__record" AS "__record"')  # the reader's record, for a rejected row's text
    text = fmt.prelude + "SELECT " + ",\n       ".join(parts) + "\nFROM src"
    if fmt.keep is not None:
        keep = field_sql(fmt, sample, leaves, "keep", fmt.keep)
        # A record that is no JSON object is kept, to be rejected as such.
        text += f"\nWHERE NOT src.ok OR ({keep})" if sample.shape in JSON_SHAPES else f"\nWHERE {keep}"
    if fmt.qualify is not None:
        text += f"\nQUALIFY {field_sql(fmt, sample, leaves, 'qualify', fmt.qualify)}"
    return text


def epoch_field(fmt: Format, sample: Sample) -> tuple[str, ...] | None:
    """The JSON field the format's time comes from first, when it reads that field nowhere else."""
    ts = fmt.fields.get("ts")
    if ts is None:
        return None
    leaf = ts
    while (inner := first_leaf(_resolved(leaf, sample))) != leaf:
        leaf = inner
    if not isinstance(leaf, Json):
        return None
    uses = sum(1 for node in nodes(fmt, sample) if node == leaf)
    return leaf.keys if uses == 1 else None
