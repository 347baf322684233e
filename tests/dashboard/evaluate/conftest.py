from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.eval_server import EvalServer, prices_toml

from pricing import Catalog, load_catalog


@pytest.fixture
def server() -> Iterator[EvalServer]:
    s = EvalServer().start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="session")
def prices_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("prices") / "prices.local.toml"
    path.write_text(prices_toml(), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def catalog(prices_file: Path) -> Catalog:
    return load_catalog(overlays=[prices_file])
