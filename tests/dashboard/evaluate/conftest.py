from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from eval_server import EvalServer

from pricing import Catalog, load_catalog

REPO = Path(__file__).resolve().parents[3]
SUITE = REPO / "examples" / "suites" / "representative.yaml"

# Rates per 1M tokens of the loopback route's models: (input, cache_read, output).
RATES = {
    "oracle": (Decimal("1.0"), Decimal("0.1"), Decimal("4.0")),
    "sometimes": (Decimal("0.2"), Decimal("0.02"), Decimal("0.8")),
    "toolbot": (Decimal("0.2"), Decimal("0.02"), Decimal("0.8")),
    "flaky": (Decimal("0.2"), Decimal("0.02"), Decimal("0.8")),
    "leaky": (Decimal("0.2"), Decimal("0.02"), Decimal("0.8")),
}


def prices_toml() -> str:
    out = ['[route]\nprovider = "loopback"\nname = "Loopback evaluation server"\ncurrency = "USD"\n']
    for model, (i, cr, o) in RATES.items():
        out.append(f'[[models]]\nid = "{model}"\n\n[[models.periods]]\nsource = "tests"\nchecked = 2026-11-28\n'
                   f"input = {i}\noutput = {o}\ncache_read = {cr}\ncache_write = 0\n")
    return "\n".join(out)


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
