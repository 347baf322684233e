"""Schema migrations: an old file upgrades in place, a newer one is refused."""

from datetime import UTC, datetime

import duckdb
import pytest

from dashboard.errors import WarehouseError
from dashboard.warehouse import Warehouse
from dashboard.warehouse.migrations import MIGRATIONS, SCHEMA_VERSION


def make_v1(path):
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_version (version INTEGER, applied_at TIMESTAMPTZ)")
    con.execute(MIGRATIONS[0])
    con.execute("INSERT INTO schema_version VALUES (1, now())")
    con.execute(
        "INSERT INTO requests (source, request_id, ts, model, input_tokens, cache_read_tokens, cache_write_tokens, "
        "cache_write_1h_tokens, output_tokens, reasoning_tokens) VALUES "
        "('old', '1', TIMESTAMPTZ '2026-10-01 00:00:00+00', 'gpt-4o', 10, 0, 0, 0, 1, 0)"
    )
    con.close()


def test_version_1_file_is_upgraded_in_place_keeping_its_rows(tmp_path):
    path = tmp_path / "old.duckdb"
    make_v1(path)
    wh = Warehouse.open(path)
    versions = [r[0] for r in wh.query("SELECT version FROM schema_version ORDER BY version").fetchall()]
    assert versions == list(range(1, SCHEMA_VERSION + 1))
    assert wh.query("SELECT count(*) FROM requests WHERE source = 'old'").fetchone()[0] == 1
    assert wh.query("SELECT count(*) FROM settings").fetchone()[0] >= 1  # created by a later step
    wh.close()


def test_opening_twice_applies_nothing_again(tmp_path):
    path = tmp_path / "w.duckdb"
    Warehouse.open(path).close()
    wh = Warehouse.open(path)
    assert wh.query("SELECT count(*) FROM schema_version").fetchone()[0] == SCHEMA_VERSION
    wh.close()


def test_newer_schema_is_refused_with_a_clear_error(tmp_path):
    path = tmp_path / "future.duckdb"
    Warehouse.open(path).close()
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO schema_version VALUES (?, now())", [SCHEMA_VERSION + 1])
    con.close()
    with pytest.raises(WarehouseError, match=r"newer than this app knows"):
        Warehouse.open(path)


def test_not_a_database_file_names_the_file_and_the_recovery(tmp_path):
    path = tmp_path / "junk.duckdb"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(WarehouseError, match=r"junk.duckdb.*re-import"):
        Warehouse.open(path)


def test_keys_are_stored_as_a_hint_only(warehouse):
    warehouse.insert_requests([{"request_id": "k", "ts": datetime(2026, 11, 1, tzinfo=UTC), "model": "gpt-4o",
                                "api_key": "sk-live-THISISSECRET9876"}], source="t")
    assert warehouse.query("SELECT api_key FROM requests").fetchone()[0] == "…9876"


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


def test_a_file_held_by_a_writer_gives_a_clear_error_naming_it(tmp_path):
    from dashboard.warehouse.db import LockedError

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
