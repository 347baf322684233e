from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.fake_server import FakeOpenAI
from support.loopback import route_toml

from pricing import Catalog, load_catalog

LOOPBACK_PRICES = route_toml("Loopback test server", {"fake-model": ("0.5", "0.05", "2.0")})


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
