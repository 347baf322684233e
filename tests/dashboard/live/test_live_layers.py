"""The live-call room stays plain: no Streamlit, no DuckDB (the warehouse is passed in)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from support.paths import REPO


@pytest.mark.parametrize("module", ["dashboard.live", pytest.param("dashboard.commands.call", marks=pytest.mark.slow)],
                         ids=["library", "command"])
def test_import_loads_neither_streamlit_nor_duckdb(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        "loaded = sorted(m for m in ('streamlit', 'duckdb', 'pandas') if m in sys.modules)\n"
        "print(','.join(loaded))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""
