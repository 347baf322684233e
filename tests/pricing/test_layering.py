"""Layering: the engine loads no UI or database, and only the warehouse imports DuckDB."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


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


@pytest.mark.parametrize("module", ["dashboard.forecasts", "dashboard.ingest", "dashboard.live", "dashboard.warehouse"])
def test_library_rooms_do_not_load_streamlit(module):
    assert "streamlit" not in loaded_after(f"import {module}")


def test_only_the_warehouse_imports_duckdb():
    offenders = []
    for path in (REPO / "dashboard").rglob("*.py"):
        if "warehouse" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        if "import duckdb" in text or "from duckdb" in text:
            offenders.append(str(path.relative_to(REPO)))
    assert offenders == []


def test_pricing_imports_nothing_from_dashboard():
    for path in (REPO / "pricing").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "import dashboard" not in text and "from dashboard" not in text, path
