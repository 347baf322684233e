"""Local price overrides against real files and a real DuckDB warehouse; route comparison; price history."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from dashboard.warehouse import Warehouse
from pricing import CatalogError, UnknownModelError, Usage, load_catalog
from pricing.comparison import price_history, route_comparison
from pricing.overrides import discount_override, remove_override, save_override

M = 1_000_000
ACME = """
[route]
provider = "acme"
name = "Acme AI"
currency = "USD"

[[models]]
id = "small"
aliases = ["small-latest"]

[[models.periods]]
source = "launch"
checked = 2026-01-01
input = 0.5
output = 2
cache_read = 0.05
cache_write = 0.625

[[models.periods]]
effective_from = 2026-06-01T12:00:00Z
source = "peak pricing"
checked = 2026-01-02
input = 0.4
output = 1.6
cache_read = 0.000123
cache_write = 0

  [[models.periods.windows]]
  name = "peak"
  weekdays = ["mon", "tue", "wed", "thu", "fri"]
  hours = [[1, 4], [6, 10]]
  input = 0.8
  output = 3.2
  cache_read = 0.000246
  cache_write = 0

[[models]]
id = "big"

[[models.periods]]
source = "launch"
checked = 2026-01-01
input = 3
output = 15
cache_read = 0.3
cache_write = 3.75
cache_write_1h = 6

  [[models.periods.tiers]]
  above_prompt_tokens = 200000
  input = 6
  output = 22.5
  cache_read = 0.6
  cache_write = 7.5
  cache_write_1h = 12

[[models]]
id = "future"

[[models.periods]]
effective_from = 2027-01-01
source = "announced"
checked = 2026-01-01
input = 0.1
output = 0.2
cache_read = 0.01
cache_write = 0
"""
RESELL = """
[route]
provider = "resell"
name = "Resell"
upstream = "acme"
factor = 0.8

[[models]]
id = "small"

[[models.periods]]
source = "route page"
checked = 2026-01-01
input = 0.32
output = 1.28
cache_read = 0.000098
cache_write = 0
"""
RATES = {"input": Decimal("0.3"), "output": Decimal("1.2"), "cache_read": Decimal("0.0001"), "cache_write": 0}


@pytest.fixture
def shipped(tmp_path: Path) -> list[Path]:
    paths = [tmp_path / "acme.toml", tmp_path / "resell.toml"]
    paths[0].write_text(ACME, encoding="utf-8")
    paths[1].write_text(RESELL, encoding="utf-8")
    return paths


@pytest.fixture
def local(tmp_path: Path) -> Path:
    return tmp_path / "data" / "prices.local.toml"


def _costs(wh: Warehouse) -> dict[str, Decimal | None]:
    return dict(wh.query(f"SELECT request_id, cost FROM ({wh.priced_sql()}) ORDER BY request_id").fetchall())


@pytest.mark.slow
def test_override_reprices_history_in_the_warehouse(tmp_path, shipped, local):
    wh = Warehouse.open(tmp_path / "usage.duckdb", catalog=load_catalog(paths=shipped, overlays=[local]))

    def req(rid, ts, model, **tokens):
        return {"source": "t", "request_id": rid, "ts": ts, "provider": "acme", "model": model, **tokens}

    wh.insert_requests([
        req("a", datetime(2026, 7, 8, 12, tzinfo=UTC), "small", input_tokens=1_000_000, output_tokens=500_000),
        req("b", datetime(2026, 5, 10, 12, tzinfo=UTC), "small-latest", input_tokens=2_000_000),
        req("c", datetime(2026, 7, 8, 7, tzinfo=UTC), "small", input_tokens=1_000_000),  # Wednesday, peak
        req("d", datetime(2026, 6, 10, 7, tzinfo=UTC), "small", input_tokens=1_000_000),  # peak, before the override
    ])
    assert _costs(wh) == {
        "a": 1_000_000 * Decimal("0.4") / M + 500_000 * Decimal("1.6") / M,
        "b": 2_000_000 * Decimal("0.5") / M,
        "c": 1_000_000 * Decimal("0.8") / M,
        "d": 1_000_000 * Decimal("0.8") / M,
    }

    catalog = save_override(local, "acme", "small", RATES, date(2026, 7, 1), "contract #12", catalog_paths=shipped)
    wh.reload_catalog(catalog)
    assert _costs(wh) == {
        "a": 1_000_000 * Decimal("0.3") / M + 500_000 * Decimal("1.2") / M,
        "b": 2_000_000 * Decimal("0.5") / M,  # history before the override keeps its price, and the alias
        "c": 1_000_000 * Decimal("0.3") / M,  # the new period has no peak window
        "d": 1_000_000 * Decimal("0.8") / M,  # the copied period keeps its window
    }
    wh.close()


def test_override_keeps_earlier_periods_exactly(shipped, local):
    before = load_catalog(paths=shipped).resolve("big", "acme")
    catalog = save_override(local, "acme", "big", {**RATES, "cache_write_1h": "0.5"}, date(2026, 9, 1), "deal",
                            catalog_paths=shipped)
    after = catalog.resolve("big", "acme")
    assert len(after.periods) == 2
    old, new = after.periods
    assert (old.rates, old.tiers, old.source, old.checked, old.currency) == (
        before.periods[0].rates, before.periods[0].tiers, "launch", date(2026, 1, 1), "USD")
    assert old.effective_to == new.effective_from == datetime(2026, 9, 1, tzinfo=UTC)
    assert new.rates.cache_write_1h == Decimal("0.5") and new.tiers == ()
    text = local.read_text(encoding="utf-8")
    assert "cache_read = 0.0001\n" in text and "output = 22.5\n" in text  # decimals as written, no exponent
    assert tomllib.loads(text, parse_float=Decimal)["route"]["provider"] == "acme"


def test_override_without_date_replaces_all_history(shipped, local):
    catalog = save_override(local, "acme", "small", RATES, None, "flat deal", catalog_paths=shipped)
    history = price_history(catalog, "acme", "small")
    assert [(h["effective_from"], h["effective_to"], h["input"]) for h in history] == [(None, None, Decimal("0.3"))]


def test_override_named_by_alias_targets_its_entry(shipped, local):
    catalog = save_override(local, "acme", "small-latest", RATES, date(2026, 7, 1), "deal", aliases=["acme-s"],
                            catalog_paths=shipped)
    entry = catalog.resolve("acme-s", "acme")
    assert entry.id == "small" and entry.aliases == ("small-latest", "acme-s")
    assert len(entry.periods) == 3
    # A second override of the same model replaces the local period, it does not stack another.
    catalog = save_override(local, "acme", "small", {**RATES, "input": "0.25"}, date(2026, 7, 1), "deal v2",
                            catalog_paths=shipped)
    periods = catalog.resolve("small", "acme").periods
    assert [p.rates.input for p in periods] == [Decimal("0.5"), Decimal("0.4"), Decimal("0.25")]


def test_new_route_and_text_round_trip(shipped, local):
    source = 'He said "hi" \\ über\nline two\ttab'
    catalog = save_override(local, "NewCo", "m1", RATES, datetime(2026, 3, 1, 6, 30, tzinfo=UTC), source,
                            base_url="https://api.newco.example/v1", catalog_paths=shipped)
    assert catalog.routes["newco"].base_url == "https://api.newco.example/v1"
    period = catalog.resolve("m1", "newco").periods[0]
    assert period.source == source and period.effective_from == datetime(2026, 3, 1, 6, 30, tzinfo=UTC)
    assert "acme" in catalog.routes  # the shipped catalog is still there


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rates": {**RATES, "input": "-1"}}, "negative"),
        ({"rates": {**RATES, "input": "0.1234567"}}, "more than 6 decimals"),
        ({"rates": {k: v for k, v in RATES.items() if k != "output"}}, "missing rate 'output'"),
        ({"rates": {**RATES, "input": 0.3}}, "float"),
        ({"rates": {**RATES, "inptu": "1"}}, "unknown rate 'inptu'"),
        ({"provider": "resell"}, "one route"),
        ({"aliases": ["big"]}, "claimed by models"),
        ({"source": " "}, "needs a source"),
        ({"rates": {**RATES, "input": "1e12"}}, r"rate 'input' = 1,000,000,000,000 is over 10,000 per 1M tokens"),
        ({"rates": {**RATES, "output": "10000.000001"}}, r"rate 'output' .* is over 10,000 per 1M tokens"),
        ({"rates": {**RATES, "cache_read": "NaN"}}, r"rate 'cache_read' is NaN, not a finite number"),
        ({"rates": {**RATES, "cache_write": "Infinity"}}, r"rate 'cache_write' is Infinity, not a finite number"),
        ({"rates": {**RATES, "input": "abc"}}, r"rate 'input' is 'abc', not a number"),
    ],
    ids=["negative", "seven-decimals", "missing-rate", "float", "unknown-key", "other-provider", "alias-clash",
         "no-source", "1e12", "over-10000", "nan", "infinity", "text"],
)
def test_invalid_override_leaves_the_file_unchanged(shipped, local, kwargs, message):
    save_override(local, "acme", "small", RATES, date(2026, 7, 1), "deal", catalog_paths=shipped)
    before = local.read_bytes()
    args = {"provider": "acme", "model": "small", "rates": RATES, "effective_from": date(2026, 8, 1),
            "source": "deal 2"} | kwargs
    with pytest.raises(CatalogError, match=message):
        save_override(local, catalog_paths=shipped, **args)
    assert local.read_bytes() == before
    assert not local.with_name(local.name + ".tmp").exists()


def test_invalid_first_override_creates_no_file(shipped, local):
    with pytest.raises(CatalogError, match="negative"):
        save_override(local, "acme", "small", {**RATES, "output": "-2"}, None, "deal", catalog_paths=shipped)
    assert not local.exists()


def test_discount_override(shipped, local):
    catalog = discount_override(local, "acme", "small", Decimal(15), date(2026, 8, 1), catalog_paths=shipped)
    periods = catalog.resolve("small", "acme").periods
    assert len(periods) == 3 and periods[2].effective_from == datetime(2026, 8, 1, tzinfo=UTC)
    rates = periods[2].rates
    assert (rates.input, rates.output, rates.cache_write) == (
        Decimal("0.4") * Decimal("0.85"), Decimal("1.6") * Decimal("0.85"), Decimal(0))
    assert rates.cache_read == Decimal("0.000105")  # 0.000123 x 0.85 = 0.00010455, rounded half up to 6 places
    peak = periods[2].windows[0]
    assert (peak.name, peak.rates.input, peak.rates.cache_read) == ("peak", Decimal("0.8") * Decimal("0.85"),
                                                                   Decimal("0.000209"))  # 0.0002091
    assert "15% off the list price (peak pricing)" in periods[2].source

    # Again on the same date, 20 %: taken off the list price, not off the discounted one.
    catalog = discount_override(local, "acme", "small", "20", date(2026, 8, 1), catalog_paths=shipped)
    periods = catalog.resolve("small", "acme").periods
    assert len(periods) == 3 and periods[2].rates.input == Decimal("0.4") * Decimal("0.8")


def test_discount_covers_tiers(shipped, local):
    catalog = discount_override(local, "acme", "big", 10, date(2026, 9, 1), catalog_paths=shipped)
    new = catalog.resolve("big", "acme").periods[-1]
    assert new.rates.cache_write_1h == 6 * Decimal("0.9")
    assert (new.tiers[0].above_prompt_tokens, new.tiers[0].rates.output) == (200000, Decimal("22.5") * Decimal("0.9"))


@pytest.mark.parametrize(
    ("percent", "message"),
    [(120, "outside 0..100"), (-5, "outside 0..100"), (10.0, "float"), ("ten", "not a number")],
    ids=["above-100", "negative", "float", "text"],
)
def test_bad_discounts(shipped, local, percent, message):
    with pytest.raises(CatalogError, match=message):
        discount_override(local, "acme", "small", percent, date(2026, 8, 1), catalog_paths=shipped)
    assert not local.exists()


def test_discount_before_the_first_price(shipped, local):
    with pytest.raises(CatalogError, match="cannot discount 'acme/future'"):
        discount_override(local, "acme", "future", 10, date(2026, 8, 1), catalog_paths=shipped)


def test_remove_override(shipped, local):
    save_override(local, "acme", "small", RATES, date(2026, 7, 1), "deal", catalog_paths=shipped)
    save_override(local, "acme", "big", RATES, None, "deal", catalog_paths=shipped)
    catalog = remove_override(local, "acme", "small-latest", catalog_paths=shipped)
    assert len(catalog.resolve("small", "acme").periods) == 2 and len(catalog.resolve("big", "acme").periods) == 1
    catalog = remove_override(local, "acme", "big", catalog_paths=shipped)
    assert not local.exists() and catalog.resolve("big", "acme").periods[0].rates.input == 3
    with pytest.raises(CatalogError, match="no override"):
        remove_override(local, "acme", "big", catalog_paths=shipped)


USAGE = Usage(input_tokens=10_000, cache_read_tokens=5_000, output_tokens=1_000)


def test_route_comparison_order_and_values(shipped):
    rows = route_comparison(load_catalog(paths=shipped), USAGE, at=datetime(2026, 7, 8, 12, tzinfo=UTC))
    assert [r["route"] for r in rows] == ["resell/small", "acme/small", "acme/big"]  # acme/future: not priced yet
    assert [r["total_usd"] for r in rows] == [
        10_000 * Decimal("0.32") / M + 5_000 * Decimal("0.000098") / M + 1_000 * Decimal("1.28") / M,
        10_000 * Decimal("0.4") / M + 5_000 * Decimal("0.000123") / M + 1_000 * Decimal("1.6") / M,
        10_000 * Decimal(3) / M + 5_000 * Decimal("0.3") / M + 1_000 * Decimal(15) / M,
    ]
    first = rows[0]
    assert (first["input_usd"], first["cache_read_usd"], first["output_usd"], first["cache_write_usd"]) == (
        10_000 * Decimal("0.32") / M, 5_000 * Decimal("0.000098") / M, 1_000 * Decimal("1.28") / M, 0)
    assert (first["route_name"], first["reseller_of"], first["currency"]) == ("Resell", "acme", "USD")


def test_route_comparison_uses_windows_and_future_prices(shipped):
    catalog = load_catalog(paths=shipped)
    peak = {r["route"]: r for r in route_comparison(catalog, USAGE, at="2026-07-08T07:00:00Z")}
    assert peak["acme/small"]["window"] == "peak"
    assert peak["acme/small"]["input_usd"] == 10_000 * Decimal("0.8") / M
    later = [r["route"] for r in route_comparison(catalog, USAGE, at="2027-02-01T00:00:00Z")]
    assert later[0] == "acme/future"


def test_price_history(shipped):
    history = price_history(load_catalog(paths=shipped), "acme", "small-latest")
    assert [(h["effective_from"], h["effective_to"]) for h in history] == [
        (None, datetime(2026, 6, 1, 12, tzinfo=UTC)),
        (datetime(2026, 6, 1, 12, tzinfo=UTC), None),
    ]
    assert (history[0]["input"], history[0]["cache_write_1h"], history[0]["reasoning"]) == (
        Decimal("0.5"), Decimal("0.625"), Decimal(2))  # as billed: falls back to cache_write / output
    assert history[0]["windows"] == []
    window = history[1]["windows"][0]
    assert (window["name"], window["weekdays"], window["hours_utc"], window["input"]) == (
        "peak", ["mon", "tue", "wed", "thu", "fri"], [(1, 4), (6, 10)], Decimal("0.8"))
    big = price_history(load_catalog(paths=shipped), None, "big")
    assert big[0]["tiers"][0]["above_prompt_tokens"] == 200000 and big[0]["tiers"][0]["cache_write_1h"] == 12
    with pytest.raises(UnknownModelError):
        price_history(load_catalog(paths=shipped), "acme", "nope")


def test_overrides_load_neither_duckdb_nor_streamlit():
    code = ("import sys, pricing.overrides, pricing.comparison; "
            "print(sorted({'duckdb', 'streamlit', 'dashboard'} & set(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parents[2])
    assert result.stdout.strip() == "[]"


@pytest.mark.slow
def test_the_dearest_allowed_rate_is_saved_and_fits_the_warehouse(tmp_path, shipped, local):
    rates = {"input": "10000", "output": "9999.999999", "cache_read": "0.000001", "cache_write": "0"}
    catalog = save_override(local, "acme", "small", rates, None, "deal", catalog_paths=shipped)
    wh = Warehouse.open(tmp_path / "usage.duckdb", catalog=catalog)
    wh.insert_requests([{"source": "t", "request_id": "a", "ts": datetime(2026, 7, 8, 12, tzinfo=UTC),
                         "provider": "acme", "model": "small", "input_tokens": 3, "output_tokens": 1}])
    assert _costs(wh) == {"a": (3 * Decimal(10000) + Decimal("9999.999999")) / M}


HAND_WRITTEN = """
[route]
provider = "acme"

[[models]]
id = "small"
[[models.periods]]
source = "typed by hand"
checked = 2026-11-01
input = 1e12
output = 2
cache_read = 0
cache_write = 0

[[models]]
id = "extra"
[[models.periods]]
source = "contract"
checked = 2026-11-01
input = 1
output = 2
cache_read = 0
cache_write = 0
"""


def test_a_bad_hand_written_entry_is_left_out_and_the_rest_applies(tmp_path, shipped, local):
    local.parent.mkdir(parents=True)
    local.write_text(HAND_WRITTEN, encoding="utf-8")
    with pytest.raises(CatalogError, match="over 10,000"):  # strict loading still refuses the file
        load_catalog(paths=shipped, overlays=[local])
    catalog = load_catalog(paths=shipped, overlays=[local], skip_bad=True)
    [problem] = catalog.problems
    assert (problem.file, problem.where) == (str(local), "model acme/small period 0")
    assert "rate 'input'" in problem.message and "from 0 to 10,000" in problem.message
    assert catalog.resolve("small", "acme").periods[0].rates.input == Decimal("0.5")  # the shipped price stays
    assert catalog.resolve("extra", "acme").periods[0].rates.input == 1  # the good entry applies
    wh = Warehouse.open(tmp_path / "usage.duckdb", catalog=catalog)  # used to fail: DECIMAL(18, 12) overflow
    wh.insert_requests([{"source": "t", "request_id": "a", "ts": datetime(2026, 7, 8, 12, tzinfo=UTC),
                         "provider": "acme", "model": "extra", "input_tokens": 1_000_000}])
    assert _costs(wh) == {"a": Decimal(1)}


def test_a_bad_entry_in_the_file_does_not_block_saving_another(shipped, local):
    local.parent.mkdir(parents=True)
    local.write_text(HAND_WRITTEN, encoding="utf-8")
    catalog = save_override(local, "acme", "big", RATES, None, "deal", catalog_paths=shipped)
    assert catalog.resolve("big", "acme").periods[0].rates.input == Decimal("0.3")
    assert [p.where for p in catalog.problems] == ["model acme/small period 0"]  # still reported
    # Saving the bad model for all of history replaces its periods, which fixes it.
    catalog = save_override(local, "acme", "small", RATES, None, "fixed", catalog_paths=shipped)
    assert catalog.problems == []
    assert catalog.resolve("small", "acme").periods[-1].rates.input == Decimal("0.3")


def test_saving_from_a_date_onto_a_bad_entry_says_it_would_not_apply(shipped, local):
    local.parent.mkdir(parents=True)
    local.write_text(HAND_WRITTEN, encoding="utf-8")
    before = local.read_bytes()
    with pytest.raises(CatalogError, match=r"model acme/small period 0: rate 'input'"):
        save_override(local, "acme", "small", RATES, date(2026, 12, 1), "deal", catalog_paths=shipped)
    assert local.read_bytes() == before


@pytest.mark.slow
def test_the_command_line_warns_once_and_reports(tmp_path):
    """`python -m dashboard report` with a 1e12 rate in data/prices.local.toml: one warning, then the report."""
    repo = Path(__file__).resolve().parents[2]
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "prices.local.toml").write_text(HAND_WRITTEN.replace('"acme"', '"openai"', 1)
                                                         .replace('id = "small"', 'id = "gpt-4o-mini"'))
    db = tmp_path / "usage.duckdb"
    with Warehouse.open(db) as wh:
        wh.insert_requests([{"source": "t", "request_id": "a", "ts": datetime(2026, 11, 8, 12, tzinfo=UTC),
                             "provider": "openai", "model": "gpt-4o-mini", "input_tokens": 1_000_000}])
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(repo), "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "dashboard", "report", "--db", str(db), "--month", "2026-11",
                           "--json"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert "prices.local.toml: model openai/gpt-4o-mini period 0: rate 'input'" in lines[0]
    assert "from 0 to 10,000" in lines[0]
    assert "gpt-4o-mini" in done.stdout and len(done.stderr) < 1000
