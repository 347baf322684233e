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
    pytest.param(ROUTE + model(period(rates="input = 1e12\noutput = 2\ncache_read = 0\ncache_write = 0\n")),
                 r"model acme/m1 period 0: rate 'input' = 1,000,000,000,000 is over 10,000 per 1M tokens",
                 id="rate-over-10000"),
    pytest.param(ROUTE + model(period(rates="input = 1\noutput = inf\ncache_read = 0\ncache_write = 0\n")),
                 r"rate 'output' is Infinity, not a finite number", id="infinite-rate"),
    pytest.param(ROUTE + model(period(rates="input = 1\noutput = nan\ncache_read = 0\ncache_write = 0\n")),
                 r"rate 'output' is NaN, not a finite number", id="nan-rate"),
    pytest.param(ROUTE + model(period("[[models.periods.tiers]]\nabove_prompt_tokens = 1000\n"
                                      + RATES.replace("output = 2", "output = 20000"))),
                 r"period 0 tier 0: rate 'output' = 20,000 is over 10,000", id="tier-rate-over-10000"),
    pytest.param("models = 5\n" + ROUTE, r"models: must be a list of \[\[models\]\] tables", id="models-not-a-list"),
    pytest.param("models = [5]\n" + ROUTE, r"model 0: must be a table of keys", id="model-not-a-table"),
    pytest.param(ROUTE + model("periods = [1, 2]\n"), r"period 0: must be a table of keys", id="period-not-a-table"),
    pytest.param(ROUTE + model(period("windows = 5\n")), r"model 0: is not shaped as docs/catalog.md describes",
                 id="windows-not-a-list"),
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


def test_the_dearest_rate_and_six_decimals_load(tmp_path):
    rates = "input = 10000\noutput = 9999.999999\ncache_read = 0.000001\ncache_write = 0\n"
    catalog, _ = load(tmp_path, ROUTE + model(period(rates=rates)))
    assert catalog.resolve("m1", "acme").periods[0].rates.input == 10000


BAD_RATE = "input = 1e12\noutput = 2\ncache_read = 0\ncache_write = 0\n"


def test_skip_bad_leaves_out_a_bad_overlay_model_and_keeps_the_rest(tmp_path, caplog):
    base = tmp_path / "acme.toml"
    base.write_text(ROUTE + model(period()) + model(period(), mid="m2"))
    overlay = tmp_path / "local.toml"
    overlay.write_text(ROUTE + model(period(rates=BAD_RATE))
                       + model(period(rates="input = 7\noutput = 2\ncache_read = 0\ncache_write = 0\n"), mid="m2")
                       + model(period(), mid="m3"))
    with pytest.raises(CatalogError, match="over 10,000"):
        load_catalog(paths=[base], overlays=[overlay])
    catalog = load_catalog(paths=[base], overlays=[overlay], skip_bad=True)
    assert catalog.resolve("m1", "acme").periods[0].rates.input == 1  # the shipped price, not the bad one
    assert catalog.resolve("m2", "acme").periods[0].rates.input == 7
    assert catalog.resolve("m3", "acme").id == "m3"
    [problem] = catalog.problems
    assert (problem.file, problem.where) == (str(overlay), "model acme/m1 period 0")
    assert "rate 'input'" in problem.message and "from 0 to 10,000 with at most 6 decimals" in problem.message
    assert [r.getMessage() for r in caplog.records] == [
        f"price entry skipped: {problem} (the rest of the file applies)"]


def test_skip_bad_leaves_out_an_unreadable_overlay_file(tmp_path):
    base = tmp_path / "acme.toml"
    base.write_text(ROUTE + model(period()))
    broken = tmp_path / "local.toml"
    broken.write_text(ROUTE + "[[models]\n")
    catalog = load_catalog(paths=[base], overlays=[broken], skip_bad=True)
    assert [m.id for m in catalog.models] == ["m1"]
    [problem] = catalog.problems
    assert problem.where == "file" and "not valid TOML" in problem.message


def test_skip_bad_leaves_out_an_overlay_model_claiming_a_shipped_alias(tmp_path):
    base = tmp_path / "acme.toml"
    base.write_text(ROUTE + model(period(), aliases='aliases = ["shared"]'))
    overlay = tmp_path / "local.toml"
    overlay.write_text(ROUTE + model(period(), mid="m2", aliases='aliases = ["Shared"]'))
    with pytest.raises(CatalogError, match="claimed by models"):
        load_catalog(paths=[base], overlays=[overlay])
    catalog = load_catalog(paths=[base], overlays=[overlay], skip_bad=True)
    assert catalog.resolve("shared", "acme").id == "m1" and catalog.find("m2", "acme") is None
    assert [p.where for p in catalog.problems] == ["model acme/m2"]


def test_skip_bad_never_spares_a_shipped_file(tmp_path):
    base = tmp_path / "acme.toml"
    base.write_text(ROUTE + model(period(rates=BAD_RATE)))
    with pytest.raises(CatalogError, match="over 10,000"):
        load_catalog(paths=[base], skip_bad=True)


def test_every_shipped_rate_is_within_the_bounds():
    from pricing.catalog import MAX_RATE_PER_MTOK

    catalog = load_catalog(paths=None)
    rates = [r for m in catalog.models for p in m.periods
             for r in (p.rates, *(w.rates for w in p.windows), *(t.rates for t in p.tiers))]
    assert rates and all(0 <= v <= MAX_RATE_PER_MTOK for r in rates for v in vars(r).values() if v is not None)
