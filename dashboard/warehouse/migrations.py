"""Schema migrations: an append-only list of named steps. Never edit a released step; add a new one.

Each step is a function registered with `@migration`; its version is its place in the list,
from 1, and `schema_version` records every version applied. Opening an older file upgrades
it in place; a file from a newer version of the app is refused with a clear error.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

Migration = Callable[[duckdb.DuckDBPyConnection], None]
MIGRATIONS: list[Migration] = []


def migration(step: Migration) -> Migration:
    """Register `step` as the next migration (version `len(MIGRATIONS)` once added)."""
    MIGRATIONS.append(step)
    return step


def apply(con: duckdb.DuckDBPyConnection, version: int, last: int | None = None) -> None:
    """Run migrations `version` to `last` (default: `version` alone) on `con` and record them in
    `schema_version`, in one statement (the caller holds the transaction)."""
    last = version if last is None else last
    for step in MIGRATIONS[version - 1:last]:
        step(con)
    con.execute("INSERT INTO schema_version SELECT v, now() FROM range(?, ?) AS t(v)", [version, last + 1])


@migration
def m001_requests_imports_prices(con: duckdb.DuckDBPyConnection) -> None:
    """The canonical request table, the import register, rejected rows, prices."""
    _m001_requests(con)
    _m001_imports(con)
    _m001_prices(con)


def _m001_requests(con: duckdb.DuckDBPyConnection) -> None:
    """The canonical request table, as released in version 1."""
    con.execute(
        """
        CREATE TABLE requests (
            source VARCHAR NOT NULL,
            request_id VARCHAR NOT NULL,
            ts TIMESTAMPTZ NOT NULL,
            provider VARCHAR,
            upstream_provider VARCHAR,
            model VARCHAR NOT NULL,
            project VARCHAR,
            api_key VARCHAR,
            "user" VARCHAR,
            tags VARCHAR[],
            input_tokens BIGINT NOT NULL CHECK (input_tokens >= 0),
            cache_read_tokens BIGINT NOT NULL CHECK (cache_read_tokens >= 0),
            cache_write_tokens BIGINT NOT NULL CHECK (cache_write_tokens >= 0),
            cache_write_1h_tokens BIGINT NOT NULL CHECK (cache_write_1h_tokens >= 0),
            output_tokens BIGINT NOT NULL CHECK (output_tokens >= 0),
            reasoning_tokens BIGINT NOT NULL CHECK (reasoning_tokens >= 0),
            latency_ms DOUBLE,
            ttft_ms DOUBLE,
            status VARCHAR,
            billed_cost DECIMAL(38, 12),
            currency VARCHAR,
            import_id BIGINT,
            request_count BIGINT NOT NULL DEFAULT 1 CHECK (request_count >= 0)
        );
        """
    )


def _m001_imports(con: duckdb.DuckDBPyConnection) -> None:
    """The import register and its rejected rows, as released in version 1."""
    con.execute(
        """
        CREATE SEQUENCE import_ids START 1;
        CREATE TABLE imports (
            import_id BIGINT PRIMARY KEY,
            file_name VARCHAR NOT NULL,
            file_sha256 VARCHAR,
            format VARCHAR,
            source VARCHAR,
            rows_added BIGINT,
            rows_duplicate BIGINT,
            rows_rejected BIGINT,
            started_at TIMESTAMPTZ NOT NULL,
            finished_at TIMESTAMPTZ,
            status VARCHAR NOT NULL,
            message VARCHAR
        );
        CREATE TABLE rejected_rows (
            import_id BIGINT NOT NULL,
            line BIGINT,
            raw VARCHAR,
            reason VARCHAR NOT NULL
        );
        """
    )


def _m001_prices(con: duckdb.DuckDBPyConnection) -> None:
    """Prices and the model map, as released in version 1."""
    con.execute(
        """
        CREATE TABLE prices (
            provider VARCHAR NOT NULL,
            model VARCHAR NOT NULL,
            valid_from TIMESTAMPTZ NOT NULL,
            valid_to TIMESTAMPTZ NOT NULL,
            weekday TINYINT NOT NULL,
            hour TINYINT NOT NULL,
            min_prompt_tokens BIGINT NOT NULL,
            max_prompt_tokens BIGINT NOT NULL,
            currency VARCHAR NOT NULL,
            price_window VARCHAR,
            input_per_token DECIMAL(18, 12) NOT NULL,
            cache_read_per_token DECIMAL(18, 12) NOT NULL,
            cache_write_per_token DECIMAL(18, 12) NOT NULL,
            cache_write_1h_per_token DECIMAL(18, 12) NOT NULL,
            output_per_token DECIMAL(18, 12) NOT NULL,
            reasoning_per_token DECIMAL(18, 12) NOT NULL
        );
        CREATE TABLE model_map (
            provider VARCHAR NOT NULL,
            model VARCHAR NOT NULL,
            price_provider VARCHAR,
            price_model VARCHAR
        );
        """
    )


@migration
def m002_settings(con: duckdb.DuckDBPyConnection) -> None:
    """Settings such as the demo-data flag, kept with the data they describe."""
    con.execute(
        """
        CREATE TABLE settings (key VARCHAR PRIMARY KEY, value VARCHAR);
        """
    )


@migration
def m003_batches(con: duckdb.DuckDBPyConnection) -> None:
    """Every insert is a batch, so the priced cache can take just the new rows."""
    con.execute(
        """
        ALTER TABLE requests ADD COLUMN batch_id BIGINT;
        CREATE SEQUENCE batch_ids START 1;
        """
    )


@migration
def m004_origins(con: duckdb.DuckDBPyConnection) -> None:
    """What every row of one insert shares (source, import, batch) is stored once, in
    `origins`, and each row names its origin: every column of a table costs a bulk load
    about as much to write whatever it holds, so a narrower table imports faster.
    `requests` keeps its columns, as a view.
    """
    con.execute(
        """
        CREATE SEQUENCE origin_ids START 1;
        CREATE TABLE origins (
            origin_id BIGINT PRIMARY KEY,
            batch_id BIGINT,
            source VARCHAR NOT NULL,
            import_id BIGINT
        );
        INSERT INTO origins
        SELECT nextval('origin_ids'), batch_id, source, import_id
        FROM (SELECT DISTINCT batch_id, source, import_id FROM requests ORDER BY ALL);
        CREATE TABLE request_rows (
            origin_id BIGINT NOT NULL,
            request_id VARCHAR NOT NULL,
            ts TIMESTAMPTZ NOT NULL,
            provider VARCHAR,
            upstream_provider VARCHAR,
            model VARCHAR NOT NULL,
            project VARCHAR,
            api_key VARCHAR,
            "user" VARCHAR,
            tags VARCHAR[],
            input_tokens BIGINT NOT NULL CHECK (input_tokens >= 0),
            cache_read_tokens BIGINT NOT NULL CHECK (cache_read_tokens >= 0),
            cache_write_tokens BIGINT NOT NULL CHECK (cache_write_tokens >= 0),
            cache_write_1h_tokens BIGINT NOT NULL CHECK (cache_write_1h_tokens >= 0),
            output_tokens BIGINT NOT NULL CHECK (output_tokens >= 0),
            reasoning_tokens BIGINT NOT NULL CHECK (reasoning_tokens >= 0),
            latency_ms DOUBLE,
            ttft_ms DOUBLE,
            status VARCHAR,
            billed_cost DECIMAL(38, 12),
            currency VARCHAR,
            request_count BIGINT NOT NULL DEFAULT 1 CHECK (request_count >= 0)
        );
        INSERT INTO request_rows
        SELECT o.origin_id, r.* EXCLUDE (source, import_id, batch_id)
        FROM requests AS r JOIN origins AS o
            ON o.source = r.source AND o.batch_id IS NOT DISTINCT FROM r.batch_id
            AND o.import_id IS NOT DISTINCT FROM r.import_id;
        DROP TABLE requests;
        CREATE VIEW requests AS
        SELECT o.source, r.request_id, r.ts, r.provider, r.upstream_provider, r.model, r.project, r.api_key,
            r."user", r.tags, r.input_tokens, r.cache_read_tokens, r.cache_write_tokens, r.cache_write_1h_tokens,
            r.output_tokens, r.reasoning_tokens, r.latency_ms, r.ttft_ms, r.status, r.billed_cost, r.currency,
            o.import_id, r.request_count, o.batch_id
        FROM request_rows AS r JOIN origins AS o ON o.origin_id = r.origin_id;
        """
    )


@migration
def m005_lean_rows(con: duckdb.DuckDBPyConnection) -> None:
    """Rows of an import that fills none of the rarely filled columns (most exports name
    a time, a model, tokens and a cost, little else) are stored without them, in
    `request_rows_lean`: a bulk load writes each column of its table whatever it holds,
    and these rows have eleven columns fewer to write. `requests` shows them with what
    an import gives a row that has none of those fields (see rows.LEAN_DEFAULTS).
    """
    con.execute(
        """
        CREATE TABLE request_rows_lean (
            origin_id BIGINT NOT NULL,
            request_id VARCHAR NOT NULL,
            ts TIMESTAMPTZ NOT NULL,
            provider VARCHAR,
            model VARCHAR NOT NULL,
            project VARCHAR,
            api_key VARCHAR,
            input_tokens BIGINT NOT NULL CHECK (input_tokens >= 0),
            cache_read_tokens BIGINT NOT NULL CHECK (cache_read_tokens >= 0),
            output_tokens BIGINT NOT NULL CHECK (output_tokens >= 0),
            billed_cost DECIMAL(38, 12)
        );
        CREATE OR REPLACE VIEW requests AS
        SELECT o.source, r.request_id, r.ts, r.provider, r.upstream_provider, r.model, r.project, r.api_key,
            r."user", r.tags, r.input_tokens, r.cache_read_tokens, r.cache_write_tokens, r.cache_write_1h_tokens,
            r.output_tokens, r.reasoning_tokens, r.latency_ms, r.ttft_ms, r.status, r.billed_cost, r.currency,
            o.import_id, r.request_count, o.batch_id
        FROM request_rows AS r JOIN origins AS o ON o.origin_id = r.origin_id
        UNION ALL
        SELECT o.source, r.request_id, r.ts, r.provider, NULL::VARCHAR, r.model, r.project, r.api_key,
            NULL::VARCHAR, NULL::VARCHAR[], r.input_tokens, r.cache_read_tokens, 0::BIGINT, 0::BIGINT,
            r.output_tokens, 0::BIGINT, NULL::DOUBLE, NULL::DOUBLE, NULL::VARCHAR, r.billed_cost,
            CASE WHEN r.billed_cost IS NOT NULL THEN 'USD' END, o.import_id, 1::BIGINT, o.batch_id
        FROM request_rows_lean AS r JOIN origins AS o ON o.origin_id = r.origin_id;
        """
    )


@migration
def m006_import_profiles(con: duckdb.DuckDBPyConnection) -> None:
    """Import profiles: what was chosen for a source and format on the Import page (route,
    model, time zone, cached-token semantics, column map), applied to the next file of the
    same source and format. The workspace's default routes live in `settings`.
    """
    con.execute(
        """
        CREATE TABLE import_profiles (
            source VARCHAR NOT NULL,
            format VARCHAR NOT NULL,
            provider VARCHAR,
            model VARCHAR,
            tz VARCHAR,
            cached_included BOOLEAN,
            mapping VARCHAR NOT NULL DEFAULT '{}',
            saved_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (source, format)
        );
        """
    )


@migration
def m007_row_spans(con: duckdb.DuckDBPyConnection) -> None:
    """A row may cover a span of time (an export's row per day, model and key): `span_s`
    seconds from `ts`, NULL for a single moment. Such a row is priced over its span (see
    pricing.sql). Lean rows are moments: a file whose rows have spans goes to `request_rows`.
    """
    con.execute(
        """
        ALTER TABLE request_rows ADD COLUMN span_s INTEGER;
        CREATE OR REPLACE VIEW requests AS
        SELECT o.source, r.request_id, r.ts, r.provider, r.upstream_provider, r.model, r.project, r.api_key,
            r."user", r.tags, r.input_tokens, r.cache_read_tokens, r.cache_write_tokens, r.cache_write_1h_tokens,
            r.output_tokens, r.reasoning_tokens, r.latency_ms, r.ttft_ms, r.status, r.billed_cost, r.currency,
            o.import_id, r.request_count, r.span_s, o.batch_id
        FROM request_rows AS r JOIN origins AS o ON o.origin_id = r.origin_id
        UNION ALL
        SELECT o.source, r.request_id, r.ts, r.provider, NULL::VARCHAR, r.model, r.project, r.api_key,
            NULL::VARCHAR, NULL::VARCHAR[], r.input_tokens, r.cache_read_tokens, 0::BIGINT, 0::BIGINT,
            r.output_tokens, 0::BIGINT, NULL::DOUBLE, NULL::DOUBLE, NULL::VARCHAR, r.billed_cost,
            CASE WHEN r.billed_cost IS NOT NULL THEN 'USD' END, o.import_id, 1::BIGINT, NULL::INTEGER, o.batch_id
        FROM request_rows_lean AS r JOIN origins AS o ON o.origin_id = r.origin_id;
        """
    )


@migration
def m008_live_calls(con: duckdb.DuckDBPyConnection) -> None:
    """Every live sample call with its outcome, failed ones included. Only a call that
    succeeded is also a request (source 'live'): spend, request counts and cache figures
    count those; this log keeps what was tried, how it ended and why.
    """
    con.execute(
        """
        CREATE TABLE live_calls (
            called_at TIMESTAMPTZ NOT NULL,
            base_url VARCHAR NOT NULL,
            provider VARCHAR,
            model VARCHAR NOT NULL,
            status VARCHAR NOT NULL,
            ok BOOLEAN NOT NULL,
            error_kind VARCHAR,
            error VARCHAR,
            attempts INTEGER,
            latency_ms DOUBLE,
            request_id VARCHAR
        );
        """
    )


@migration
def m009_eval_runs(con: duckdb.DuckDBPyConnection) -> None:
    """Evaluation runs of a suite against targets, and every run of every case. A suite is
    known by the SHA-256 of its file, so runs of the same suite compare test by test.
    """
    con.execute(
        """
        CREATE TABLE eval_runs (
            run_id VARCHAR PRIMARY KEY,
            started_at TIMESTAMPTZ NOT NULL,
            finished_at TIMESTAMPTZ NOT NULL,
            suite_name VARCHAR NOT NULL,
            suite_sha256 VARCHAR NOT NULL,
            targets VARCHAR NOT NULL,
            repeats INTEGER NOT NULL,
            tests INTEGER NOT NULL
        );
        CREATE TABLE eval_results (
            run_id VARCHAR NOT NULL,
            target VARCHAR NOT NULL,
            base_url VARCHAR NOT NULL,
            test_index INTEGER NOT NULL,
            test VARCHAR NOT NULL,
            test_named BOOLEAN NOT NULL,
            prompt_index INTEGER NOT NULL,
            repeat INTEGER NOT NULL,
            passed BOOLEAN NOT NULL,
            failed_asserts VARCHAR NOT NULL,
            latency_ms DOUBLE,
            ttft_ms DOUBLE,
            input_tokens BIGINT NOT NULL CHECK (input_tokens >= 0),
            cache_read_tokens BIGINT NOT NULL CHECK (cache_read_tokens >= 0),
            cache_write_tokens BIGINT NOT NULL CHECK (cache_write_tokens >= 0),
            output_tokens BIGINT NOT NULL CHECK (output_tokens >= 0),
            reasoning_tokens BIGINT NOT NULL CHECK (reasoning_tokens >= 0),
            cost_usd DECIMAL(38, 12),
            cost_note VARCHAR,
            error_kind VARCHAR,
            error VARCHAR,
            output VARCHAR
        );
        """
    )


@migration
def m010_pending_batches(con: duckdb.DuckDBPyConnection) -> None:
    """Batches of new rows the priced cache does not hold yet: a write records its batch here
    rather than price it, and reads take the cache with just these rows priced live (see
    prices.priced_sql) until the cache takes them in (prices.refresh_priced_cache)."""
    con.execute(
        """
        CREATE TABLE priced_cache_pending (batch_id BIGINT PRIMARY KEY);
        CREATE VIEW requests_pending AS
        SELECT * FROM requests WHERE batch_id IN (SELECT batch_id FROM priced_cache_pending);
        """
    )


@migration
def m011_origin_provider(con: duckdb.DuckDBPyConnection) -> None:
    """The provider every row of an insert has (the route an import names) is stored once, in
    the rows' origin, and such rows store none: a bulk load writes a column whatever it holds,
    a constant text as dearly as any (0.07 CPU-s per 2,000,000 rows). `requests` shows a row's
    own provider, else its origin's (see rows.insert_clean_requests).
    """
    con.execute(
        """
        ALTER TABLE origins ADD COLUMN provider VARCHAR;
        CREATE OR REPLACE VIEW requests AS
        SELECT o.source, r.request_id, r.ts, coalesce(r.provider, o.provider) AS provider, r.upstream_provider,
            r.model, r.project, r.api_key, r."user", r.tags, r.input_tokens, r.cache_read_tokens,
            r.cache_write_tokens, r.cache_write_1h_tokens, r.output_tokens, r.reasoning_tokens, r.latency_ms,
            r.ttft_ms, r.status, r.billed_cost, r.currency, o.import_id, r.request_count, r.span_s, o.batch_id
        FROM request_rows AS r JOIN origins AS o ON o.origin_id = r.origin_id
        UNION ALL
        SELECT o.source, r.request_id, r.ts, coalesce(r.provider, o.provider), NULL::VARCHAR, r.model, r.project,
            r.api_key, NULL::VARCHAR, NULL::VARCHAR[], r.input_tokens, r.cache_read_tokens, 0::BIGINT, 0::BIGINT,
            r.output_tokens, 0::BIGINT, NULL::DOUBLE, NULL::DOUBLE, NULL::VARCHAR, r.billed_cost,
            CASE WHEN r.billed_cost IS NOT NULL THEN 'USD' END, o.import_id, 1::BIGINT, NULL::INTEGER, o.batch_id
        FROM request_rows_lean AS r JOIN origins AS o ON o.origin_id = r.origin_id;
        """
    )


SCHEMA_VERSION = len(MIGRATIONS)
