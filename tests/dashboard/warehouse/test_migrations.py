"""Schema migrations: an old file upgrades in place, a newer one is refused."""

from datetime import UTC, datetime
from decimal import Decimal

import duckdb
import pytest

from dashboard.errors import WarehouseError
from dashboard.warehouse import Warehouse
from dashboard.warehouse.migrations import MIGRATIONS, SCHEMA_VERSION, apply


def make_v1(path):
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_version (version INTEGER, applied_at TIMESTAMPTZ)")
    MIGRATIONS[0](con)
    con.execute("INSERT INTO schema_version VALUES (1, now())")
    con.execute(
        "INSERT INTO requests (source, request_id, ts, model, input_tokens, cache_read_tokens, cache_write_tokens, "
        "cache_write_1h_tokens, output_tokens, reasoning_tokens) VALUES "
        "('old', '1', TIMESTAMPTZ '2026-10-01 00:00:00+00', 'gpt-4o', 10, 0, 0, 0, 1, 0)"
    )
    con.close()


@pytest.mark.slow
def test_version_1_file_is_upgraded_in_place_keeping_its_rows(tmp_path):
    path = tmp_path / "old.duckdb"
    make_v1(path)
    wh = Warehouse.open(path)
    versions = [r[0] for r in wh.query("SELECT version FROM schema_version ORDER BY version").fetchall()]
    assert versions == list(range(1, SCHEMA_VERSION + 1))
    assert wh.query("SELECT count(*) FROM requests WHERE source = 'old'").fetchone()[0] == 1
    assert wh.query("SELECT count(*) FROM settings").fetchone()[0] >= 1  # created by a later step
    wh.close()


def make_old(path, version):
    """A file as the app of schema `version` left it, holding one request in that version's tables."""
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_version (version INTEGER, applied_at TIMESTAMPTZ)")
    for step in range(1, version + 1):
        apply(con, step)
    columns = "request_id, ts, model, input_tokens, cache_read_tokens, output_tokens"
    values = "'1', TIMESTAMPTZ '2026-10-01 00:00:00+00', 'gpt-4o', 1000000, 0, 1000000"
    if version < 4:  # `requests` was a table until origins
        con.execute(f"INSERT INTO requests (source, cache_write_tokens, cache_write_1h_tokens, reasoning_tokens, "
                    f"{columns}) VALUES ('old', 0, 0, 0, {values})")
    else:
        con.execute("INSERT INTO origins VALUES (1, NULL, 'old', NULL)")
        con.execute(f"INSERT INTO request_rows (origin_id, cache_write_tokens, cache_write_1h_tokens, "
                    f"reasoning_tokens, {columns}) VALUES (1, 0, 0, 0, {values})")
    con.close()


def _schema(wh):
    """Every table's and view's columns with their types, and every view's definition."""
    columns = wh.query("SELECT table_name, column_name, data_type, ordinal_position FROM information_schema.columns "
                       "WHERE table_name NOT IN ('priced_cache', 'line_keys') ORDER BY ALL").fetchall()
    views = wh.query("SELECT view_name, sql FROM duckdb_views() WHERE NOT internal ORDER BY ALL").fetchall()
    sequences = wh.query("SELECT sequence_name FROM duckdb_sequences() ORDER BY ALL").fetchall()
    return columns, views, sequences


@pytest.mark.slow
@pytest.mark.parametrize("version", range(1, SCHEMA_VERSION), ids=lambda v: f"v{v}")
def test_a_file_of_every_older_version_upgrades_to_the_schema_of_a_new_file(tmp_path, version):
    make_old(tmp_path / "old.duckdb", version)
    with Warehouse.open(tmp_path / "new.duckdb") as new:
        expected = _schema(new)
    with Warehouse.open(tmp_path / "old.duckdb") as wh:
        versions = [r[0] for r in wh.query("SELECT version FROM schema_version ORDER BY version").fetchall()]
        assert versions == list(range(1, SCHEMA_VERSION + 1))
        assert _schema(wh) == expected
        # gpt-4o: $2.50 per 1M input tokens, $10 per 1M output tokens
        assert wh.query(f"SELECT source, cost FROM ({wh.priced_sql()})").fetchall() == [("old", Decimal("12.5"))]


def test_migrations_are_named_steps_in_order():
    names = [step.__name__ for step in MIGRATIONS]
    assert names == sorted(names) and len(set(names)) == len(names) == SCHEMA_VERSION
    assert all(name.startswith(f"m{version:03d}_") for version, name in enumerate(names, start=1))


@pytest.mark.slow
def test_opening_twice_applies_nothing_again(tmp_path):
    path = tmp_path / "w.duckdb"
    Warehouse.open(path).close()
    wh = Warehouse.open(path)
    assert wh.query("SELECT count(*) FROM schema_version").fetchone()[0] == SCHEMA_VERSION
    wh.close()


@pytest.mark.slow
def test_newer_schema_is_refused_with_a_clear_error(tmp_path):
    path = tmp_path / "future.duckdb"
    Warehouse.open(path).close()
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO schema_version VALUES (?, now())", [SCHEMA_VERSION + 1])
    con.close()
    with pytest.raises(WarehouseError, match=r"newer than this app knows"):
        Warehouse.open(path)


@pytest.mark.parametrize("version", [None, 3])
def test_a_file_that_needs_migrating_opened_read_only_says_so(tmp_path, version):
    # None: a DuckDB file with no schema at all (not even schema_version)
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    if version:
        con.execute("CREATE TABLE schema_version (version INTEGER, applied_at TIMESTAMPTZ)")
        for v in range(1, version + 1):
            apply(con, v)
    con.close()
    with pytest.raises(WarehouseError, match=rf"needs an upgrade \(schema {version or 0} -> {SCHEMA_VERSION}\)"):
        Warehouse.open(path, read_only=True)


def test_not_a_database_file_names_the_file_and_the_recovery(tmp_path):
    path = tmp_path / "junk.duckdb"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(WarehouseError, match=r"junk.duckdb.*re-import"):
        Warehouse.open(path)


def test_keys_are_stored_as_a_hint_only(warehouse):
    warehouse.insert_requests([{"request_id": "k", "ts": datetime(2026, 11, 1, tzinfo=UTC), "model": "gpt-4o",
                                "api_key": "sk-live-THISISSECRET9876"}], source="t")
    assert warehouse.query("SELECT api_key FROM requests").fetchone()[0] == "…9876"


@pytest.mark.slow
def test_reopening_with_another_catalog_re_resolves_every_model(tmp_path):
    from pricing import load_catalog

    extra = tmp_path / "extra.toml"
    extra.write_text('[route]\nprovider = "extra"\n[[models]]\nid = "m1"\n[[models.periods]]\nsource = "x"\n'
                     'checked = 2026-11-28\ninput = 1\noutput = 1\ncache_read = 0\ncache_write = 0\n')
    path = tmp_path / "w.duckdb"
    wh = Warehouse.open(path, catalog=load_catalog(overlays=[extra]))
    wh.insert_requests([{"request_id": "a", "ts": datetime(2026, 11, 1, tzinfo=UTC), "provider": "extra",
                         "model": "m1", "input_tokens": 1_000_000}], source="t")
    assert wh.query(f"SELECT cost FROM ({wh.priced_sql()})").fetchone()[0] == 1
    wh.close()
    wh = Warehouse.open(path)  # the shipped catalog alone has no route 'extra'
    assert wh.query(f"SELECT unpriced, cost FROM ({wh.priced_sql()})").fetchone() == (True, None)
    wh.close()


HOLD = "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == 'ro'); print('held', flush=True); time.sleep(30)"


def _hold(path, mode):
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path), mode], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


@pytest.mark.slow
def test_a_file_held_by_a_writer_gives_a_clear_error_naming_it(tmp_path):
    from dashboard.warehouse.connection import LockedError

    path = tmp_path / "held.duckdb"
    Warehouse.open(path).close()
    proc = _hold(path, "rw")
    try:
        with pytest.raises(LockedError, match=r"held.duckdb.*locked by another process \(PID \d+"):
            Warehouse.open(path, fallback_read_only=True)
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()


@pytest.mark.slow
def test_a_file_held_read_only_elsewhere_opens_read_only_with_a_notice(tmp_path):
    path = tmp_path / "shared.duckdb"
    wh = Warehouse.open(path)
    wh.insert_requests([{"request_id": "a", "ts": datetime(2026, 11, 1, tzinfo=UTC), "model": "gpt-4o"}], source="t")
    wh.close()
    proc = _hold(path, "ro")
    try:
        wh = Warehouse.open(path, fallback_read_only=True)
        assert wh.read_only
        assert "imports and price edits are disabled" in wh.notice
        assert wh.query("SELECT count(*) FROM requests").fetchone()[0] == 1
        wh.close()
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()


@pytest.mark.slow
def test_a_truncated_warehouse_names_the_file_and_the_recovery(tmp_path):
    path = tmp_path / "cut.duckdb"
    wh = Warehouse.open(path)
    wh.insert_requests([{"request_id": str(i), "ts": datetime(2026, 11, 1, tzinfo=UTC), "model": "gpt-4o",
                         "input_tokens": i} for i in range(2000)], source="t")
    wh.query("CHECKPOINT")
    wh.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(WarehouseError, match=r"cut\.duckdb.*(damaged|re-import)"):
        Warehouse.open(path)
