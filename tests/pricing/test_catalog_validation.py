"""One test per catalog rule: each error names the file, the entry and the fix."""

import textwrap

import pytest

from pricing import CatalogError, load_catalog

ROUTE = '[route]\nprovider = "acme"\n'
PERIOD = 'source = "https://acme.example/pricing"\nchecked = 2026-11-28\n'
RATES = "input = 1\noutput = 2\ncache_read = 0.1\ncache_write = 0\n"


def model(body: str, mid: str = "m1", aliases: str = "") -> str:
    return f'[[models]]\nid = "{mid}"\n{aliases}\n{body}'


def period(extra: str = "", rates: str = RATES, start: str = "") -> str:
    return f"[[models.periods]]\n{start}{PERIOD}{rates}{extra}"


def load(tmp_path, text: str, name: str = "acme.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return load_catalog(paths=[path]), path


RULES = [
    pytest.param(ROUTE + model(period("colour = 1\n")), r"unknown key 'colour'.*check the spelling", id="unknown-key"),
    pytest.param(ROUTE + model(period(rates="input = 1\noutput = 2\ncache_read = 0\n")),
                 r"missing rate 'cache_write'; write `cache_write = 0` if it is free", id="missing-rate"),
    pytest.param(ROUTE + model(period(rates="input = -1\noutput = 2\ncache_read = 0\ncache_write = 0\n")),
                 r"rate 'input' is negative", id="negative-rate"),
    pytest.param(ROUTE + model(period(rates="input = 0.1234567\noutput = 2\ncache_read = 0\ncache_write = 0\n")),
                 r"more than 6 decimals", id="too-many-decimals"),
    pytest.param(ROUTE + model(period(start="effective_from = 2026-05-01\n") + period(start="effective_from = 2026-01-01\n")),
                 r"period 1: starts before period 0.*move period 1 -> 0", id="periods-out-of-order"),
    pytest.param(ROUTE + model(period(start="effective_from = 2026-05-01\n") + period(start="effective_from = 2026-05-01\n")),
                 r"starts on the same date as period 0", id="overlapping-periods"),
    pytest.param(ROUTE + model(period() + period()), r"missing effective_from; only the first period may omit it",
                 id="open-start-after-first"),
    pytest.param(ROUTE + model(period("[[models.periods.windows]]\nname = \"a\"\nhours = [[1, 5]]\n" + RATES
                                      + "[[models.periods.windows]]\nname = \"b\"\nhours = [[4, 6]]\n" + RATES)),
                 r"overlaps window 'a' on mon at 04:00 UTC", id="overlapping-windows"),
    pytest.param(ROUTE + model(period("[[models.periods.windows]]\nweekdays = [\"funday\"]\nhours = [[1, 2]]\n" + RATES)),
                 r"weekday 'funday' is not one of", id="bad-weekday"),
    pytest.param(ROUTE + model(period("[[models.periods.windows]]\nhours = [[20, 25]]\n" + RATES)),
                 r"hours \[20, 25\] must be \[start, end\]", id="bad-hours"),
    pytest.param(ROUTE + model(period("[[models.periods.tiers]]\nabove_prompt_tokens = 200000\n" + RATES
                                      + "[[models.periods.tiers]]\nabove_prompt_tokens = 100000\n" + RATES)),
                 r"must be larger than the previous tier's 200000", id="tiers-not-ascending"),
    pytest.param(ROUTE + model(period()) + model(period()), r"duplicate model id 'm1'; merge", id="duplicate-id"),
    pytest.param(ROUTE + model(period(), aliases='aliases = ["shared"]')
                 + model(period(), mid="m2", aliases='aliases = ["Shared"]'),
                 r"alias 'Shared' is claimed by models 'm1' and 'm2'", id="alias-claimed-twice"),
    pytest.param(model(period()), r"missing \[route\] table", id="missing-route"),
    pytest.param(ROUTE + model("[[models.periods]]\n" + RATES), r"missing 'source'", id="missing-source"),
    pytest.param(ROUTE + "[[models]\n", r"not valid TOML", id="bad-toml"),
]


@pytest.mark.parametrize(("text", "message"), RULES)
def test_rule(tmp_path, text, message):
    with pytest.raises(CatalogError, match=message) as info:
        load(tmp_path, text)
    assert "acme.toml" in str(info.value)


def test_provider_defined_by_two_files(tmp_path):
    a = tmp_path / "a.toml"
    b = tmp_path / "b.toml"
    a.write_text(ROUTE + model(period()))
    b.write_text(ROUTE + model(period(), mid="m2"))
    with pytest.raises(CatalogError, match=r"provider 'acme' is already defined by .*a.toml"):
        load_catalog(paths=[a, b])


def test_valid_file_with_window_tier_and_history_loads(tmp_path):
    text = ROUTE + model(
        period(start="effective_from = 2026-01-01\n")
        + period(
            "[[models.periods.windows]]\nname = \"peak\"\nweekdays = [\"mon\"]\nhours = [[1, 4]]\n" + RATES
            + "[[models.periods.tiers]]\nabove_prompt_tokens = 1000\n" + RATES,
            start="effective_from = 2026-06-01T16:00:00Z\n",
        ),
        aliases='aliases = ["acme/m1"]',
    )
    catalog, _ = load(tmp_path, text)
    entry = catalog.resolve("ACME/M1", "acme")
    assert [p.effective_from.isoformat() for p in entry.periods] == [
        "2026-01-01T00:00:00+00:00", "2026-06-01T16:00:00+00:00"]
    assert entry.periods[0].effective_to == entry.periods[1].effective_from
    assert entry.periods[1].windows[0].name == "peak"


def test_overlay_replaces_a_models_periods_and_adds_models(tmp_path):
    base = tmp_path / "acme.toml"
    base.write_text(ROUTE + model(period()))
    overlay = tmp_path / "local.toml"
    overlay.write_text(ROUTE + model(period(rates="input = 0.5\noutput = 1\ncache_read = 0\ncache_write = 0\n"))
                       + model(period(), mid="m9"))
    catalog = load_catalog(paths=[base], overlays=[overlay])
    assert str(catalog.resolve("m1", "acme").periods[0].rates.input) == "0.5"
    assert catalog.resolve("m9", "acme").id == "m9"
