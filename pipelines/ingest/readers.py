"""Turn event files into chunks of numbered lines: `(line_no, raw, pre_reason)` Arrow tables.

Reading stays in Python only to split bytes into lines (fast, streaming, bounded memory);
everything that looks inside a line happens in SQL.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import duckdb
import pyarrow as pa

CHUNK_BYTES = 64 << 20  # ~64 MB of text per chunk keeps memory flat for files of any size

SCHEMA = pa.schema([("line_no", pa.int64()), ("raw", pa.string()), ("pre_reason", pa.string())])


def _open(path: Path) -> BinaryIO:
    return gzip.open(path, "rb") if path.name.endswith(".gz") else path.open("rb")


def _decode(lines: list[bytes]) -> tuple[list[str], list[str | None]]:
    """Decode a chunk at once; fall back line by line only when it holds bad UTF-8."""
    try:
        text = b"".join(lines).decode("utf-8")
    except UnicodeDecodeError:
        rows, reasons = [], []
        for line in lines:
            try:
                rows.append(line.decode("utf-8"))
                reasons.append(None)
            except UnicodeDecodeError:
                rows.append(line.decode("utf-8", errors="replace"))
                reasons.append("invalid_encoding")
        return [r.rstrip("\r\n") for r in rows], reasons
    rows = text.split("\n")
    if text.endswith("\n"):
        rows.pop()  # the newline ends the last line; it does not start another
    return [r[:-1] if r.endswith("\r") else r for r in rows], [None] * len(rows)


def jsonl_chunks(path: Path, chunk_bytes: int = CHUNK_BYTES) -> Iterator[pa.Table]:
    """Numbered lines of a `.jsonl` or `.jsonl.gz` file, a chunk at a time.

    Every line counts, blank ones too (they quarantine as invalid_json), so that lines read
    always equals what the user's `wc -l` says.
    """
    next_line = 1
    with _open(path) as f:
        while lines := f.readlines(chunk_bytes):
            rows, reasons = _decode(lines)
            numbers = pa.array(range(next_line, next_line + len(rows)), pa.int64())
            next_line += len(rows)
            yield pa.Table.from_arrays(
                [numbers, pa.array(rows, pa.string()), pa.array(reasons, pa.string())],
                schema=SCHEMA,
            )


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
            value = f"case when json_valid({quoted}) then json({quoted}) else to_json({quoted}) end"
        elif column_type == "TIMESTAMP WITH TIME ZONE":
            value = f"strftime(timezone('UTC', {quoted}), '%Y-%m-%dT%H:%M:%S.%fZ')"
        else:
            value = quoted
        pairs.append(f"'{name.replace(chr(39), chr(39) * 2)}', {value}")
    return con.execute(
        f"""
        select file_row_number + 1 as line_no,
               json_object({', '.join(pairs)})::varchar as raw,
               null::varchar as pre_reason,
        from read_parquet($p, file_row_number = true)
        order by file_row_number
        """,
        {"p": str(path)},
    ).to_arrow_table()
