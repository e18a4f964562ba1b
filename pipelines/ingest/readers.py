"""Turn event files into chunks of numbered lines: `(line_no, raw, pre_reason)` Arrow tables.

Reading stays in Python only to split bytes into lines (fast, streaming, bounded memory);
everything that looks inside a line happens in SQL.
"""

from __future__ import annotations

import gzip
import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import duckdb
import numpy as np
import orjson
import pyarrow as pa

CHUNK_BYTES = 64 << 20  # ~64 MB of text per chunk keeps memory flat for files of any size

SCHEMA = pa.schema(
    [("line_no", pa.int64()), ("raw", pa.large_string()), ("pre_reason", pa.string())]
)


def _open(path: Path, content: bytes | None = None) -> BinaryIO:
    """The file's lines as bytes: from `content` (its bytes, already read) when given."""
    raw: BinaryIO = path.open("rb") if content is None else io.BytesIO(content)
    return gzip.GzipFile(fileobj=raw) if path.name.endswith(".gz") else raw


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _split(block: bytes, first_line: int) -> pa.Table:
    """Numbered lines of a block of whole lines, without copying each line into a Python string.

    Newline positions come from numpy and become the offsets of one Arrow string array over the
    block's bytes (newlines and the carriage returns before them removed), so splitting costs
    about as much as one pass over memory.
    """
    data = np.frombuffer(block, dtype=np.uint8)
    newlines = np.flatnonzero(data == 0x0A)
    if len(data) and data[-1] != 0x0A:
        newlines = np.append(newlines, len(data))  # last line without a trailing newline
    starts = np.concatenate(([0], newlines[:-1] + 1))
    ends = newlines.copy()
    has_cr = np.zeros(len(ends), dtype=bool)
    nonempty = ends > starts
    has_cr[nonempty] = data[ends[nonempty] - 1] == 0x0D
    ends[has_cr] -= 1
    keep = np.ones(len(data), dtype=bool)
    keep[newlines[newlines < len(data)]] = False
    keep[ends[has_cr]] = False
    lengths = ends - starts
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    text = pa.py_buffer(data[keep].tobytes())
    count = len(lengths)
    raw = pa.LargeStringArray.from_buffers(count, pa.py_buffer(offsets.tobytes()), text)
    reasons: list[str | None] = [None] * count
    try:
        raw.validate(full=True)
    except pa.ArrowInvalid:
        # Somewhere in this block is a line that is not UTF-8: find it, keep its text readable.
        decoded = []
        for i, line in enumerate(raw.cast(pa.large_binary()).to_pylist()):
            try:
                decoded.append(line.decode("utf-8"))
            except UnicodeDecodeError:
                decoded.append(line.decode("utf-8", errors="replace"))
                reasons[i] = "invalid_encoding"
        raw = pa.array(decoded, pa.large_string())
    line_of = np.searchsorted(starts, _suspect_offsets(data, block), side="right") - 1
    _mark_nonstandard_json(raw, line_of, reasons)
    numbers = pa.array(np.arange(first_line, first_line + count, dtype=np.int64))
    return pa.Table.from_arrays([numbers, raw, pa.array(reasons, pa.string())], schema=SCHEMA)


# DuckDB's JSON reader accepts NaN, Infinity and trailing commas, which RFC 8259 (and every
# strict consumer downstream) rejects. Lines that might hold them are few; a strict parser looks
# at just those.
_NONSTANDARD_WORDS = (b"NaN", b"Infinity")
# A regular expression's \s within one line: space, tab, form feed, carriage return.
_WHITESPACE = np.array([0x20, 0x09, 0x0C, 0x0D], dtype=np.uint8)


def _suspect_offsets(data: np.ndarray, block: bytes) -> np.ndarray:
    """Byte offsets where a block might hold NaN, Infinity or a comma before a closing bracket.

    Words are found with `bytes.find` (they are rare); trailing commas by stepping back from
    every `}` and `]` over whitespace, all closers at once, so the cost is a few passes over
    memory rather than a regular expression over every line.
    """
    found = []
    for word in _NONSTANDARD_WORDS:
        at = block.find(word)
        while at != -1:
            found.append(at)
            at = block.find(word, at + 1)
    closers = np.flatnonzero((data == 0x7D) | (data == 0x5D))
    before = closers - 1
    while len(before):
        before = before[before >= 0]
        blank = np.isin(data[before], _WHITESPACE)
        found.extend(before[~blank][data[before[~blank]] == 0x2C].tolist())
        before = before[blank] - 1
    return np.array(found, dtype=np.int64)


def _mark_nonstandard_json(raw: pa.Array, suspects: np.ndarray, reasons: list[str | None]) -> None:
    for i in np.unique(suspects).tolist():
        if reasons[i] is None:
            try:
                orjson.loads(raw[i].as_py())
            except orjson.JSONDecodeError:
                reasons[i] = "invalid_json"


def jsonl_chunks(
    path: Path, chunk_bytes: int = CHUNK_BYTES, content: bytes | None = None
) -> Iterator[pa.Table]:
    """Numbered lines of a `.jsonl` or `.jsonl.gz` file, a chunk of whole lines at a time.

    Every line counts, blank ones too (they quarantine as invalid_json), so that lines read
    always equals what the user's `wc -l` says. `content` is the file's bytes when the caller
    has read them already.
    """
    next_line = 1
    carry = b""
    with _open(path, content) as f:
        while True:
            block = f.read(chunk_bytes)
            if not block:
                break
            block = carry + block
            cut = block.rfind(b"\n") + 1
            if cut == 0:
                carry = block  # one line longer than a chunk: keep reading
                continue
            carry = block[cut:]
            table = _split(block[:cut], next_line)
            next_line += table.num_rows
            yield table
    if carry:
        yield _split(carry, next_line)


def parquet_lines(con: duckdb.DuckDBPyConnection, path: Path) -> pa.Table:
    """Rows of a Parquet file with the envelope columns, each rendered as the JSON line it stands for.

    `data` holds the event's data as a JSON string; timestamps stored as Parquet timestamps with a
    zone are written as RFC 3339 UTC, while zone-less ones stay without an offset and quarantine as
    bad_timestamp, as the contract asks of any timestamp without an offset.
    """
    described = con.execute("describe select * from read_parquet($p)", {"p": str(path)}).fetchall()
    pairs = []
    for name, column_type, *_ in described:
        quoted = '"' + name.replace('"', '""') + '"'
        if name == "data" and column_type == "VARCHAR":
            # json() is a cast DuckDB may evaluate outside the case; json_extract is not.
            value = (
                f"case when json_valid({quoted}) then json_extract({quoted}, '$') "
                f"else to_json({quoted}) end"
            )
        elif column_type == "TIMESTAMP WITH TIME ZONE":
            value = f"strftime(timezone('UTC', {quoted}), '%Y-%m-%dT%H:%M:%S.%fZ')"
        else:
            value = quoted
        pairs.append(f"'{name.replace(chr(39), chr(39) * 2)}', {value}")
    table = con.sql(
        f"""
        select file_row_number + 1 as line_no,
               json_object({", ".join(pairs)})::varchar as raw,
               null::varchar as pre_reason,
        from read_parquet($p, file_row_number = true)
        order by file_row_number
        """,
        params={"p": str(path)},
    ).to_arrow_table()
    return table.cast(SCHEMA)
