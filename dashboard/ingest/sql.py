"""The shared SQL every import goes through: validation, disjoint buckets, reasons.

Formats only extract text (see base.py); this wraps their SELECT so that every format
follows the same rules. Values the person typed (provider, model, time zone, source) are
bound parameters, never spliced into the text.

It runs once per record of files with millions of rows, so each value is parsed once and
the common case goes first: tokens take a fast decimal cast that finds a whole number, and
only the rest ("", "NaN", "12.5", counts of 10^12 or more) go through the slower check; a time that
looks like a date is cast as one, a bare number is read as epoch seconds or milliseconds
(a failed cast costs more than the successful one, so neither is tried blindly first).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from dashboard.errors import ID_KEY_MARKERS, PREFIXED_KEY, SECRET_MARKERS, SECRET_MIN_CHARS, SECRET_PATTERNS
from dashboard.ingest.base import Format, Sample
from dashboard.ingest.reasons import NOT_JSON, SKIPPED, UNNAMED
from dashboard.ingest.render import is_null
from dashboard.warehouse.contract import FIRST_DAY, LAST_DAY

# Counts the rows that have more cached than prompt tokens, under a plan that reads the prompt
# tokens as including them only until a row shows they cannot (canonical_sql's `guard_cached`,
# see plan.ImportPlan.otherwise): the read fails at the first such row, and the loader, after
# rolling back, reads this count (which a rollback leaves) to know why. Reset by MACROS,
# which every import runs before its transaction.
CACHED_OVER = "ingest_cached_over"

MACROS = f"CREATE OR REPLACE TEMP SEQUENCE {CACHED_OVER};\n" + """
-- (a value with no space at all, as most are, skips the tests at either end: a third cheaper)
CREATE OR REPLACE TEMP MACRO ing_text(v) AS
    CASE WHEN contains(CAST(v AS VARCHAR), ' ')
              AND (CAST(v AS VARCHAR) LIKE ' %' OR CAST(v AS VARCHAR) LIKE '% ')
         THEN nullif(trim(CAST(v AS VARCHAR)), '')
         ELSE nullif(CAST(v AS VARCHAR), '') END;
CREATE OR REPLACE TEMP MACRO ing_blank(v) AS ing_text(v) IS NULL;
-- True for every blank value (and for a few others: any starting with a space, a control
-- character, '~' or a non-ASCII character), from the value's first bytes alone: a blank
-- value is empty or starts with a character that trim removes, a space or a non-ASCII one.
CREATE OR REPLACE TEMP MACRO ing_maybe_blank(v) AS
    v IS NULL OR CAST(v AS VARCHAR) < '!' OR CAST(v AS VARCHAR) > '~';
CREATE OR REPLACE TEMP MACRO ing_dec(v) AS TRY_CAST(v AS DECIMAL(38, 6));
-- Money at the warehouse's scale. DECIMAL(18, 12) is the same exact parse for any amount
-- under a million, and several times faster than DECIMAL(38, 12) on text such as '1.3e-05'.
CREATE OR REPLACE TEMP MACRO ing_money(v) AS coalesce(TRY_CAST(v AS DECIMAL(18, 12)), TRY_CAST(v AS DECIMAL(38, 12)));
-- A token count given as blank, or as NaN: the missing-value marker of pandas and NumPy float
-- data, which a float column written to Parquet keeps (read as 'nan', '-nan') and some CSV
-- writers spell 'NaN'. Only for counts: no other field reads NaN as missing.
CREATE OR REPLACE TEMP MACRO ing_tok_missing(v) AS trim(v) = '' OR lower(trim(v)) IN ('nan', '-nan');
CREATE OR REPLACE TEMP MACRO ing_tok_slow(v) AS
    CASE WHEN ing_tok_missing(v) THEN 0
         WHEN ing_dec(v) = floor(ing_dec(v)) AND abs(ing_dec(v)) < 1000000000000000
         THEN CAST(ing_dec(v) AS BIGINT) END;
CREATE OR REPLACE TEMP MACRO ing_epoch_n(n) AS
    CASE WHEN n >= 1e10 AND n < 1e14 THEN to_timestamp(n / 1000)
         WHEN n >= 1e8 AND n < 1e10 THEN to_timestamp(n) END;
CREATE OR REPLACE TEMP MACRO ing_datelike(v) AS contains(v, '-') OR contains(v, ':') OR contains(v, '/');
-- The time as a number, when it is one (NULL for a date-like text): computed once, in the
-- layer below the parse, because a macro repeats its argument at every use.
CREATE OR REPLACE TEMP MACRO ing_ts_number(v) AS CASE WHEN NOT ing_datelike(v) THEN TRY_CAST(v AS DOUBLE) END;
-- A time whose offset follows a space, which DuckDB's cast does not read: as Go prints a
-- time ('2026-11-01 10:00:00.5 +0000 UTC', with the zone's name after the offset and
-- maybe the monotonic clock's 'm=+0.0013'), or '... +08:00'. The offset is joined on and
-- what follows it dropped: the offset says where the time is.
CREATE OR REPLACE TEMP MACRO ing_ts_joined(v) AS regexp_replace(
    trim(v), '\\s+([+-][0-9]{2}(:?[0-9]{2})?|[Zz])(\\s+[A-Za-z]{2,5})?(\\s+m=[+-][0-9.]+)?$', '\\1');
-- The cast first: the joined form is tried only for a time it cannot read.
CREATE OR REPLACE TEMP MACRO ing_ts_utc(v, n) AS
    CASE WHEN n IS NULL THEN coalesce(TRY_CAST(v AS TIMESTAMPTZ), TRY_CAST(ing_ts_joined(v) AS TIMESTAMPTZ))
         ELSE coalesce(ing_epoch_n(n), TRY_CAST(v AS TIMESTAMPTZ)) END;
-- With --tz: a time with an offset, 'UTC', 'GMT' or a full zone name ('Europe/Berlin') is
-- read as it says; a naive one, or one with a zone abbreviation, in --tz. An abbreviation
-- names no zone for sure ('CST' is China's, Cuba's and Chicago's; DuckDB reads it as
-- Chicago's), so the zone the person named decides. A trailing AM or PM is no zone: the
-- cast to a naive time would drop it without a word, so such a time is not read at all.
CREATE OR REPLACE TEMP MACRO ing_ts_zone(v, n, tz) AS
    CASE WHEN n IS NOT NULL THEN coalesce(ing_epoch_n(n), timezone(tz, TRY_CAST(trim(v) AS TIMESTAMP)))
         -- (an offset may follow a space, and a zone's name and Go's monotonic clock follow it: see ing_ts_joined)
         WHEN regexp_matches(trim(v),
                '[0-9]:[0-9]{2}(:[0-9]{2}(\\.[0-9]*)?)?\\s*(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)(\\s+[A-Za-z]{2,5})?(\\s+m=[+-][0-9.]+)?$')
            THEN TRY_CAST(ing_ts_joined(v) AS TIMESTAMPTZ)
         WHEN regexp_matches(trim(v), '[0-9]\\s*(UTC|GMT|[A-Za-z]+/[A-Za-z0-9_/+-]+)$')
            THEN TRY_CAST(trim(v) AS TIMESTAMPTZ)
         WHEN regexp_matches(trim(v), '^[0-9][0-9 :./-]*([Tt][0-9:. ]*)?(\\s[A-Z]{2,5})?$')
              AND NOT regexp_matches(trim(v), '\\s(AM|PM)$')
            THEN timezone(tz, TRY_CAST(regexp_replace(trim(v), '\\s[A-Z]{2,5}$', '') AS TIMESTAMP))
         ELSE TRY_CAST(trim(v) AS TIMESTAMPTZ) END;
"""


# A rejected row's text with its API key cut to the hint: the key the format read from it
# wherever it appears, then any key found by shape or name (errors.SECRET_PATTERNS).
def _masked_sql(text: str) -> str:
    for pattern, hint in SECRET_PATTERNS:
        text = f"regexp_replace({text}, {_literal(pattern)}, {_literal(hint)}, 'g')"
    return text


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


_MARKED = " OR ".join(f"contains(v, {_literal(m)})" for m in SECRET_MARKERS)


def _key_masked(known: bool) -> str:
    """SQL of the value `v` with any key in it cut to its hint, testing the markers only where `v`
    is no plainly keyless value (errors.plainly_keyless) and, where `known`, not in the list `known`."""
    spared = "\n         WHEN list_contains(known, v) THEN v" if known else ""
    return (f"CASE WHEN v IS NULL OR strlen(v) < {SECRET_MIN_CHARS} THEN v{spared}\n"
            f"         WHEN strlen(v) >= 32 OR {_MARKED} THEN ing_secrets_masked(v) ELSE v END")


_ID_MARKED = " OR ".join(f"contains(v, {_literal(m)})" for m in ID_KEY_MARKERS)
MACROS += f"""
CREATE OR REPLACE TEMP MACRO ing_secrets_masked(t) AS {_masked_sql("t")};
CREATE OR REPLACE TEMP MACRO ing_masked(t, key) AS ing_secrets_masked(
    CASE WHEN length(key) > 4
         -- JSON text may spell a slash of the key as an escape (\\/)
         THEN replace(replace(t, key, '…' || right(key, 4)), replace(key, '/', '\\/'), '…' || right(key, 4))
         ELSE t END);
-- A good row's text column (user, model, project, tags) with any key in it cut to its hint:
-- most values hold none of the markers a key needs, and skip the patterns. (A CASE tests each
-- WHEN on the rows no earlier one took: a blank or short value, most of them, costs one test.)
-- A request id holding a key is stored as a hash of itself (see errors.id_without_key).
CREATE OR REPLACE TEMP MACRO ing_id_keyless(v) AS
    CASE WHEN strlen(v) >= {SECRET_MIN_CHARS} AND ({_ID_MARKED}) AND regexp_matches(v, {_literal(PREFIXED_KEY)})
         THEN 'k' || md5(v) ELSE v END;
CREATE OR REPLACE TEMP MACRO ing_key_masked(v) AS {_key_masked(known=False)};
-- The same, sparing the markers the values in `known` (a file's own texts, each plainly keyless:
-- see known_texts), which a column such as the model repeats on most rows.
CREATE OR REPLACE TEMP MACRO ing_key_masked_known(v, known) AS {_key_masked(known=True)};
"""

TOKEN_FIELDS = ("requests", "prompt_tokens", "cache_read", "cache_write", "cache_write_1h", "output", "reasoning")


# Fields a CSV reader may hand over already parsed (see readers.typed_csv), with the type it
# parses each to. For text the reader accepts, its value is what the casts below make of
# that text (tokens: the decimal check of ing_tok_slow, whose scale this is; money: the
# first cast of ing_money; times: the first cast of ing_ts_utc), so rows read this way
# pass or fail the checks below exactly as when read as text. A line with text it cannot
# parse is passed over by the reader and read again as text (see loader.run_import).
TYPED_FIELDS = {
    "ts": "TIMESTAMPTZ", "billed_cost": "DECIMAL(18, 12)", "latency_ms": "DOUBLE", "ttft_ms": "DOUBLE",
    **{f: "DECIMAL(18, 6)" for f in TOKEN_FIELDS},
}


def _token_casts(typed: Collection[str], empty: Collection[str]) -> str:
    # i_f: the text's decimal, once per row in the layer below (inside a CASE it would run twice):
    # ing_tok_slow's cast at the typed read's DECIMAL(18, 6), the same value for any count under 10^12.
    return ", ".join(f"TRY_CAST({f} AS {TYPED_FIELDS[f]}) AS i_{f}" for f in TOKEN_FIELDS
                     if f not in typed and f not in empty)


# Text fields, each cleaned once per row in the layer below (s_f) however many places use it:
# the test for a trailing space reads the end of every value, one of the import's dearer steps.
TEXT_FIELDS = ("request_id", "provider", "upstream_provider", "model", "project", "api_key", "api_key_name",
               "user", "status", "currency")


# The fields canonical_sql leaves out where the format leaves them NULL on every row (its `empty`).
EMPTIED = (*TEXT_FIELDS, *TOKEN_FIELDS, "tags", "ts_end", "billed_cost", "latency_ms", "ttft_ms")


# The fields whose values go to the columns a lean insert leaves out (warehouse.rows.LEAN_DEFAULTS).
LEAN_ABSENT = ("upstream_provider", "user", "tags", "cache_write", "cache_write_1h", "reasoning", "latency_ms",
               "ttft_ms", "status", "currency", "requests", "ts_end")


def lean_fits(fmt: Format, sample: Sample, provider_given: bool) -> bool:
    """Whether a format leaves every field of LEAN_ABSENT NULL for the file `sample` is from.

    Its rows then have no value the lean table leaves out; with --provider, the file's own
    provider becomes the row's upstream one, so it must be NULL too. This only chooses the
    table to try first: the lean insert itself refuses a row that does not fit.
    """
    absent = (*LEAN_ABSENT, "provider") if provider_given else LEAN_ABSENT
    return all(is_null(fmt, sample, f) for f in absent)


def _text_values(empty: Collection[str]) -> str:
    return ", ".join(f"NULL::VARCHAR AS s_{f}" if f in empty else f'ing_text("{f}") AS s_{f}' for f in TEXT_FIELDS)


def _token_value(f: str, typed: Collection[str], empty: Collection[str]) -> str:
    # n_f: the token count, or NULL when the text is not a whole number (blank or NaN counts as 0).
    # A count that is a whole decimal, as read or as cast from its text (i_f), is that number;
    # only the rest pays for ing_tok_slow's blank and NaN tests and its wider cast.
    # (A decimal's remainder is exact, and cheaper than its floor; and unlike an integer cast,
    # which rounds '1.5' to 2 and reads '0x10' as 16, the decimal cast reads text as ing_tok_slow does.)
    if f in empty:
        return f"0::BIGINT AS n_{f}"
    # (a typed count has no text left that is not a decimal: nothing for ing_tok_slow)
    decimal, rest = (f"x.{f}", "") if f in typed else (f"x.i_{f}", f" ELSE ing_tok_slow(x.{f})")
    return f"CASE WHEN x.{f} IS NULL THEN 0 WHEN {decimal} % 1 = 0 THEN CAST({decimal} AS BIGINT){rest} END AS n_{f}"


def _as_text(f: str, typed: Collection[str]) -> str:
    """Field `f` of row `t` as text, for a reason (a typed field is cast back)."""
    return f"CAST(t.{f} AS VARCHAR)" if f in typed else f"t.{f}"


def _token_reasons(typed: Collection[str], empty: Collection[str]) -> str:
    parts = []
    for f in (f for f in TOKEN_FIELDS if f not in empty):
        parts.append(f"WHEN t.n_{f} IS NULL THEN '{f} is not a whole number: ' || left({_as_text(f, typed)}, 60)")
        parts.append(f"WHEN t.n_{f} < 0 THEN '{f} is negative: ' || {_as_text(f, typed)}")
    return "\n            ".join(parts)


# The times a request may have: a placeholder outside them would fall out of every month.
TS_FROM = f"TIMESTAMPTZ '{FIRST_DAY} 00:00:00+00'"
TS_UNTIL = f"TIMESTAMPTZ '{LAST_DAY.year + 1}-01-01 00:00:00+00'"

# A row covering a span (an end time, or a date for a day: see formats/generic.py) spans at
# most a year: each hour of a span is a slice the cost view prices.
MAX_SPAN_DAYS = 366
MAX_SPAN_US = MAX_SPAN_DAYS * 86_400 * 1_000_000
# The span of row `t` in microseconds: to its end time, or to the next midnight of its date;
# NULL for a row at one moment.
_SPAN_US = ("CASE WHEN t.end_given THEN epoch_us(t.ts_end_parsed) - epoch_us(t.ts_parsed) "
            "WHEN t.day_end IS NOT NULL THEN epoch_us(t.day_end) - epoch_us(t.ts_parsed) END")


def _all_checks_pass(record_text: bool, typed: Collection[str], empty: Collection[str]) -> str:
    """True only for a row every WHEN of the reasons below lets through (NULL or false otherwise)."""
    checks = [
        "t.parsed",
        "t.problem IS NULL",
        *([] if record_text else ["t.s_request_id IS NOT NULL"]),
        # a finite time in range: 'infinity' and the rest fall outside it
        f"t.ts_parsed >= {TS_FROM}",
        f"t.ts_parsed < {TS_UNTIL}",
        "t.model_final IS NOT NULL",
        *(f"t.n_{f} >= 0" for f in TOKEN_FIELDS if f not in empty),
        "(NOT t.included OR t.n_cache_read + t.n_cache_write + t.n_cache_write_1h <= t.n_prompt_tokens)",
        "t.n_reasoning <= t.n_output",
        f"(NOT t.end_given OR ({_SPAN_US}) BETWEEN 0 AND {MAX_SPAN_US})",
        # (a typed billed cost is its own parse)
        *([] if "billed_cost" in typed or "billed_cost" in empty else
          ["(t.billed_dec IS NOT NULL OR t.billed_cost IS NULL OR trim(t.billed_cost) = '')"]),
    ]
    return "\n            AND ".join(checks)


@dataclass(frozen=True)
class _Parts:
    """The pieces of canonical_sql that depend on its arguments."""

    ts: str
    ts_number: str
    ts_end: str
    day_end: str
    ts_text: str
    no_time: str
    billed: str
    billed_reason: str
    no_requests: str
    token_values: str
    request_id: str
    unnamed: str
    empty: Collection[str]  # the fields NULL on every row (see canonical_sql)


def _parts(zone_given: bool, derive_ids: bool, record_text: bool, typed: Collection[str],
           empty: Collection[str]) -> _Parts:
    ts = "ing_ts_zone(x.ts, x.ts_number, $tz)" if zone_given else "ing_ts_utc(x.ts, x.ts_number)"
    if "ts" in typed:
        ts = "x.ts"
    ts_number = "NULL::DOUBLE" if "ts" in typed else "ing_ts_number(ts)"
    ts_end = ("ing_ts_zone(x.ts_end, x.ts_end_number, $tz)" if zone_given
              else "ing_ts_utc(x.ts_end, x.ts_end_number)")
    # A time given as a date alone (2026-08-24) is that day: it ends at the next midnight, in --tz.
    next_midnight = "CAST(TRY_CAST(trim(CAST(x.ts AS VARCHAR)) AS DATE) + 1 AS TIMESTAMP)"
    next_midnight = f"timezone({'$tz' if zone_given else chr(39) + 'UTC' + chr(39)}, {next_midnight})"
    day_end = "NULL::TIMESTAMPTZ" if "ts" in typed else f"""CASE
            WHEN x.ts IS NULL OR strlen(CAST(x.ts AS VARCHAR)) > 12 OR NOT ing_blank(x.ts_end) THEN NULL
            WHEN regexp_full_match(trim(CAST(x.ts AS VARCHAR)), '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}')
                THEN {next_midnight} END"""
    ts_text = _as_text("ts", typed)
    no_time = "ing_blank(t.ts)"
    if "ts_epoch" in typed:
        ts_number = f"coalesce(ts_epoch, {ts_number})"
        ts_text = "coalesce(t.ts, CAST(t.ts_epoch AS VARCHAR))"
        no_time = "t.ts_epoch IS NULL AND ing_blank(t.ts)"
    billed = "x.billed_cost" if "billed_cost" in typed else "ing_money(x.billed_cost)"
    billed = "NULL::DECIMAL(38, 12)" if "billed_cost" in empty else billed
    billed_reason = "" if "billed_cost" in typed or "billed_cost" in empty else (
        "WHEN t.billed_dec IS NULL AND t.billed_cost IS NOT NULL AND trim(t.billed_cost) <> ''\n"
        "                THEN 'billed cost is not a number: ' || left(t.billed_cost, 60)")
    no_requests = "v.requests IS NULL" + ("" if "requests" in typed else " OR ing_tok_missing(v.requests)")
    no_requests = "true" if "requests" in empty else no_requests
    token_values = ",\n        ".join(_token_value(f, typed, empty) for f in TOKEN_FIELDS)
    if derive_ids:
        request_id = """coalesce(
        v.s_request_id,
        'h' || md5(coalesce(v.raw, '')) || '-'
            || row_number() OVER (PARTITION BY md5(coalesce(v.raw, '')) ORDER BY v.line)
    )"""
    elif record_text:
        request_id = "coalesce(v.s_request_id, 'h' || md5(coalesce(v.raw, '')))"
    else:
        request_id = "v.s_request_id"
    unnamed = "" if record_text else f"WHEN t.s_request_id IS NULL THEN '{UNNAMED}'"
    return _Parts(ts=ts, ts_number=ts_number, ts_end=ts_end, day_end=day_end, ts_text=ts_text, no_time=no_time,
                  billed=billed, billed_reason=billed_reason, no_requests=no_requests, token_values=token_values,
                  request_id=request_id, unnamed=unnamed, empty=empty)


def _parsed_layers(format_sql: str, p: _Parts, typed: Collection[str]) -> str:
    """Layers x (each value parsed once: tokens, texts) and t (times, buckets, money) over the format's SELECT."""
    ended = "ts_end" not in p.empty
    return f"""
x AS (
    SELECT *, {p.ts_number} AS ts_number,
        {"CASE WHEN ts_end IS NOT NULL THEN ing_ts_number(ts_end) END" if ended else "NULL::DOUBLE"} AS ts_end_number,
        {", ".join(filter(None, [_token_casts(typed, p.empty), _text_values(p.empty)]))} FROM (
{format_sql}
    )
),
t AS (
    SELECT
        x.*,
        {p.ts} AS ts_parsed,
        {"x.ts_end IS NOT NULL AND NOT ing_blank(x.ts_end)" if ended else "false"} AS end_given,
        {f"CASE WHEN x.ts_end IS NOT NULL THEN {p.ts_end} END" if ended else "NULL::TIMESTAMPTZ"} AS ts_end_parsed,
        {p.day_end} AS day_end,
        coalesce($cached_included, x.cached_included, true) AS included,
        coalesce($model, x.s_model) AS model_final,
        {p.billed} AS billed_dec,
        {"NULL::VARCHAR" if "tags" in p.empty else "ing_key_masked(x.tags)"} AS m_tags,
        {p.token_values}
    FROM x
),
"""


def _checked_layer(p: _Parts, record_text: bool, typed: Collection[str], guard_cached: bool) -> str:
    """Layer v: each row's reason (NULL for a good row, SKIPPED for no record)."""
    over = (f"error('more cached than prompt tokens: ' || nextval('{CACHED_OVER}'))" if guard_cached else
            "'cached tokens (' || (t.n_cache_read + t.n_cache_write + t.n_cache_write_1h)"
            " || ') exceed prompt tokens (' || t.n_prompt_tokens || ')'")
    return f"""v AS (
    SELECT
        t.*,
        t.n_cache_read + t.n_cache_write + t.n_cache_write_1h AS cache_total,
        -- Most rows pass every check: one conjunction lets them skip the chain of reasons,
        -- which only the rest go through (it decides, the conjunction only spares work).
        CASE WHEN {_all_checks_pass(record_text, typed, p.empty)} THEN NULL ELSE CASE
            WHEN t.parsed IS NULL THEN '{SKIPPED}'
            WHEN NOT t.parsed THEN '{NOT_JSON}'
            WHEN t.problem IS NOT NULL THEN t.problem
            {p.unnamed}
            -- a blank time has no parse either: only rows without one are tested for blanks
            WHEN t.ts_parsed IS NULL AND {p.no_time} THEN 'missing time'
            -- DuckDB also reads 'infinity', '-infinity' and 'inf' as times: none is a request's.
            WHEN t.ts_parsed IS NULL OR NOT isfinite(t.ts_parsed) THEN 'unparsable time: ' || left({p.ts_text}, 60)
            -- A placeholder such as the zero time 0001-01-01 (or DuckDB's word 'epoch') would land the
            -- row in a month no statement shows: its cost would silently fall out of every total.
            WHEN t.ts_parsed < {TS_FROM} OR t.ts_parsed >= {TS_UNTIL}
                THEN 'time out of range (not in {FIRST_DAY.year} to {LAST_DAY.year}): ' || left({p.ts_text}, 60)
            WHEN t.end_given AND (t.ts_end_parsed IS NULL OR NOT isfinite(t.ts_end_parsed))
                THEN 'unparsable end time: ' || left(t.ts_end, 60)
            WHEN t.end_given AND t.ts_end_parsed < t.ts_parsed
                THEN 'end time ' || left(t.ts_end, 60) || ' is before the time ' || left({p.ts_text}, 60)
            WHEN t.end_given AND ({_SPAN_US}) > {MAX_SPAN_US}
                THEN 'the row spans more than {MAX_SPAN_DAYS} days, from ' || left({p.ts_text}, 60)
                     || ' to ' || left(t.ts_end, 60)
            WHEN t.model_final IS NULL THEN 'missing model (pass --model to attribute the file)'
            {_token_reasons(typed, p.empty)}
            WHEN t.included AND t.n_cache_read + t.n_cache_write + t.n_cache_write_1h > t.n_prompt_tokens
                THEN {over}
            WHEN t.n_reasoning > t.n_output
                THEN 'reasoning tokens (' || t.n_reasoning || ') exceed output tokens (' || t.n_output || ')'
            {p.billed_reason}
        END END AS reason
    FROM t
)
"""


# The text fields whose values a plan may name as known (plan.known_texts): those of long values
# repeated on many rows. A read with them takes the parameter $known, a STRUCT of a list of
# texts for each.
KNOWN_FIELDS = ("provider", "upstream_provider", "model", "project", "api_key_name", "user")


def shared_provider(provider: str | None) -> str | None:
    """The provider every row of a read has when the import names one ($provider, already cut
    of any key by Options): as the SELECT below stores it, lower-cased. (Should DuckDB lower a
    text otherwise than Python, the rows keep their own: see rows.insert_clean_requests.)"""
    return None if provider is None else provider.lower()


# A row's tags: a JSON list, else a comma-separated text (over row `v`, whose m_tags is their text, keys cut).
_TAGS = """CASE
        WHEN ing_blank(v.tags) THEN NULL
        WHEN trim(v.m_tags) LIKE '[%' AND json_valid(v.m_tags)
            THEN TRY_CAST(json_extract_string(v.m_tags, '$[*]') AS VARCHAR[])
        ELSE list_filter(list_transform(string_split(v.m_tags, ','), lambda s: trim(s)), lambda s: s <> '')
    END"""


def _canonical_select(p: _Parts, shown: str, known: bool) -> str:
    """The `requests` columns of every row, with `line`, `raw` and `reason`."""
    def masked(text: str, name: str) -> str:
        return f"ing_key_masked_known({text}, $known.{name})" if known else f"ing_key_masked({text})"

    def unless_empty(field: str, sql: str, null: str = "NULL::VARCHAR") -> str:
        return null if field in p.empty else sql

    def field(name: str) -> str:  # a text field of the file, its key cut
        return unless_empty(name, masked(f"v.s_{name}", name))
    return f"""SELECT
    v.line,
    CASE WHEN v.reason IS NOT NULL THEN left(ing_masked({shown}, v.s_api_key), 100000) END AS raw,
    -- a reason quotes the value it is about, which a file's misplaced columns can make a key
    CASE WHEN v.reason <> '' THEN ing_masked(v.reason, v.s_api_key) ELSE v.reason END AS reason,
    coalesce($source, 'import') AS source,
    ing_id_keyless({p.request_id}) AS request_id,
    v.ts_parsed AS ts,
    -- a key misplaced into a text column is stored as its hint there too
    lower({masked(unless_empty("provider", "coalesce($provider, v.s_provider)", "$provider"), "provider")})
        AS provider,
    CASE WHEN $provider IS NOT NULL THEN lower({field("provider")})
         ELSE {field("upstream_provider")} END AS upstream_provider,
    {masked("v.model_final", "model")} AS model,
    {field("project")} AS project,
    coalesce(
        {field("api_key_name")},
        {unless_empty("api_key", "CASE WHEN v.s_api_key IS NOT NULL THEN '…' || right(v.s_api_key, 4) END")}
    ) AS api_key,
    {field("user")} AS "user",
    {unless_empty("tags", _TAGS, "NULL::VARCHAR[]")} AS tags,
    CASE WHEN v.included THEN v.n_prompt_tokens - v.cache_total ELSE v.n_prompt_tokens END AS input_tokens,
    v.n_cache_read AS cache_read_tokens,
    v.n_cache_write AS cache_write_tokens,
    v.n_cache_write_1h AS cache_write_1h_tokens,
    v.n_output AS output_tokens,
    v.n_reasoning AS reasoning_tokens,
    {unless_empty("latency_ms", "TRY_CAST(v.latency_ms AS DOUBLE)", "NULL::DOUBLE")} AS latency_ms,
    {unless_empty("ttft_ms", "TRY_CAST(v.ttft_ms AS DOUBLE)", "NULL::DOUBLE")} AS ttft_ms,
    {unless_empty("status", "ing_key_masked(v.s_status)")} AS status,
    v.billed_dec AS billed_cost,
    -- a good row's billed cost is blank exactly when it has no parse (any other text is rejected)
    coalesce({unless_empty("currency", "ing_key_masked(v.s_currency)")},
             CASE WHEN v.billed_dec IS NOT NULL THEN 'USD' END) AS currency,
    $import_id AS import_id,
    CASE WHEN {p.no_requests} THEN 1 ELSE v.n_requests END AS request_count,
    -- whole seconds; a span shorter than half a second is a moment
    CASE WHEN ({_SPAN_US.replace("t.", "v.")}) > 0
        THEN nullif(CAST((({_SPAN_US.replace("t.", "v.")}) + 500000) // 1000000 AS INTEGER), 0) END AS span_s
FROM v
"""


def canonical_sql(format_sql: str, zone_given: bool = False, derive_ids: bool = True,
                  record_text: bool = True, shown: str = "v.raw", typed: Collection[str] = (),
                  guard_cached: bool = False, known: bool = False, empty: Collection[str] = ()) -> str:
    """Wrap a format's SELECT (to follow `WITH src AS (...),`).

    The result has the `requests` columns plus `line`, `raw` and `reason` (NULL for a good
    row, SKIPPED for a row that is no record, else why the row is rejected).
    `zone_given`: naive timestamps are in $tz rather than UTC (a slower parse).
    `derive_ids`: the format has no request id, so every row gets a stable derived one
    (a hash of the record plus its occurrence number, so identical requests stay distinct).
    `record_text`: False when the reader has no text of the record (the typed JSON read);
    a row without an id of its own then cannot be named: its reason is UNNAMED, which sends
    the clean-only import that uses this read to the staged one, which names it.
    `shown`: SQL for the text a rejected row keeps, over `v` (whose `__record` is the reader's
    record); computed for rejected rows only.
    `typed`: the fields (of TYPED_FIELDS) the reader gives parsed, as TYPED_FIELDS types them;
    or "ts_epoch": beside `ts`, the format gives the time it takes first as a DOUBLE `ts_epoch`
    (a JSON number, see readers.typed_lines), and `ts` only where that is missing. The time is
    then what the text read makes of the number's text: epoch seconds or milliseconds, else none.
    `guard_cached`: a row whose prompt tokens, read as including the cached ones, are fewer than
    them fails the read (see CACHED_OVER) instead of being rejected.
    `known`: the texts of KNOWN_FIELDS that `$known` lists are stored without testing them for a
    key (each must be plainly keyless: a cheaper test, the same result).
    `empty`: fields of EMPTIED the format leaves NULL on every row (render.is_null): the SQL leaves
    out their parsing, checks and key tests. DuckDB would fold those away too, but binding them
    cost every read a hundredth of a second; the rows are the same.
    Parameters: $source, $provider, $model, $tz, $cached_included, $import_id, and $known where `known`.
    """
    if "ts" in typed and zone_given:
        raise ValueError("a time read as TIMESTAMPTZ has lost the zone --tz would give it")
    p = _parts(zone_given, derive_ids, record_text, typed, empty)
    return (_parsed_layers(format_sql, p, typed) + _checked_layer(p, record_text, typed, guard_cached)
            + _canonical_select(p, shown, known))
