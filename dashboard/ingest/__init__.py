"""Ingest: one small module per log format, each declaring how it maps to the canonical request table.

The formats and the plan load no DuckDB; the names of the importer, which does, load it when
first asked for (PEP 562). So a command can list the formats and start a file's check
(files.check_in_background) before DuckDB's start-up cost is paid.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from dashboard.ingest.base import Format, Options, Sample
from dashboard.ingest.plan import ImportPlan, Read, ReadKind, Table, plan

if TYPE_CHECKING:
    from dashboard.ingest.importer import ImportResult, detect, import_file, plan_file, preview, sample_file

_IMPORTER = ("ImportResult", "detect", "import_file", "plan_file", "preview", "sample_file")

__all__ = ["Format", "ImportPlan", "ImportResult", "Options", "Read", "ReadKind", "Sample", "Table",
           "detect", "import_file", "plan", "plan_file", "preview", "sample_file"]


def __getattr__(name: str) -> Any:
    if name in _IMPORTER:
        return getattr(importlib.import_module("dashboard.ingest.importer"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
