"""CSV files written by DuckDB itself (COPY), cell by cell as the app's one CSV writer writes them.

The rules for a cell (formula text neutralised, exact decimals, UTC moments) live with that
writer (`dashboard.exports.CSV_SQL`); this module only learns each column's type from
DuckDB and asks the rules for the SQL that writes a value of that type, or takes the cells
a query already made with those rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from dashboard.errors import WarehouseError
from dashboard.warehouse.connection import Warehouse


class CellSql(Protocol):
    """How a CSV writer spells a header and a cell of each kind of value in SQL (see exports.CsvSql)."""

    line_end: str

    def header(self, name: str) -> str: ...

    def cell(self, kind: str, expr: str) -> str: ...


_INTEGERS = frozenset({"tinyint", "smallint", "integer", "bigint", "hugeint", "utinyint", "usmallint", "uinteger",
                       "ubigint", "uhugeint"})
_KINDS = {"varchar": "text", "decimal": "decimal", "boolean": "boolean", "timestamp with time zone": "timestamptz",
          "date": "date", **{name: "integer" for name in _INTEGERS}}
# COPY's own spelling of a line end (an escape sequence it reads), for the line ends a writer may ask for.
_NEW_LINES = {"\r\n": r"'\r\n'", "\n": r"'\n'"}


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def copy_csv(wh: Warehouse, sql: str, params: Mapping[str, Any], path: Path, cells: CellSql,
             order_by: Sequence[str] = (), made: Sequence[str] | None = None) -> None:
    """Write the rows of the SELECT `sql` (named parameters `params`) to `path` as CSV, sorted by its
    columns `order_by`, which are not written.

    Each column's cells are `cells.cell(kind, column)` for the kind of its SQL type, so the
    file holds what the Python writer would make of the same values. The sort is the outer
    query's own: an import may let DuckDB reorder rows that no outer ORDER BY holds.

    `made` names the columns to write, in order, when `sql` has already made every cell with
    `cells.cell` (VARCHAR, NULL for an empty cell): they are written as they are, so a query
    can make a cell once for all the rows or columns that show it, and the query's types are
    not looked up (planning a large query only to learn them costs a tenth of writing it).
    """
    if "csv_path" in params:
        raise WarehouseError("a CSV query may not use the parameter name 'csv_path'; rename it")
    if cells.line_end not in _NEW_LINES:
        raise WarehouseError(f"COPY cannot end CSV rows with {cells.line_end!r}; use one of {list(_NEW_LINES)!r}")
    if made is not None:
        columns = [f"CAST(r.{_ident(name)} AS VARCHAR) AS {_ident(cells.header(name))}" for name in made]
    else:
        columns = _cell_columns(wh, sql, params, cells, order_by)
    order = f"ORDER BY {', '.join('r.' + _ident(name) for name in order_by)}" if order_by else ""
    # The empty comment character keeps COPY from quoting every value that holds a '#'.
    wh.query(
        f"""
        COPY (SELECT {", ".join(columns)} FROM ({sql}) AS r {order}) TO $csv_path
        (FORMAT csv, HEADER true, DELIMITER ',', QUOTE '"', ESCAPE '"', COMMENT '',
         NEW_LINE {_NEW_LINES[cells.line_end]})
        """,
        {**params, "csv_path": str(path)},
    ).fetchall()


def _cell_columns(wh: Warehouse, sql: str, params: Mapping[str, Any], cells: CellSql,
                  order_by: Sequence[str]) -> list[str]:
    """The written columns of `sql`, each as the cells of its SQL type's kind, named by its header."""
    columns = []
    for name, sql_type, *_ in wh.query(f"SELECT * FROM ({sql}) LIMIT 0", params).description:
        if name in order_by:
            continue
        kind = _KINDS.get(sql_type.id)
        if kind is None:
            raise WarehouseError(f"column {name!r} of a CSV export is {sql_type}, which has no CSV cell; cast it")
        columns.append(f"{cells.cell(kind, 'r.' + _ident(name))} AS {_ident(cells.header(name))}")
    return columns
