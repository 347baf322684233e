"""Fixtures for the forecasts tests: a catalog of round test rates."""

from __future__ import annotations

from pathlib import Path

import pytest
from forecast_helpers import ACME_TOML

from pricing import Catalog, load_catalog


@pytest.fixture
def acme_file(tmp_path: Path) -> Path:
    path = tmp_path / "acme.toml"
    path.write_text(ACME_TOML, encoding="utf-8")
    return path


@pytest.fixture
def acme(acme_file: Path) -> Catalog:
    return load_catalog(paths=[acme_file])
