"""Ingest: one small module per log format, each declaring how it maps to the canonical request table."""

from dashboard.ingest.base import Format, Options, Sample
from dashboard.ingest.importer import (
    ImportResult,
    check_in_background,
    detect,
    import_file,
    plan_file,
    preview,
    sample_file,
)
from dashboard.ingest.plan import ImportPlan, Read, ReadKind, Table, plan

__all__ = ["Format", "ImportPlan", "ImportResult", "Options", "Read", "ReadKind", "Sample", "Table",
           "check_in_background", "detect", "import_file", "plan", "plan_file", "preview", "sample_file"]
