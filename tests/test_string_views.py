"""Lines as Arrow string views: split from a block without copying, reordered by moving views."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from pipelines.ingest import string_views
from pipelines.ingest.readers import _split

# Lengths around the 12 bytes a view holds inline, and non-ASCII text.
LINES = [
    b"",
    b"a",
    b"abcd",
    b"twelve bytes",
    b"thirteen byte",
    "São Paulo, região".encode(),
    b"x" * 300,
]


def test_views_over_a_block_hold_each_line_and_nothing_else() -> None:
    block = b"\n".join(LINES) + b"\n"
    lengths = np.array([len(line) for line in LINES])
    starts = np.concatenate(([0], np.cumsum(lengths + 1)[:-1]))
    views = string_views.over_block(memoryview(block), starts, lengths)
    views.validate(full=True)
    assert views.to_pylist() == [line.decode() for line in LINES]


def test_split_numbers_lines_and_drops_line_endings() -> None:
    block = b"first line, long enough\r\n\r\n{}\nlast line without newline"
    table = _split(memoryview(block), 41)
    assert table.column("line_no").to_pylist() == [41, 42, 43, 44]
    assert table.column("raw").to_pylist() == [
        "first line, long enough",
        "",
        "{}",
        "last line without newline",
    ]
    assert table.column("pre_reason").null_count == 4


def test_a_line_that_is_not_utf8_is_kept_readable_and_marked() -> None:
    table = _split(memoryview(b"fine line of text here\nbad \xff byte in this one\n"), 1)
    assert table.column("pre_reason").to_pylist() == [None, "invalid_encoding"]
    assert table.column("raw")[1].as_py() == "bad \ufffd byte in this one"


def test_take_moves_rows_across_chunks_read_from_different_blocks() -> None:
    chunks = [_split(memoryview(b"\n".join(part) + b"\n"), 1) for part in (LINES[:4], LINES[4:])]
    table = pa.concat_tables(chunks)
    order = np.array([6, 0, 5, 3, 1, 4, 2])
    taken = string_views.take(table, order)
    expected = [line.decode() for line in LINES]
    assert taken.column("raw").to_pylist() == [expected[i] for i in order]
    assert taken.column("line_no").to_pylist() == [[1, 2, 3, 4, 1, 2, 3][i] for i in order]
