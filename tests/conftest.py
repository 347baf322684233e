"""Shared fixtures: real warehouse files in tmp_path, and where the public traces live."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

# No per-example deadline: with the suite on one worker per core (and other work on the machine),
# an example's time measures the load, not the code, and a late example failed as flaky.
settings.register_profile("suite", deadline=None)
settings.load_profile("suite")

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO.parent / "shared" / "fixtures"


@pytest.fixture
def warehouse(tmp_path):
    from dashboard.warehouse import Warehouse

    wh = Warehouse.open(tmp_path / "usage.duckdb")
    yield wh
    wh.close()


@pytest.fixture
def traces() -> Path:
    folder = FIXTURES / "traces"
    if not folder.is_dir():
        pytest.skip(f"public trace fixtures not found at {folder} (they sit beside the project checkout)")
    return folder
