"""Publish ingest's batches as Parquet: the lake that engines other than DuckDB read.

Under the lake folder, one folder per raw table and one below it per ingest batch:

    events/batch_id=7/data_0.parquet        (more files when the batch is large)
    quarantine/batch_id=7/...
    ingest_files/batch_id=7/...
    nodes/batch_id=7/...  skus/...  carriers/...   (the reference rows batch 7 accepted)
    ingest_batches/batch_id=7/...           written last: the batch's commit record

A batch is in the lake once its `ingest_batches` folder is: readers take only such batches
(`committed_batches`), so a publish cut short midway is never read, on a local disk or on an
object store, where a rename is not atomic. Each folder is also written under a hidden name
(`.writing-...`, which Spark's and DuckDB's listings skip) and renamed into place, so that no
reader lists a file still being written. Publishing again skips the committed batches and writes
the folders of any other finished batch anew, so it is idempotent.

The batch id is in the folder name only: Spark refuses a column that is both in the files and in
the partition path. Reference tables keep in the warehouse the latest row per key, each with the
batch that accepted it; a batch's folder holds the rows it accepted, so the latest row per key
over the committed batches is the warehouse's table once every finished batch is published.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

# The raw tables dbt reads (dbt_project/models/staging/_sources.yml), in the order a batch's
# folders are written; the commit record comes after them all.
BATCH_TABLES = ("events", "quarantine", "ingest_files", "nodes", "skus", "carriers")
COMMIT_TABLE = "ingest_batches"
# The key of each reference table: the warehouse keeps the latest row per key, the lake the rows
# each batch accepted, so a reader of the lake takes the latest per key over committed batches.
REFERENCE_KEYS = {"nodes": ("node_id",), "skus": ("sku",), "carriers": ("carrier", "service_level")}
PARTITION = "batch_id"
WRITING_PREFIX = ".writing-"
# Files of about this size: large batches split into several, which Spark reads in parallel.
FILE_SIZE_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class PublishedBatch:
    batch_id: int
    rows: dict[str, int]  # per raw table, the rows the batch's folder holds
    seconds: float

    def describe(self) -> str:
        counts = ", ".join(f"{table} {rows:,}" for table, rows in self.rows.items() if rows)
        return f"batch {self.batch_id} published in {self.seconds:.1f} s: {counts or 'no rows'}"


def partition_folder(lake: Path, table: str, batch_id: int) -> Path:
    return lake / table / f"{PARTITION}={batch_id}"


def committed_batches(lake: Path) -> list[int]:
    """The batches in the lake: those whose commit record is written, in order."""
    records = lake / COMMIT_TABLE
    if not records.is_dir():
        return []
    prefix = f"{PARTITION}="
    return sorted(int(p.name[len(prefix) :]) for p in records.glob(f"{prefix}*") if p.is_dir())


def pending_batches(con: duckdb.DuckDBPyConnection, lake: Path) -> list[int]:
    """Finished ingest batches that are not in the lake yet. A batch still running (or cut
    short: its next run starts a new batch) has no `finished_at` and is never published."""
    finished = con.execute(
        "select batch_id from raw.ingest_batches where finished_at is not null order by batch_id"
    ).fetchall()
    committed = set(committed_batches(lake))
    return [batch_id for (batch_id,) in finished if batch_id not in committed]


def publish_batches(
    con: duckdb.DuckDBPyConnection, lake: Path, progress: Callable[[str], None] | None = None
) -> list[PublishedBatch]:
    """Publish every finished batch the lake lacks, oldest first."""
    published = []
    for batch_id in pending_batches(con, lake):
        published.append(publish_batch(con, lake, batch_id))
        if progress:
            progress(f"lake: {published[-1].describe()}")
    return published


def publish_batch(con: duckdb.DuckDBPyConnection, lake: Path, batch_id: int) -> PublishedBatch:
    """Write one batch's folder of every raw table, then its commit record."""
    started = time.perf_counter()
    rows = {table: _write_folder(con, lake, table, batch_id) for table in BATCH_TABLES}
    rows[COMMIT_TABLE] = _write_folder(con, lake, COMMIT_TABLE, batch_id)
    return PublishedBatch(batch_id, rows, time.perf_counter() - started)


def _write_folder(con: duckdb.DuckDBPyConnection, lake: Path, table: str, batch_id: int) -> int:
    """Write raw.<table>'s rows of the batch to a hidden folder and rename it into place; the
    rows written. A batch with no rows still gets a file, which carries the table's schema."""
    final = partition_folder(lake, table, batch_id)
    writing = final.with_name(WRITING_PREFIX + final.name)
    final.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(writing, ignore_errors=True)  # left by a publish that was cut short
    ((rows,),) = con.execute(
        f"copy (select * exclude ({PARTITION}) from raw.{table} where {PARTITION} = {int(batch_id)})"
        f" to {_literal(writing)}"
        f" (format parquet, compression zstd, file_size_bytes {FILE_SIZE_BYTES})"
    ).fetchall()
    # Only a batch without a commit record gets here: whatever of it is in place was never read.
    shutil.rmtree(final, ignore_errors=True)
    writing.rename(final)
    return int(rows)


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"
