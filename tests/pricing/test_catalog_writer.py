"""The one catalog writer: what it writes loads back as the same prices, and no text breaks out of its place."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from pricing import load_catalog
from pricing.catalog_writer import Commented, period_doc, to_toml


def test_every_shipped_price_round_trips(tmp_path: Path) -> None:
    shipped = load_catalog()
    paths = []
    for provider, route in shipped.routes.items():
        models = [
            {"id": m.id, **({"aliases": list(m.aliases)} if m.aliases else {}),
             "periods": [period_doc(p, route.currency) for p in m.periods]}
            for m in shipped.models if m.provider == provider
        ]
        doc = {"route": {"provider": provider, "name": route.name, "currency": route.currency}, "models": models}
        path = tmp_path / f"{provider}.toml"
        path.write_text(to_toml(doc, "# written back\n"), encoding="utf-8")
        paths.append(path)
    again = load_catalog(paths=paths)
    assert [(m.route, m.aliases, m.periods) for m in again.models] == [
        (m.route, m.aliases, m.periods) for m in shipped.models]


@pytest.mark.parametrize("text", ["a\nb = 1", 'quote " and \\ backslash', "tab\tand ü", "del \x7f"],
                         ids=["newline", "quote", "tab-unicode", "del"])
def test_strings_and_comments_stay_in_their_place(text: str) -> None:
    doc = {"route": {"provider": "acme", "name": text, "currency": "USD"},
           "models": [Commented({"id": text, "periods": [{"source": text, "input": Decimal("0.1")}]},
                                [f"note: {text}"])]}
    written = to_toml(doc)
    parsed = tomllib.loads(written)
    assert parsed["route"]["name"] == text and parsed["models"][0]["id"] == text
    assert parsed["models"][0]["periods"][0] == {"source": text, "input": 0.1}
    assert set(parsed) == {"route", "models"} and set(parsed["models"][0]) == {"id", "periods"}
