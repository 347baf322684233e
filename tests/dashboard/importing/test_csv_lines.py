"""A rejected CSV row keeps the line an editor shows, however the records before it are laid out.

DuckDB counts a record whose quoted field holds line breaks as one line and yields no
record for a blank line, so counting records alone put every later rejected row on the
wrong line. Each file here is built piece by piece, and the test counts the line each
piece starts on as it writes it, so the expected lines owe nothing to the importer.
"""

import gzip

import pytest

from dashboard.ingest import import_file
from dashboard.ingest.lines import LineMap

HEADER = "request_id,timestamp,model,prompt_tokens,completion_tokens,note\n"
OK = "2026-10-01T00:00:00Z,deepseek-v4-flash,10,5"

# (piece of the file, why it is rejected, or None for a good record or a blank line)
PIECES = [
    (f"g1,{OK},plain\n", None),
    (f'g2,{OK},"two\nlines"\n', None),
    ("b1,2026-10-01T00:00:00Z,deepseek-v4-flash,-3,5,plain\n", "prompt_tokens is negative: -3"),
    ("\n", None),  # a blank line between records
    (f'g3,{OK},"a blank line\n\ninside, and a ""quote"""\n', None),
    ("b2,not-a-time,deepseek-v4-flash,1,1,x\n", "unparsable time: not-a-time"),
    (f'b3,{OK}\n', "unreadable record"),  # a column short
    (f'g4,{OK},"three\nmore\nlines"\n', None),
    (f'b4,{OK},"too","many"\n', "unreadable record"),
    ("\n\n", None),
    ('b5,2026-10-01T00:00:00Z,,1,1,"no model\nover two lines"\n', "missing model"),
    (f"g5,{OK},last\n", None),
]


def build(ids: bool = True) -> tuple[str, dict[int, str], dict[int, str]]:
    """The file's text; for each rejected piece, the line it starts on -> the start of its reason;
    and for each piece rejected for its values, that line -> the piece's text.

    `ids` False leaves out the id column (each record's first field).
    """
    text, expected, texts = HEADER if ids else HEADER.partition(",")[2], {}, {}
    for piece, why in PIECES:
        piece = piece if ids or piece.startswith("\n") else piece.partition(",")[2]
        if why:
            expected[text.count("\n") + 1] = why
            if why != "unreadable record":
                texts[text.count("\n") + 1] = piece.removesuffix("\n")
        text += piece
    return text, expected, texts


@pytest.mark.slow
@pytest.mark.parametrize("compressed", [False, True], ids=["csv", "csv.gz"])
def test_rejected_rows_keep_the_line_they_start_on(warehouse, tmp_path, compressed):
    text, expected, texts = build()
    path = tmp_path / ("log.csv.gz" if compressed else "log.csv")
    path.write_bytes(gzip.compress(text.encode()) if compressed else text.encode())
    res = import_file(warehouse, path, "generic")
    assert (res.added, res.rejected) == (5, len(expected))
    got = warehouse.query("SELECT line, reason, raw FROM rejected_rows ORDER BY line").fetchall()
    assert [line for line, _, _ in got] == sorted(expected)
    for line, reason, raw in got:
        assert reason.startswith(expected[line]), (line, reason)
        assert raw.startswith(text.splitlines()[line - 1][:2])  # the record's id: it is that line's record
    # A record rejected for its values reads back as the file had it, quotes and line breaks too.
    assert {line: raw for line, _, raw in got if line in texts} == texts


@pytest.mark.slow
def test_a_stray_quote_keeps_record_numbers(warehouse, tmp_path):
    # `5" screen`: DuckDB reads the quote as text, so the quotes say nothing of where records
    # start; the line map sees its records disagree with DuckDB's and is not used.
    path = tmp_path / "stray.csv"
    path.write_text(HEADER + f'g1,{OK},5" screen\nb1,never,deepseek-v4-flash,1,1,x\ng2,{OK},y\n', encoding="utf-8")
    res = import_file(warehouse, path, "generic")
    assert (res.added, res.rejected) == (2, 1)
    assert warehouse.query("SELECT line, reason FROM rejected_rows").fetchall() == [(3, "unparsable time: never")]


def test_line_map_counts_quoted_lines_blank_lines_and_an_unclosed_field():
    # 1 header, 2 record, 3 opens a field, 4 inside, 5 closes it, 6 blank, 7 record,
    # 8 opens a field never closed: 9 (blank) and 10 are inside it.
    lines = LineMap(blank_lines=[6, 9], odd_lines=[3, 5, 8], lines=10)
    assert (lines.first.tolist(), lines.last.tolist()) == ([4, 9], [5, 10])
    assert lines.blank.tolist() == [4]  # line 6 is DuckDB's line 4: lines 4 and 5 belong to line 3's record
    assert lines.records == 10 - 4 - 1 - 1  # all lines, less those inside fields, the blank one and the header
    assert lines.physical([1, 2, 3, 4, 5, 6]).tolist() == [1, 2, 3, 6, 7, 8]
    assert lines.logical([1, 2, 3, 6, 7, 8]).tolist() == [1, 2, 3, 4, 5, 6]


def test_line_map_of_a_plain_file_changes_nothing():
    lines = LineMap([], [], 5)
    assert (len(lines.first), len(lines.blank), lines.records) == (0, 0, 4)
    assert lines.physical([1, 2, 3, 4, 5]).tolist() == [1, 2, 3, 4, 5]


def test_many_blank_lines_in_a_row(warehouse, tmp_path):
    # 300 blank lines before a bad record: each is a line DuckDB skips, and the line says so.
    path = tmp_path / "gaps.csv"
    path.write_text(HEADER + f"g1,{OK},x\n" + "\n" * 300 + "b1,never,deepseek-v4-flash,1,1,x\n", encoding="utf-8")
    res = import_file(warehouse, path, "generic")
    assert (res.added, res.rejected) == (1, 1)
    assert warehouse.query("SELECT line FROM rejected_rows").fetchall() == [(303,)]


@pytest.mark.slow
def test_rows_without_ids_which_are_numbered_as_they_are_read(warehouse, tmp_path):
    # No id column: every row is numbered while read (for its derived id), not only the rejected.
    text, expected, _ = build(ids=False)
    path = tmp_path / "no-ids.csv"
    path.write_text(text, encoding="utf-8")
    res = import_file(warehouse, path, "generic")
    assert (res.added, res.rejected) == (5, len(expected))
    got = warehouse.query("SELECT line, reason FROM rejected_rows ORDER BY line").fetchall()
    assert [line for line, _ in got] == sorted(expected)
    assert all(reason.startswith(expected[line]) for line, reason in got)


@pytest.mark.slow
def test_rows_rejected_for_their_values_alone_keep_their_lines_on_the_clean_read(warehouse, tmp_path):
    # No unreadable record: the good rows go straight in, and the rejected ones are read
    # again, numbered, and moved past the blank lines and the quoted line breaks.
    text, expected, texts = HEADER, {}, {}
    for piece, why in PIECES:
        if why == "unreadable record":
            continue
        if why:
            expected[text.count("\n") + 1] = why
            texts[text.count("\n") + 1] = piece.removesuffix("\n")
        text += piece
    path = tmp_path / "values.csv"
    path.write_text(text, encoding="utf-8")
    res = import_file(warehouse, path, "generic")
    assert (res.added, res.rejected, res.staged) == (5, len(expected), False)
    got = warehouse.query("SELECT line, raw FROM rejected_rows ORDER BY line").fetchall()
    assert dict(got) == texts and sorted(texts) == sorted(expected)
