"""The warehouse: DuckDB schema, migrations, connection and queries (the only DuckDB user)."""

from dashboard.warehouse.connection import Warehouse
from dashboard.warehouse.rows import REQUEST_COLUMNS, TOKEN_COLUMNS, key_hint

__all__ = ["REQUEST_COLUMNS", "TOKEN_COLUMNS", "Warehouse", "key_hint"]
