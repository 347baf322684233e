"""Ingest: one small module per log format, all mapped to the canonical request table."""

from dashboard.ingest.base import Options, Sample
from dashboard.ingest.importer import ImportResult, detect, import_file, preview, sample_file

__all__ = ["ImportResult", "Options", "Sample", "detect", "import_file", "preview", "sample_file"]
