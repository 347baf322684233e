"""The file an import reads, checked whole beside DuckDB's work: its digest, whether a
compressed file's checksums hold, and which lines are too long for DuckDB's line reader.

DuckDB decompresses a file by its name's extension, and neither checks a gzip file's CRC
(bytes flipped mid-file decompress to junk lines) nor stops a zstd file cut short (its
first rows would land as if they were the whole file). And its line reader passes over a
line about twice as long as its buffer without a word, where it rejects a shorter one that
is still too long. So one pass over the file, in a thread while DuckDB reads it, hashes it,
decompresses it as its magic bytes say (which verifies the checksums), and notes every line
longer than the reader takes.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import shutil
import tempfile
import threading
import zlib
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

from dashboard.errors import ImportFailed

# The longest line (record) the readers take: a 10 MB single line is still read (and rejected), not
# fatal. Here, below the readers, so the import command can start a file's check before they load.
MAX_LINE_BYTES = 16 * 1024 * 1024

MAGIC = {"gzip": b"\x1f\x8b", "zstd": b"\x28\xb5\x2f\xfd"}
# The name DuckDB needs to decompress a file (it goes by the extension).
SUFFIX = {"gzip": ".gz", "zstd": ".zst"}
# The check reads this much at a time. Each block takes the GIL back a few times, and while the
# command's own thread runs Python (its start-up) each time waits up to a switch interval:
# with 1 MiB blocks, a 170 MB file's check took 2 s beside a busy thread, with 4 MiB 0.65 s.
# A record shorter than a block may go unmeasured (RecordScan): no more than the shortest read
# of records takes (readers.CLEAN_LINE_BYTES).
BLOCK_BYTES = 4 << 20
# How much of a line too long to read a rejected row keeps (DuckDB keeps as much of such a line).
LONG_LINE_KEPT = 10_000


class BrokenFile(ImportFailed):
    """The file itself is damaged: reading it again another way cannot help."""


def compression(path: Path) -> str | None:
    """"gzip" or "zstd" by the file's first bytes (whatever its name), else None."""
    with path.open("rb") as f:
        head = f.read(4)
    return next((name for name, magic in MAGIC.items() if head.startswith(magic)), None)


@contextlib.contextmanager
def readable(path: Path) -> Iterator[Path]:
    """The path DuckDB reads `path` by: itself, or, for a compressed file whose name does not
    say so (a `.jsonl` that is gzip inside), a link to it named with the extension DuckDB needs."""
    kind = compression(path)
    if kind is None or path.name.lower().endswith(SUFFIX[kind]) or (kind == "zstd" and path.name.endswith(".zstd")):
        yield path
        return
    folder = Path(tempfile.mkdtemp(prefix="usage-import-"))
    try:
        link = folder / (path.name + SUFFIX[kind])
        os.symlink(path.resolve(), link)
        yield link
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True)
class LongLine:
    """A line longer than the line reader takes: its number, where it starts in the
    (decompressed) text, its length in bytes, and its first bytes."""

    line: int
    start: int
    length: int
    head: bytes


@dataclass(frozen=True)
class FileCheck:
    sha256: str
    compression: str | None
    long_lines: tuple[LongLine, ...]
    longest_record: int | None = 0  # see RecordScan.finish


class LineScan:
    """Lines longer than `limit` bytes in a stream of blocks, each shorter than `limit`.

    A line that long spans blocks with no line break, so each block costs a find and an rfind,
    wherever its own short lines end. The lines found are numbered 0: their numbers take a
    count of every line break before them (number_lines), a pass of its own over a file that
    has such a line, which most files have not.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.start = 0  # where the line under way starts
        self.length = 0
        self.head = bytearray()
        self.offset = 0  # bytes seen
        self.long: list[LongLine] = []

    def _grow(self, part: memoryview) -> None:
        self.length += len(part)
        if len(self.head) < LONG_LINE_KEPT:
            self.head += part[:LONG_LINE_KEPT - len(self.head)]

    def _end(self) -> None:
        if self.length > self.limit:
            self.long.append(LongLine(0, self.start, self.length, bytes(self.head)))

    def feed(self, block: bytes) -> None:
        view = memoryview(block)
        first = block.find(b"\n")
        if first < 0:
            self._grow(view)
        else:
            self._grow(view[:first])
            self._end()
            last = block.rfind(b"\n")
            self.start = self.offset + last + 1
            self.length = 0
            self.head = bytearray()
            self._grow(view[last + 1:])
        self.offset += len(block)

    def finish(self) -> tuple[LongLine, ...]:
        self._end()
        return tuple(self.long)


# A block with more quotes than this is not followed (see RecordScan): a file quoted that
# densely (every field, or JSON) costs a Python step per quoted line, too many to take.
QUOTES_FOLLOWED = 16_384  # a quote every 256 bytes of a 4 MiB block


class RecordScan:
    """The longest CSV record longer than a block, in a stream of blocks: a line, or the lines
    a quoted field joins (a quoted line break).

    A line longer than a block spans blocks, and is measured where it ends. A quoted line
    break leaves its line with an odd number of quotes (a quote inside a quoted field is
    doubled), and the record runs on to the next such line; only the lines that hold a quote
    are looked at, so a file with few quotes costs a find per quote.
    """

    def __init__(self) -> None:
        self.offset = 0  # bytes seen
        self.start = 0  # where the line under way starts
        self.quotes = 0  # the quotes of the line under way, so far
        self.open_at: int | None = None  # where the record a quoted line break holds open starts
        self.longest = 0
        self.followed = True  # False once a block had too many quotes to follow

    def _line(self, start: int, end: int, quotes: int) -> None:
        if quotes % 2 == 0:
            return
        if self.open_at is None:
            self.open_at = start
        else:
            self.longest = max(self.longest, end - self.open_at)
            self.open_at = None

    def _inner_lines(self, block: bytes, first: int, last: int) -> None:
        """The lines that hold a quote between the block's first and last line break."""
        at = block.find(b'"', first + 1, last)
        while at >= 0:
            start = block.rfind(b"\n", first, at) + 1
            end = block.find(b"\n", at, last + 1)
            self._line(self.offset + start, self.offset + end, block.count(b'"', start, end))
            at = block.find(b'"', end, last)

    def feed(self, block: bytes) -> None:
        quoted = self.followed and b'"' in block
        if quoted and block.count(b'"') > QUOTES_FOLLOWED:
            self.followed = quoted = False
        first = block.find(b"\n")
        if first < 0:
            self.quotes += block.count(b'"') if quoted else 0
        else:
            end = self.offset + first
            self.longest = max(self.longest, end - self.start)
            if self.followed:
                self._line(self.start, end, self.quotes + (block.count(b'"', 0, first) if quoted else 0))
            last = block.rfind(b"\n")
            if quoted:
                self._inner_lines(block, first, last)
            self.quotes = block.count(b'"', last + 1) if quoted else 0
            self.start = self.offset + last + 1
        self.offset += len(block)

    def finish(self) -> int | None:
        """The longest record's bytes, of the records longer than the longest block (shorter
        ones may be left out); None when a block had too many quotes to follow."""
        self.longest = max(self.longest, self.offset - self.start)
        if self.open_at is not None:  # a quote never closed: the record runs to the end
            self.longest = max(self.longest, self.offset - self.open_at)
        return self.longest if self.followed else None


def number_lines(stream: BinaryIO, long_lines: tuple[LongLine, ...]) -> tuple[LongLine, ...]:
    """`long_lines` (of the text `stream` reads) with their line numbers, counted from 1."""
    numbered, offset, breaks = [], 0, 0
    pending = iter(sorted(long_lines, key=lambda ln: ln.start))
    line = next(pending, None)
    for block in _blocks(stream):
        while line is not None and line.start < offset + len(block):
            numbered.append(replace(line, line=breaks + block.count(b"\n", 0, line.start - offset) + 1))
            line = next(pending, None)
        if line is None:
            break
        breaks += block.count(b"\n")
        offset += len(block)
    return tuple(numbered)


def _blocks(stream: BinaryIO) -> Iterator[bytes]:
    while block := stream.read(BLOCK_BYTES):
        yield block


@contextlib.contextmanager
def text_stream(path: Path, kind: str | None) -> Iterator[BinaryIO]:
    """The file's bytes, decompressed as `kind` says; reading to the end verifies a gzip
    file's CRC and length, and a zstd file's frames."""
    if kind == "gzip":
        with gzip.open(path, "rb") as stream:
            yield stream  # type: ignore[misc]
    elif kind == "zstd":
        import pyarrow as pa  # only for zstd: a tenth of a second of start-up every other import spares

        try:
            with pa.CompressedInputStream(pa.OSFile(str(path)), "zstd") as stream:
                yield stream  # type: ignore[misc]
        except pa.ArrowException as e:
            raise OSError(str(e)) from e
    else:
        with path.open("rb") as stream:
            yield stream


def check_file(path: Path, line_limit: int) -> FileCheck:
    """The file's SHA-256 (of its bytes as stored), once it is known to be whole, its lines
    longer than `line_limit` bytes and its longest record (RecordScan); BrokenFile when a
    compressed file is damaged or cut short."""
    digest = hashlib.sha256()
    kind = compression(path)
    scan, records = LineScan(line_limit), RecordScan()
    with path.open("rb") as f:
        for block in _blocks(f):
            digest.update(block)
            if kind is None:
                scan.feed(block)
                records.feed(block)
    if kind is not None:
        try:
            with text_stream(path, kind) as stream:
                for block in _blocks(stream):
                    scan.feed(block)
                    records.feed(block)
        except (OSError, EOFError, zlib.error) as e:
            raise BrokenFile(f"{path}: cannot be read: the {kind} stream is cut short or damaged "
                             f"({str(e).splitlines()[0] if str(e) else type(e).__name__}); its checksums "
                             "do not hold, so nothing was imported; copy or download the file again") from e
    long_lines = scan.finish()
    if long_lines:
        with text_stream(path, kind) as stream:
            long_lines = number_lines(stream, long_lines)
    return FileCheck(digest.hexdigest(), kind, long_lines, records.finish())


def check_in_background(path: Path | str, line_limit: int) -> Future[FileCheck]:
    """check_file in a thread of its own: the result, or its error, when asked for.

    It takes a second or more on a large file. Started before the warehouse opens (the import
    command does), it runs while the command starts up, on a core start-up leaves idle; this
    module loads no DuckDB, so it can start before DuckDB loads. Nobody waits for the thread:
    an import that fails first does not wait for it."""
    future: Future[FileCheck] = Future()

    def work() -> None:
        try:
            future.set_result(check_file(Path(path), line_limit))
        except BaseException as e:  # raised to whoever asks for the result
            future.set_exception(e)

    threading.Thread(target=work, name="file-check", daemon=True).start()
    return future


def without_long_lines(path: Path, kind: str | None, long_lines: tuple[LongLine, ...], dest: Path) -> Path:
    """A plain copy of the file's text with each of `long_lines` left empty, so every other line
    keeps its number; DuckDB reads it instead, and the long lines become rejected rows."""
    cuts = sorted((ln.start, ln.start + ln.length) for ln in long_lines)
    offset, i = 0, 0
    with text_stream(path, kind) as stream, dest.open("wb") as out:
        for block in _blocks(stream):
            end = offset + len(block)
            pos = offset
            while pos < end:
                while i < len(cuts) and cuts[i][1] <= pos:
                    i += 1
                if i < len(cuts) and cuts[i][0] < end:
                    cut_from, cut_to = cuts[i]
                    if pos < cut_from:
                        out.write(block[pos - offset:cut_from - offset])
                    pos = max(pos, min(cut_to, end))
                else:
                    out.write(block[pos - offset:])
                    pos = end
            offset = end
    return dest
