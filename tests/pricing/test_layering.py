"""Layering: the engine loads no UI or database, and only the warehouse imports DuckDB."""

import subprocess
import sys
from pathlib import Path

import pytest
from support.paths import REPO


def loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    return {m.split(".")[0] for m in out.stdout.split()}


@pytest.mark.parametrize("statement", [
    "import pricing; pricing.cost",
    "import pricing.overrides, pricing.comparison, pricing.litellm, pricing.catalog_writer",
], ids=["engine", "catalog-editing"])
def test_import_pricing_loads_no_ui_or_database(statement):
    loaded = loaded_after(statement)
    assert not loaded & {"streamlit", "duckdb", "pandas", "plotly", "dashboard"}


@pytest.mark.slow
@pytest.mark.parametrize("module", ["dashboard.forecasts", "dashboard.ingest", "dashboard.live", "dashboard.warehouse"])
def test_library_rooms_do_not_load_streamlit(module):
    assert "streamlit" not in loaded_after(f"import {module}")


def _imports(path: Path, module: str) -> bool:
    text = path.read_text(encoding="utf-8")
    return f"import {module}" in text or f"from {module}" in text


def test_only_the_warehouse_and_the_import_loader_import_duckdb():
    """The warehouse owns the file; the import's loader runs its plan's reads on the warehouse's cursor
    (DuckDB's own readers) and tells their errors apart. Pages, commands and the rest go through them."""
    offenders = [
        str(path.relative_to(REPO)) for path in (REPO / "dashboard").rglob("*.py")
        if "warehouse" not in path.parts and path != REPO / "dashboard/ingest/loader.py" and _imports(path, "duckdb")
    ]
    assert offenders == []


def test_the_warehouse_imports_nothing_from_ingest():
    offenders = [str(path.relative_to(REPO)) for path in (REPO / "dashboard/warehouse").rglob("*.py")
                 if _imports(path, "dashboard.ingest")]
    assert offenders == []


def test_pricing_imports_nothing_from_dashboard():
    for path in (REPO / "pricing").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "import dashboard" not in text and "from dashboard" not in text, path
