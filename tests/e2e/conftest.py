"""The app under `streamlit run` for the browser tests, on a warehouse file of the test's own."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit_app import running_app


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The app's URL and its warehouse, tmp_path/e2e.duckdb: empty, so the first start fills it with demo data
    (a test may prepare that file before asking for this fixture)."""
    db = tmp_path / "e2e.duckdb"
    with running_app(tmp_path / "streamlit.log", {**os.environ, "USAGE_DB": str(db)}) as port:
        yield f"http://127.0.0.1:{port}", db
