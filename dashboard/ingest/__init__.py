"""Ingest: one small module per log format, each declaring how it maps to the canonical request table.

Every name here loads its module when first asked for (PEP 562), so a module of this package
loads no more than it imports itself: the import command starts its file's check
(files.check_in_background) before the formats, the planner and DuckDB load. The formats and
the planner load no DuckDB; the importer does.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dashboard.ingest.base import Format, Options, Sample
    from dashboard.ingest.importer import ImportResult, detect, import_file, plan_file, preview, sample_file
    from dashboard.ingest.planner import ImportPlan, Read, ReadKind, Table, plan

_HOMES = {
    **dict.fromkeys(("Format", "Options", "Sample"), "base"),
    **dict.fromkeys(("ImportPlan", "Read", "ReadKind", "Table", "plan"), "planner"),
    **dict.fromkeys(("ImportResult", "detect", "import_file", "plan_file", "preview", "sample_file"), "importer"),
}

__all__ = ["Format", "ImportPlan", "ImportResult", "Options", "Read", "ReadKind", "Sample", "Table",
           "detect", "import_file", "plan", "plan_file", "preview", "sample_file"]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(f"dashboard.ingest.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
