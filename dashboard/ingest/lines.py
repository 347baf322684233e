"""Where a file's records sit among its lines: DuckDB's numbers turned into the file's own.

DuckDB numbers the records it reads, passing over unreadable and blank lines and counting a
CSV record that spans lines (a quoted field with line breaks) as one; a person looks a
rejected row up by the line an editor shows. Only a file with rejected rows needs this, so
the loader imports this module (and NumPy) only then.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Lines = np.ndarray  # line numbers, int64


def skipped(unreadable: Sequence[int], lines: LineMap | None) -> Lines:
    """DuckDB's numbers of the lines that yield no record: the `unreadable` ones and the blank ones, in order."""
    return np.unique(np.concatenate([unreadable, lines.blank if lines else []]).astype(np.int64))


def renumbered(records: Sequence[int], skipped: Lines, lines: LineMap | None) -> tuple[Lines, Lines]:
    """(records, the file's lines they sit on) for DuckDB's record numbers `records`.

    The record numbered n sits on the n-th line not `skipped` (DuckDB's numbers); `lines`
    then turns DuckDB's line numbers into the file's own.
    """
    old = np.asarray(records, dtype=np.int64)
    # Skipped line i (0-based, in order) has skipped[i] - i lines not skipped before it.
    new = old + np.searchsorted(skipped - np.arange(len(skipped)), old, side="right")
    return old, lines.physical(new) if lines else new


class LineMap:
    """Where a CSV's records sit, from its blank lines and the lines inside quoted fields.

    DuckDB numbers lines as if every record were one line (a quoted field with line breaks
    counts once), blank lines included; an editor counts every line. Built from the rows
    of readers.csv_line_events_sql: a line with an odd number of quotes opens a field that
    the next such line closes (a doubled quote inside a field counts twice, so it never
    does either). Line numbers count from 1; the header is the first line. Arrays, not
    lists: a large export whose every record spans lines has millions of such lines.
    """

    def __init__(self, blank_lines: Sequence[int], odd_lines: Sequence[int], lines: int) -> None:
        odd = np.sort(np.asarray(odd_lines, dtype=np.int64))
        opens, closes = odd[0::2], odd[1::2]
        if len(opens) > len(closes):  # a field never closed runs to the end
            closes = np.append(closes, max(int(opens[-1]), lines))
        keep = closes > opens
        self.first, self.last = opens[keep] + 1, closes[keep]  # lines inside field k: first[k]..last[k]
        self._before = np.concatenate(([0], np.cumsum(self.last - self.first + 1)))  # inside fields before k
        # DuckDB's number of the line that opens field k: the lines it numbers after that sit further on.
        self._anchor = self.first - 1 - self._before[:-1]
        blank = np.sort(np.asarray(blank_lines, dtype=np.int64))
        if len(self.first):  # a blank line inside a quoted field is part of its record
            k = np.searchsorted(self.first, blank, side="right") - 1
            blank = blank[(k < 0) | (blank > self.last[np.maximum(k, 0)])]
        self.blank = self.logical(blank)  # DuckDB's numbers of the blank lines between records
        self.records = lines - int(self._before[-1]) - len(blank) - 1  # the records after the header

    @classmethod
    def from_events(cls, n: Sequence[int], kind: Sequence[int]) -> LineMap:
        """From the rows of readers.csv_line_events_sql: line numbers `n` by `kind` (0 blank, 1 odd, 2 the count)."""
        n, kind = np.asarray(n, dtype=np.int64), np.asarray(kind)
        return cls(n[kind == 0], n[kind == 1], int(n[kind == 2][0]))

    def logical(self, physical: np.ndarray) -> np.ndarray:
        """DuckDB's numbers of lines that start a record or are blank."""
        physical = np.asarray(physical, dtype=np.int64)
        return physical - self._before[np.searchsorted(self.first, physical, side="left")]

    def physical(self, logical: np.ndarray) -> np.ndarray:
        """The file's own numbers of DuckDB's lines `logical`."""
        logical = np.asarray(logical, dtype=np.int64)
        return logical + self._before[np.searchsorted(self._anchor, logical, side="left")]
