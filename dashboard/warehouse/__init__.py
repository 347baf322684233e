"""The warehouse: DuckDB schema, migrations, connection and queries (the only DuckDB user).

Its names load DuckDB when first asked for (PEP 562): `contract`, the data an import's plan is
written against, loads without it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dashboard.warehouse.connection import Warehouse
    from dashboard.warehouse.rows import REQUEST_COLUMNS, TOKEN_COLUMNS, key_hint

_HOMES = {"Warehouse": "connection", "REQUEST_COLUMNS": "rows", "TOKEN_COLUMNS": "rows", "key_hint": "rows"}

__all__ = ["REQUEST_COLUMNS", "TOKEN_COLUMNS", "Warehouse", "key_hint"]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(f"dashboard.warehouse.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
