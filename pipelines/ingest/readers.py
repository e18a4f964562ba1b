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
import pyarrow as pa

from pipelines.ingest import string_views

# Text per chunk: big enough that DuckDB writes a chunk's events with both cores (a table's row
# groups are 122,880 rows), small enough that memory stays flat for files of any size.
CHUNK_BYTES = 128 << 20

SCHEMA = pa.schema(
    [("line_no", pa.int64()), ("raw", pa.string_view()), ("pre_reason", pa.string())]
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


def _split(block: memoryview, first_line: int) -> pa.Table:
    """Numbered lines of a block of whole lines, none of their text copied.

    Newline positions come from numpy and become string views into the block (newlines and the
    carriage returns before them left out), so splitting costs about one pass over memory.
    """
    data = np.frombuffer(block, dtype=np.uint8)
    newlines = np.flatnonzero(data == 0x0A)
    if len(data) and data[-1] != 0x0A:
        newlines = np.append(newlines, len(data))  # last line without a trailing newline
    starts = np.concatenate(([0], newlines[:-1] + 1))
    ends = newlines.copy()
    nonempty = ends > starts
    ends[nonempty] -= data[ends[nonempty] - 1] == 0x0D
    raw = string_views.over_block(block, starts, ends - starts)
    count = len(starts)
    reasons: list[str | None] = [None] * count
    try:
        raw.validate(full=True)
    except pa.ArrowInvalid:
        # Somewhere in this block is a line that is not UTF-8: find it, keep its text readable.
        decoded = []
        for i, line in enumerate(raw.cast(pa.binary_view()).to_pylist()):
            try:
                decoded.append(line.decode("utf-8"))
            except UnicodeDecodeError:
                decoded.append(line.decode("utf-8", errors="replace"))
                reasons[i] = "invalid_encoding"
        raw = pa.array(decoded, pa.string_view())
    numbers = pa.array(np.arange(first_line, first_line + count, dtype=np.int64))
    return pa.Table.from_arrays([numbers, raw, pa.array(reasons, pa.string())], schema=SCHEMA)


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
            block = carry + block if carry else block
            cut = block.rfind(b"\n") + 1
            if cut == 0:
                carry = block  # one line longer than a chunk: keep reading
                continue
            carry = block[cut:]
            table = _split(memoryview(block)[:cut], next_line)
            next_line += table.num_rows
            yield table
    if carry:
        yield _split(memoryview(carry), next_line)


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
