from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.fake_server import FakeOpenAI

from pricing import Catalog, load_catalog

# A route of our own, so exact costs do not move when shipped prices are corrected.
LOOPBACK_PRICES = """
[route]
provider = "loopback"
name = "Loopback test server"
currency = "USD"

[[models]]
id = "fake-model"

[[models.periods]]
source = "tests"
checked = 2026-11-28
input = 0.5
output = 2.0
cache_read = 0.05
cache_write = 0
"""


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def prices_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("prices") / "prices.local.toml"
    path.write_text(LOOPBACK_PRICES, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def catalog(prices_file: Path) -> Catalog:
    """The shipped catalog plus the loopback route."""
    return load_catalog(overlays=[prices_file])
