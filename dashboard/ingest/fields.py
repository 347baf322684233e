"""Where a format's fields come from, as values: a JSON path, a column, a constant, or an expression over others.

A format declares its fields with these (see base.Format); the importer renders them to SQL
for whichever read it plans (see planner.py), and learns what a format needs (its JSON paths, the
columns it reads once, whether it reads the record whole or its line number) by walking them,
never by reading SQL text.

- `Json(keys)`: a field of a JSON record, by object keys (`j("$.usage.prompt_tokens")`).
- `Column(names)`: the first present CSV or Parquet column among `names` (case-insensitive), else NULL.
- `Key(names)`: a CSV column or, in a JSON record, the first present top-level key among `names`.
- `Const(text)`: a constant text.
- `First(parts)`: the first part that is not NULL.
- `Expr(template, args)`: an SQL expression whose `{name}` holes are the named fields.
- `LINE`, `OK`, `DOC`: the record's line number, whether it was read as a record (NULL: a blank
  line, no record; false: not a JSON object) and the record's whole JSON text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Json:
    keys: tuple[str, ...]


@dataclass(frozen=True)
class Column:
    names: tuple[str, ...]
    as_text: bool = True  # False: the column's own value (a Parquet list), not its text
    exact: bool = False  # the name as the header spells it, not compared case-insensitively


@dataclass(frozen=True)
class Key:
    names: tuple[str, ...]


@dataclass(frozen=True)
class Const:
    text: str


@dataclass(frozen=True)
class First:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Expr:
    template: str
    args: tuple[tuple[str, Node], ...]


@dataclass(frozen=True)
class Reader:
    """A column of the reader itself: `line`, `ok` or `doc`."""

    name: str


Node = Json | Column | Key | Const | First | Expr | Reader

LINE = Reader("line")
OK = Reader("ok")
DOC = Reader("doc")


def j(path: str) -> Json:
    """A JSON field by a dotted path of plain keys: `$.usage.prompt_tokens`."""
    if not path.startswith("$."):
        raise ValueError(f"a JSON field path starts with '$.': {path!r}")
    return Json(tuple(path[2:].split(".")))


def col(*names: str, as_text: bool = True, exact: bool = False) -> Column:
    return Column(names, as_text, exact)


def key(*names: str) -> Key:
    return Key(names)


def first(*parts: Node) -> First:
    return First(parts)


def sql(template: str, **args: Node) -> Expr:
    """An SQL expression over fields: each `{name}` of `template` is the field given as `name`."""
    missing = set(_HOLE.findall(template)) - set(args)
    if missing:
        raise ValueError(f"expression {template!r} names fields it is not given: {sorted(missing)}")
    return Expr(template, tuple(args.items()))


_HOLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def walk(node: Node | None) -> Iterator[Node]:
    """`node` and every node inside it, depth first, in order."""
    if node is None:
        return
    yield node
    if isinstance(node, First):
        for part in node.parts:
            yield from walk(part)
    elif isinstance(node, Expr):
        for _, arg in node.args:
            yield from walk(arg)


def first_leaf(node: Node) -> Node:
    """The part a field is taken from first: itself, or the first part of its First."""
    while isinstance(node, First) and node.parts:
        node = node.parts[0]
    return node


def render(node: Node | None, leaf: Callable[[Node], str]) -> str:
    """`node` as SQL, with `leaf` giving the SQL of each Json, Column, Key and Reader node."""
    if node is None:
        return "NULL"
    if isinstance(node, Const):
        return literal(node.text)
    if isinstance(node, First):
        return f"coalesce({', '.join(render(p, leaf) for p in node.parts)})"
    if isinstance(node, Expr):
        done = {name: render(arg, leaf) for name, arg in node.args}
        return _HOLE.sub(lambda m: done[m.group(1)] if m.group(1) in done else m.group(0), node.template)
    return leaf(node)


def literal(text: str) -> str:
    """A text as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


# Expressions several formats share.

def in_json(text: Node, path: str) -> Expr:
    """A field of JSON held as text; NULL when the text is not JSON. `path` is a constant JSONPath."""
    return sql(f"CASE WHEN json_valid({{t}}) THEN json_extract_string({{t}}, {literal(path)}) END", t=text)


def ms_between(start: Node, end: Node) -> Expr:
    """Milliseconds from one timestamp text to another, as text (NULL when either is not a time)."""
    return sql("CAST(date_diff('millisecond', TRY_CAST({a} AS TIMESTAMPTZ), TRY_CAST({b} AS TIMESTAMPTZ)) "
               "AS VARCHAR)", a=start, b=end)


def safe_tags(text: Node) -> Expr:
    """The tag list, dropped when it looks like JSON but is not (one bad row must not fail the file)."""
    return sql("CASE WHEN trim({t}) NOT LIKE '[%' OR json_valid({t}) THEN {t} END", t=text)


def non_blank(text: Node) -> Expr:
    """The text, NULL when it is blank (so a First goes on to its next part)."""
    return sql("nullif(trim({v}), '')", v=text)
