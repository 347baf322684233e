"""Reprice history: actual vs what-if on another route, price list or cache hit rate, exact to the token."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from dashboard.errors import DashboardError
from dashboard.warehouse import Warehouse
from dashboard.warehouse.queries import Filters
from dashboard.warehouse.reprice import reprice, request_samples, traffic_history
from pricing import CATALOG_DIR, load_catalog

M = 1_000_000
TS = datetime(2026, 11, 2, 10, 30, tzinfo=UTC)  # a Monday, outside every time-of-day window used here
LATER = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

# (id, provider, model, project, ts, input, cache_read, cache_write, cache_write_1h, output, reasoning)
REQUESTS = [
    ("r1", "openai", "gpt-5.4-mini", "alpha", TS, 1000, 400, 0, 0, 200, 0),
    ("r2", "anthropic", "claude-sonnet-4-5", "beta", TS, 2000, 0, 300, 100, 500, 0),
    ("r3", "acme", "acme-unpriced", "alpha", TS, 500, 0, 0, 0, 50, 0),
    ("r4", "openai", "gpt-5.4-mini", "beta", LATER, 3000, 0, 0, 0, 100, 40),
    ("r5", "openai", "gpt-5.4-mini", "alpha", LATER, 5, 0, 0, 0, 0, 0),
]

# Per-1M rates of the shipped catalog (openai.toml, anthropic.toml, ourtoken.toml).
MINI = {"input": Decimal("0.75"), "cache_read": Decimal("0.075"), "cache_write": Decimal(0),
        "cache_write_1h": Decimal(0), "output": Decimal("4.5")}
SONNET = {"input": Decimal(3), "cache_read": Decimal("0.3"), "cache_write": Decimal("3.75"),
          "cache_write_1h": Decimal(6), "output": Decimal(15)}
FLASH = {"input": Decimal("0.1120"), "cache_read": Decimal("0.0020"), "cache_write": Decimal(0),
         "cache_write_1h": Decimal(0), "output": Decimal("0.2240")}
CHEAP_MINI = {"input": Decimal(1), "cache_read": Decimal("0.5"), "cache_write": Decimal(0),
              "cache_write_1h": Decimal(0), "output": Decimal(2)}


def usd(rates: dict[str, Decimal], i: int, cr: int, cw: int, cw1h: int, o: int) -> Decimal:
    """Reasoning is billed as output on every route used here."""
    return (rates["input"] * i + rates["cache_read"] * cr + rates["cache_write"] * cw
            + rates["cache_write_1h"] * cw1h + rates["output"] * o) / M


ACTUAL = {
    "r1": usd(MINI, 1000, 400, 0, 0, 200),
    "r2": usd(SONNET, 2000, 0, 300, 100, 500),
    "r4": usd(MINI, 3000, 0, 0, 0, 100),
    "r5": usd(MINI, 5, 0, 0, 0, 0),
}


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("reprice") / "usage.duckdb"
    with Warehouse.open(path, catalog=load_catalog()) as w:
        w.insert_requests([
            {"source": "test", "request_id": rid, "ts": ts, "provider": p, "model": m, "project": proj,
             "input_tokens": i, "cache_read_tokens": cr, "cache_write_tokens": cw, "cache_write_1h_tokens": cw1h,
             "output_tokens": o, "reasoning_tokens": r}
            for rid, p, m, proj, ts, i, cr, cw, cw1h, o, r in REQUESTS
        ])
        yield w


@pytest.fixture(scope="module")
def overlay(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("overlay") / "cheaper.toml"
    path.write_text(
        '[route]\nprovider = "openai"\nname = "OpenAI"\ncurrency = "USD"\n\n'
        '[[models]]\nid = "gpt-5.4-mini"\n\n[[models.periods]]\nsource = "test"\nchecked = 2026-11-28\n'
        "input = 1\noutput = 2\ncache_read = 0.5\ncache_write = 0\n",
        encoding="utf-8",
    )
    return path


def row(result, model: str):
    return next(r for r in result.rows if r.model == model)


def plain_sum(wh: Warehouse, filters: Filters) -> Decimal:
    where, params = filters.where("q")
    return wh.query(f"SELECT coalesce(sum(cost), 0) FROM ({wh.priced_sql()}) AS q WHERE {where}", params).fetchone()[0]


@pytest.mark.slow
def test_no_change_gives_what_if_equal_to_actual(wh):
    result = reprice(wh, Filters())
    assert result.actual_usd == sum(ACTUAL.values())
    assert result.whatif_usd == result.actual_usd
    assert result.difference_usd == 0
    assert result.requests == 5
    assert (result.actual_unpriced, result.whatif_unpriced) == (1, 1)


def test_route_swap_prices_every_request_on_the_route(wh):
    result = reprice(wh, Filters(), route="ourtoken/deepseek-v4-flash")
    flash = {
        "r1": usd(FLASH, 1000, 400, 0, 0, 200),
        "r2": usd(FLASH, 2000, 0, 300, 100, 500),
        "r3": usd(FLASH, 500, 0, 0, 0, 50),
        "r4": usd(FLASH, 3000, 0, 0, 0, 100),
        "r5": usd(FLASH, 5, 0, 0, 0, 0),
    }
    assert result.actual_usd == sum(ACTUAL.values())
    assert result.whatif_usd == sum(flash.values())
    # The unpriced request gains a price on the route; it is left out of the difference.
    assert result.difference_usd == sum(flash[k] - ACTUAL[k] for k in ACTUAL)
    assert (result.actual_unpriced, result.whatif_unpriced) == (1, 0)
    acme = row(result, "acme-unpriced")
    assert (acme.actual_usd, acme.whatif_usd, acme.difference_usd) == (0, flash["r3"], 0)
    mini = row(result, "gpt-5.4-mini")
    assert mini.requests == 3
    assert mini.whatif_usd == flash["r1"] + flash["r4"] + flash["r5"]


@pytest.mark.slow
def test_alternative_catalog_from_an_overlay(wh, overlay):
    catalog = load_catalog(sorted(CATALOG_DIR.glob("*.toml")), overlays=[overlay])
    result = reprice(wh, Filters(), catalog=catalog, price_list="cheaper.toml")
    mini = row(result, "gpt-5.4-mini")
    assert mini.whatif_usd == usd(CHEAP_MINI, 1000, 400, 0, 0, 200) + usd(CHEAP_MINI, 3000, 0, 0, 0, 100) + usd(
        CHEAP_MINI, 5, 0, 0, 0, 0)
    assert mini.actual_usd == ACTUAL["r1"] + ACTUAL["r4"] + ACTUAL["r5"]
    assert row(result, "claude-sonnet-4-5").difference_usd == 0
    assert result.price_list == "cheaper.toml"
    assert result.whatif_unpriced == 1
    # The temporary tables are gone and the warehouse's own prices are untouched.
    assert reprice(wh, Filters()).whatif_usd == sum(ACTUAL.values())


@pytest.mark.slow
def test_alternative_catalog_with_a_route_takes_the_route_from_that_catalog(wh, overlay):
    catalog = load_catalog(sorted(CATALOG_DIR.glob("*.toml")), overlays=[overlay])
    result = reprice(wh, Filters(projects=("beta",)), catalog=catalog, route="openai/gpt-5.4-mini")
    assert result.whatif_usd == usd(CHEAP_MINI, 2000, 0, 300, 100, 500) + usd(CHEAP_MINI, 3000, 0, 0, 0, 100)


@pytest.mark.parametrize(
    ("rate", "split"),
    [
        # rid -> (input, cache_read, cache_write, cache_write_1h) after the re-split
        ("0.5", {"r1": (700, 700, 0, 0), "r2": (800, 1200, 300, 100), "r4": (1500, 1500, 0, 0),
                 "r5": (3, 2, 0, 0)}),  # 2.5 -> 2: half-even
        ("0.9", {"r1": (140, 1260, 0, 0), "r2": (0, 2160, 240, 0), "r4": (300, 2700, 0, 0),
                 "r5": (1, 4, 0, 0)}),  # writes give way to reads; 4.5 -> 4
        ("0", {"r1": (1400, 0, 0, 0), "r2": (2000, 0, 300, 100), "r4": (3000, 0, 0, 0), "r5": (5, 0, 0, 0)}),
    ],
    ids=["half", "writes-give-way", "no-cache"],
)
def test_cache_hit_rate_resplits_each_prompt(wh, rate, split):
    result = reprice(wh, Filters(), cache_hit_rate=Decimal(rate))
    output = {"r1": 200, "r2": 500, "r4": 100, "r5": 0}
    rates = {"r1": MINI, "r2": SONNET, "r4": MINI, "r5": MINI}
    expected = {k: usd(rates[k], *split[k], output[k]) for k in split}
    assert result.whatif_usd == sum(expected.values())
    assert result.difference_usd == sum(expected[k] - ACTUAL[k] for k in expected)
    assert result.cache_hit_rate == Decimal(rate)


def test_cache_hit_rate_on_another_route(wh):
    result = reprice(wh, Filters(projects=("alpha",)), route="ourtoken/deepseek-v4-flash",
                     cache_hit_rate=Decimal("0.5"))
    assert result.whatif_usd == (usd(FLASH, 700, 700, 0, 0, 200) + usd(FLASH, 250, 250, 0, 0, 50)
                                 + usd(FLASH, 3, 2, 0, 0, 0))


@pytest.mark.slow
@pytest.mark.parametrize(
    "filters",
    [
        Filters(),
        Filters(projects=("beta",)),
        Filters(start=LATER),
        Filters(end=LATER, providers=("openai", "acme")),
        Filters(models=("gpt-5.4-mini",), tz="Europe/Berlin"),
    ],
    ids=["all", "project", "from", "until-providers", "model"],
)
def test_filters_respected_and_actual_equals_the_priced_sql(wh, filters):
    for kwargs in ({}, {"route": "anthropic/claude-sonnet-4-5"}, {"cache_hit_rate": Decimal("0.3")}):
        result = reprice(wh, filters, **kwargs)
        assert result.actual_usd == plain_sum(wh, filters)
        where, params = filters.where("q")
        count = wh.query(f"SELECT coalesce(sum(request_count), 0) FROM requests AS q WHERE {where}",
                         params).fetchone()[0]
        assert result.requests == count


def test_frame_keeps_decimal_money(wh):
    frame = reprice(wh, Filters(), route="ourtoken/deepseek-v4-flash").frame()
    assert frame["model"].iloc[0] == "claude-sonnet-4-5"  # largest actual cost first
    assert all(isinstance(v, Decimal) for v in frame["whatif_usd"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"route": "gpt-5.4-mini"}, "PROVIDER/MODEL"),
        ({"route": "openai/gpt-9"}, "no price for model 'gpt-9'"),
        ({"cache_hit_rate": Decimal("1.5")}, "between 0 and 1"),
        ({"cache_hit_rate": Decimal("0.1234567890123")}, "at most 12 decimals"),
    ],
    ids=["no-slash", "unknown-model", "rate-above-1", "too-many-decimals"],
)
def test_bad_choices_say_what_to_fix(wh, kwargs, message):
    from pricing import PricingError

    with pytest.raises((DashboardError, PricingError), match=message):
        reprice(wh, Filters(), **kwargs)


def test_traffic_history_is_daily_and_gap_filled(wh):
    frame = traffic_history(wh, Filters())
    assert list(frame["day"].astype(str)) == [f"2026-11-{d:02d}" for d in range(2, 21)]
    first, last = frame.iloc[0], frame.iloc[-1]
    assert (first["requests"], first["input_tokens"], first["cache_write_tokens"]) == (3, 3500, 400)
    assert (last["requests"], last["reasoning_tokens"]) == (2, 40)
    assert frame["requests"].sum() == 5 and frame.iloc[5]["requests"] == 0


def test_request_samples_are_repeatable_and_bounded(wh):
    a = request_samples(wh, Filters(), limit=3, seed=7)
    b = request_samples(wh, Filters(), limit=3, seed=7)
    assert len(a) == 3 and a.equals(b)
    everything = request_samples(wh, Filters(projects=("beta",)), limit=100)
    assert sorted(everything["input_tokens"]) == [2000, 3000]
    assert sorted(everything["cache_write_tokens"]) == [0, 400]
    assert str(everything["output_tokens"].dtype) == "int64"
