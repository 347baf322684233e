"""The shared value parsers every import goes through (dashboard/ingest/sql.py MACROS).

Money is parsed at the warehouse's scale (DECIMAL(38, 12)); the import takes a faster
DECIMAL(18, 12) parse first, which must give the very same value for every text. A token
count likewise takes a fast decimal cast first, and must get ing_tok_slow's value.
"""

import json
import random
from decimal import Decimal

import pytest
from ingest_helpers import write_lines

from dashboard.ingest import import_file
from dashboard.ingest.sql import MACROS


def _money_texts() -> list[str]:
    rng = random.Random(7)
    texts = ["0", "0.0", "-0", "1", "0.000013", "1.3e-05", "1.3E-5", "1e-12", "5e-13", "4e-13", "1e-13",
             "999999.999999999999", "999999.9999999999995", "999999.9999999999994", "1000000", "1e6",
             "1000000.000000000001", "123456789012345678901234.5", "1e25", "-0.25", " 0.25 ", "+0.5",
             "0.1234567890125", "0.1234567890135", "-0.0000000000005", ".5", "5.", "1,5", "abc", "", "nan",
             "inf", "1e400", "0x10", "12.5.1"]
    for _ in range(3000):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 22)))
        point = rng.randint(0, len(digits))
        text = (digits[:point] or "0") + "." + (digits[point:] or "0")
        if rng.random() < 0.4:
            text = f"{rng.randint(1, 9)}.{digits[:rng.randint(0, 8)] or '0'}e{rng.randint(-16, 8)}"
        if rng.random() < 0.2:
            text = "-" + text
        texts.append(text)
    return texts


def test_the_fast_money_parse_equals_the_exact_parse_for_every_text(warehouse):
    cur = warehouse.cursor()
    cur.execute(MACROS)
    texts = _money_texts()
    got = cur.execute(
        "SELECT t, ing_money(t), TRY_CAST(t AS DECIMAL(38, 12)) FROM unnest(?::VARCHAR[]) AS u(t)", [texts]
    ).fetchall()
    assert len(got) == len(texts)
    differ = [(t, fast, exact) for t, fast, exact in got if fast != exact]
    assert differ == []
    # And the values are the ones a person reads, to the 12th decimal.
    by_text = {t: fast for t, fast, _ in got}
    assert by_text["1.3e-05"] == Decimal("0.000013")
    assert by_text["999999.999999999999"] == Decimal("999999.999999999999")
    assert by_text["1000000.000000000001"] == Decimal("1000000.000000000001")
    assert by_text["123456789012345678901234.5"] == Decimal("123456789012345678901234.5")
    assert by_text["abc"] is None and by_text["1e400"] is None
    assert sum(1 for _, fast, _ in got if fast is not None) > 2500  # the corpus is mostly numbers


@pytest.mark.slow
def test_the_cheap_blank_test_holds_every_value_the_exact_one_calls_blank(warehouse):
    # ing_maybe_blank decides whether a CSV record's text is built (to hash into an id when
    # the id is blank): it may say yes too often, never too rarely. Every code point, alone,
    # doubled, and before or after a space.
    cur = warehouse.cursor()
    cur.execute(MACROS)
    points = [p for p in range(1, 0x110000) if not 0xD800 <= p <= 0xDFFF]
    values = [chr(p) for p in points]
    values += [c + c for c in values] + [c + " " for c in values] + [" " + c for c in values]
    values += ["", " ", "   ", "\u3000 ", "\u00a0\u00a0 "]
    got = cur.execute(
        "SELECT count(*) FILTER (WHERE ing_blank(v)), "
        "count(*) FILTER (WHERE ing_blank(v) AND NOT ing_maybe_blank(v)), "
        "count(*) FILTER (WHERE ing_maybe_blank(v) AND regexp_matches(v, '^[!-}]')) FROM unnest(?::VARCHAR[]) AS u(v)",
        [values],
    ).fetchone()
    blank, missed, printable_maybe = got
    assert blank > 20  # spaces, NBSP, ideographic space and more are blank after trimming
    assert missed == 0
    assert printable_maybe == 0  # text starting with a printable ASCII character (bar '~') is never built
    assert cur.execute("SELECT ing_maybe_blank(NULL), ing_maybe_blank('req-1'), ing_maybe_blank('r 1')"
                       ).fetchone() == (True, False, False)


@pytest.mark.slow
def test_text_is_trimmed_exactly_when_it_starts_or_ends_with_a_space(warehouse):
    # ing_text skips its tests at either end for a value with no space at all; the rule
    # stays: a value starting or ending with a space is trimmed, any other kept as it is,
    # and an empty one is missing. Every code point alone, and with spaces around and inside.
    cur = warehouse.cursor()
    cur.execute(MACROS)
    points = [chr(p) for p in range(1, 0x110000) if not 0xD800 <= p <= 0xDFFF]
    values = points + [" " + c for c in points] + [c + " " for c in points] + [f"a{c} b" for c in points]
    values += ["", " ", "  ", "gpt 4o", " gpt-4o", "gpt-4o ", "\u00a0gpt 4o", "gpt 4o\u3000", "\u00a0 x \u00a0"]
    differ = cur.execute(
        "SELECT v, ing_text(v), CASE WHEN v LIKE ' %' OR v LIKE '% ' THEN nullif(trim(v), '') ELSE nullif(v, '') END "
        "FROM unnest(?::VARCHAR[]) AS u(v) WHERE ing_text(v) IS DISTINCT FROM "
        "CASE WHEN v LIKE ' %' OR v LIKE '% ' THEN nullif(trim(v), '') ELSE nullif(v, '') END",
        [values],
    ).fetchall()
    assert differ == []
    assert cur.execute("SELECT ing_text(' gpt 4o '), ing_text('gpt 4o'), ing_text('\u00a0gpt 4o'), ing_text('  ')"
                       ).fetchone() == ("gpt 4o", "gpt 4o", "\u00a0gpt 4o", None)


def _token_texts() -> list[str]:
    rng = random.Random(11)
    texts = ["0", "1", "-0", "007", "+5", " 12 ", "12.0", "12.5", "1e3", "1E3", "1_000", "0x10", "0b11", "1,5",
             "12.0000001", "12.0000009", "0.9999999", "999999999999", "999999999999.5", "1000000000000",
             "5000000000000", "999999999999999", "1000000000000000", "9223372036854775807", "1e15", "-3", "",
             " ", "nan", "NaN", "-nan", "inf", "lots", "true", "\uff11\uff12", "12.", ".5"]
    for _ in range(600):
        digits = str(rng.randint(0, 10 ** rng.randint(1, 19)))
        texts.append(rng.choice([digits, digits + ".0", digits[:-1] + "." + digits[-1], digits + "e1", " " + digits]))
    return texts


def test_every_token_count_text_is_read_as_the_exact_rule_reads_it(warehouse, tmp_path):
    # The import reads most counts with a fast cast and the rest with ing_tok_slow, the rule
    # that says what a count's text is worth; whichever it takes, a row's count is the rule's
    # value (a negative or no value rejects the row).
    texts = _token_texts()
    records = [{"id": f"t{i}", "object": "chat.completion", "created": 1790000000 + i, "model": "gpt-4o-mini",
                "usage": {"prompt_tokens": text, "completion_tokens": 1}} for i, text in enumerate(texts)]
    res = import_file(warehouse, write_lines(tmp_path / "counts.jsonl", [json.dumps(r) for r in records]))
    cur = warehouse.cursor()
    cur.execute(MACROS)
    rule = dict(cur.execute("SELECT 't' || (n - 1), ing_tok_slow(t) FROM unnest(?::VARCHAR[]) WITH ORDINALITY AS u(t, n)",
                            [texts]).fetchall())
    stored = dict(warehouse.query("SELECT request_id, input_tokens FROM requests").fetchall())
    expected = {i: v for i, v in rule.items() if v is not None and v >= 0}
    assert stored == expected
    assert res.rejected == len(texts) - len(expected)
    assert stored["t0"] == 0 and stored[f"t{texts.index('999999999999999')}"] == 999999999999999
    assert f"t{texts.index('1000000000000000')}" not in stored and f"t{texts.index('12.5')}" not in stored
