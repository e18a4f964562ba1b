"""Ingest a folder: every file in one batch, each file in its own transaction, counts reconciled.

A file already ingested with the same content (path and SHA-256; known without reading it when
its size and modification time are unchanged, see `ingested_files.py`) is skipped, so re-running
over the same folder changes nothing; `force` re-reads it, and then its lines come back as duplicates
and already-quarantined lines, still adding nothing. A file whose batch was cut short (killed
after some of its chunks committed) is read again whole; the lines that had landed come back
as `resumed`, so `duplicates` counts only what the source sent twice.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TypeVar

import duckdb
import numpy as np
import pyarrow as pa

from pipelines.ingest.discover import LandedFile, discover
from pipelines.ingest.events import LineCounts, grouped_by_type, land_chunk
from pipelines.ingest.ingested_files import IngestedFiles, Stamp, file_stamp
from pipelines.ingest.landed_keys import LandedKeys
from pipelines.ingest.quarantine_alerts import QuarantineAlert, batch_alerts
from pipelines.ingest.readers import (
    CHUNK_BYTES,
    SCHEMA,
    file_sha256,
    jsonl_chunks,
    parquet_lines,
)
from pipelines.ingest.reference import land_reference
from pipelines.ingest.schema_drift import Drift, batch_drift, renames

Progress = Callable[[str], None]
T = TypeVar("T")
_EMPTY = pa.table(
    {"file_no": pa.array([], pa.int32())} | {f.name: pa.array([], f.type) for f in SCHEMA}
)


@dataclass
class FileResult(LineCounts):
    file: str = ""
    kind: str = ""
    skipped: bool = False
    seconds: float = 0.0


@dataclass
class IngestResult:
    batch_id: int
    landing_dir: str
    files: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0
    schema_drift: list[Drift] = field(default_factory=list)
    quarantine_alerts: list[QuarantineAlert] = field(default_factory=list)

    @property
    def totals(self) -> LineCounts:
        total = LineCounts()
        for f in self.files:
            total.add(f)
        return total

    @property
    def reconciles(self) -> bool:
        return all(f.reconciles for f in self.files)

    def to_dict(self) -> dict:
        totals = self.totals
        return {
            "batch_id": self.batch_id,
            "landing_dir": self.landing_dir,
            "lines_read": totals.lines_read,
            "landed": totals.landed,
            "duplicates": totals.duplicates,
            "resumed": totals.resumed,
            "quarantined": totals.quarantined,
            "files_read": sum(not f.skipped for f in self.files),
            "files_skipped": sum(f.skipped for f in self.files),
            "seconds": round(self.seconds, 3),
            "lines_per_second": round(totals.lines_read / self.seconds) if self.seconds else None,
            "reconciles": self.reconciles,
            "files": [
                {k: v for k, v in asdict(f).items() if k != "seconds"}
                | {"seconds": round(f.seconds, 3)}
                for f in self.files
            ],
            "schema_drift": [d.to_dict() for d in self.schema_drift],
            "quarantine_alerts": [a.to_dict() for a in self.quarantine_alerts],
        }


def _next_batch_id(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("select coalesce(max(batch_id), 0) + 1 from raw.ingest_batches").fetchall()[
        0
    ][0]


@dataclass
class _Pending:
    """A file being read: its counts grow chunk by chunk until its last line has landed."""

    landed: LandedFile
    sha256: str
    stamp: Stamp  # size and modification time before it was read
    outcome: LineCounts = field(default_factory=LineCounts)
    seconds: float = 0.0


# Lines of one or more files, those files, and which of them end in it.
Chunk = tuple[pa.Table, list[_Pending], set[int]]


def _prefetched(items: Iterator[Chunk]) -> Iterator[Chunk]:
    """Read the next chunk in a thread while DuckDB (which releases the GIL) lands this one."""
    with ThreadPoolExecutor(max_workers=1) as reader:
        pending = reader.submit(next, items, None)
        while (item := pending.result()) is not None:
            pending = reader.submit(next, items, None)
            yield item


def _opened(
    cursor: duckdb.DuckDBPyConnection, landed: LandedFile
) -> tuple[str, Iterator[pa.Table]]:
    """A file's SHA-256 and its lines. A file that fits in a chunk is read from disk once."""
    path = landed.path
    if path.name.endswith(".parquet"):
        # Lazily, so that a file skipped for its checksum is never read.
        return file_sha256(path), (parquet_lines(cursor, path) for _ in range(1))
    if path.stat().st_size <= CHUNK_BYTES:
        content = path.read_bytes()
        return hashlib.sha256(content).hexdigest(), jsonl_chunks(path, content=content)
    return file_sha256(path), jsonl_chunks(path)


def _event_chunks(
    cursor: duckdb.DuckDBPyConnection,
    files: list[LandedFile],
    ingested_before: IngestedFiles,
    skipped: list[FileResult],
) -> Iterator[Chunk]:
    """Lines of many files in chunks of about CHUNK_BYTES: small files share a chunk.

    Yields the chunk (with `file_no` indexing the chunk's file list, grouped by event type), its
    files, and which of them end in this chunk. Per-statement costs are paid per chunk, not per file, so a landing
    folder of thousands of small files costs what one big file costs. A file found in
    `ingested_before` is not read any further and goes to `skipped`. `cursor` is this
    generator's own, since it runs in the reader thread.
    """
    tables: list[pa.Table] = []
    members: list[_Pending] = []
    ending: set[int] = set()
    size = 0
    for landed in files:
        stamp = file_stamp(landed.path)
        if ingested_before.unchanged(landed.relative, stamp):
            skipped.append(FileResult(file=landed.relative, kind=landed.kind, skipped=True))
            continue
        sha256, lines = _opened(cursor, landed)
        if ingested_before.same_content(landed.relative, sha256, stamp):
            skipped.append(FileResult(file=landed.relative, kind=landed.kind, skipped=True))
            continue
        pending = _Pending(landed, sha256, stamp)
        for table in lines:
            if not members or members[-1] is not pending:
                members.append(pending)
            file_no = np.full(table.num_rows, len(members) - 1, dtype=np.int32)
            tables.append(table.add_column(0, "file_no", pa.array(file_no)))
            size += table.column("raw").nbytes
            if size >= CHUNK_BYTES:
                yield grouped_by_type(cursor, pa.concat_tables(tables)), members, ending
                tables, members, ending, size = [], [], set(), 0
        if members and members[-1] is pending:
            ending.add(len(members) - 1)
        else:  # an empty file: it ends without a line
            members.append(pending)
            ending.add(len(members) - 1)
    if members:
        yield (
            grouped_by_type(cursor, pa.concat_tables(tables) if tables else _EMPTY),
            members,
            ending,
        )


def _record_file(con: duckdb.DuckDBPyConnection, batch_id: int, pending: _Pending) -> FileResult:
    outcome = pending.outcome
    if not outcome.reconciles:
        raise RuntimeError(f"{pending.landed.relative}: counts do not reconcile: {outcome}")
    # Columns named: a warehouse made before `resumed` existed has it last (raw_tables.sql).
    con.execute(
        """
        insert into raw.ingest_files (
            batch_id, file, kind, sha256, size_bytes, modified_ns, lines_read, landed,
            duplicates, resumed, quarantined, seconds, ingested_at
        )
        values (
            $batch, $file, $kind, $sha, $size, $modified, $read, $landed, $dups, $resumed,
            $quar, $secs, now()::timestamp
        )
        """,
        {
            "batch": batch_id,
            "file": pending.landed.relative,
            "kind": pending.landed.kind,
            "sha": pending.sha256,
            "size": pending.stamp[0],
            "modified": pending.stamp[1],
            "read": outcome.lines_read,
            "landed": outcome.landed,
            "dups": outcome.duplicates,
            "resumed": outcome.resumed,
            "quar": outcome.quarantined,
            "secs": pending.seconds,
        },
    )
    return FileResult(
        **asdict(outcome),
        file=pending.landed.relative,
        kind=pending.landed.kind,
        seconds=pending.seconds,
    )


def _in_transaction(con: duckdb.DuckDBPyConnection, work: Callable[[], T]) -> T:
    """What `work` returns, once its writes have committed."""
    con.execute("begin transaction")
    try:
        done = work()
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return done


def ingest_folder(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> IngestResult:
    """Land every event file and reference CSV below `folder` into the raw tables.

    Each chunk commits on its own, with the files that end in it; a run cut short leaves
    nothing half-counted, and ingesting again finishes the job without adding anything twice.
    """
    say = progress or (lambda _: None)
    started = time.perf_counter()
    files = discover(folder)
    batch_id = _start_batch(con, folder)
    result = IngestResult(batch_id, str(folder))
    say(f"batch {batch_id}: {len(files)} file(s) in {folder}")
    ingested_before = IngestedFiles() if force else IngestedFiles.of_warehouse(con)
    skipped: list[FileResult] = []
    references = _unread_references(files, ingested_before, skipped)
    _land_references(con, references, result, say)
    events = [f for f in files if f.kind == "events"]
    _land_events(con, events, ingested_before, skipped, result, say, file_count=len(files))
    ingested_before.restamp(con)
    if skipped:
        say(f"{len(skipped)} file(s) skipped: already ingested with the same content")
    result.files[:0] = skipped  # skipped files first, as `omsi ingest` has always listed them
    result.seconds = time.perf_counter() - started
    _finish_batch(con, result)
    result.schema_drift = batch_drift(con, batch_id)
    result.quarantine_alerts = batch_alerts(con, [batch_id], renames=renames(result.schema_drift))
    totals = result.totals
    say(
        f"batch {batch_id}: read {totals.lines_read:,}, landed {totals.landed:,}, duplicates "
        f"{totals.duplicates:,}, resumed {totals.resumed:,}, quarantined "
        f"{totals.quarantined:,} in {result.seconds:.1f} s"
    )
    return result


def _start_batch(con: duckdb.DuckDBPyConnection, folder: Path) -> int:
    """Open the batch's row in `raw.ingest_batches`; `_finish_batch` completes it."""
    batch_id = _next_batch_id(con)
    con.execute(
        "insert into raw.ingest_batches (batch_id, landing_dir, started_at) "
        "values ($b, $d, now()::timestamp)",
        {"b": batch_id, "d": str(folder)},
    )
    return batch_id


def _unread_references(
    files: list[LandedFile], ingested_before: IngestedFiles, skipped: list[FileResult]
) -> list[_Pending]:
    """The reference files to land; those ingested before with the same content go to `skipped`."""
    references: list[_Pending] = []
    for landed in (f for f in files if f.kind != "events"):
        stamp = file_stamp(landed.path)
        if ingested_before.unchanged(landed.relative, stamp):
            skipped.append(FileResult(file=landed.relative, kind=landed.kind, skipped=True))
            continue
        sha256 = file_sha256(landed.path)
        if ingested_before.same_content(landed.relative, sha256, stamp):
            skipped.append(FileResult(file=landed.relative, kind=landed.kind, skipped=True))
            continue
        references.append(_Pending(landed, sha256, stamp))
    return references


def _land_references(
    con: duckdb.DuckDBPyConnection, references: list[_Pending], result: IngestResult, say: Progress
) -> None:
    """Each reference file in its own transaction, recorded with its counts."""
    for pending in references:

        def land_one(pending: _Pending = pending) -> None:
            file_started = time.perf_counter()
            pending.outcome = land_reference(
                con,
                pending.landed.kind,
                pending.landed.path,
                file=pending.landed.relative,
                batch_id=result.batch_id,
            )
            pending.seconds = time.perf_counter() - file_started
            result.files.append(_record_file(con, result.batch_id, pending))

        _in_transaction(con, land_one)
        say(_describe(result.files[-1]))


def _land_events(
    con: duckdb.DuckDBPyConnection,
    events: list[LandedFile],
    ingested_before: IngestedFiles,
    skipped: list[FileResult],
    result: IngestResult,
    say: Progress,
    *,
    file_count: int,
) -> None:
    """Event files chunk by chunk, each chunk in a transaction with the files that end in it."""
    batch_id = result.batch_id
    lines_done = 0
    landed: LandedKeys | None = None
    # Event files are checksummed as they are read, in the reader thread, with its own cursor.
    chunks = _event_chunks(con.cursor(), events, ingested_before, skipped)
    for chunk, members, ending in _prefetched(chunks):
        if landed is None:  # once per batch, and only when an event file is read
            landed = LandedKeys.of_warehouse(con)

        def land(
            chunk: pa.Table = chunk,
            members: list[_Pending] = members,
            ending: set[int] = ending,
            landed: LandedKeys = landed,
        ) -> np.ndarray:
            chunk_started = time.perf_counter()
            files = [m.landed.relative for m in members]
            landing = land_chunk(con, chunk, files, batch_id=batch_id, landed=landed)
            outcomes = landing.counts
            seconds = time.perf_counter() - chunk_started
            for file_no, member in enumerate(members):
                member.outcome.add(outcomes[file_no])
                # Time is shared among a chunk's files by their lines.
                member.seconds += seconds * outcomes[file_no].lines_read / max(chunk.num_rows, 1)
            for file_no in sorted(ending):
                result.files.append(_record_file(con, batch_id, members[file_no]))
            return landing.new_keys

        # Added once committed: a chunk rolled back leaves no key of a line that never landed.
        landed.add(_in_transaction(con, land))
        lines_done += chunk.num_rows
        say(
            f"events: {lines_done:,} lines landed or accounted for ({len(result.files)} of "
            f"{file_count} files done)"
        )


def _finish_batch(con: duckdb.DuckDBPyConnection, result: IngestResult) -> None:
    """Close the batch's row with its totals."""
    totals = result.totals
    con.execute(
        """
        update raw.ingest_batches
        set finished_at = now()::timestamp, files = $files, files_skipped = $skipped,
            lines_read = $read, landed = $landed, duplicates = $dups, resumed = $resumed,
            quarantined = $quar
        where batch_id = $b
        """,
        {
            "b": result.batch_id,
            "files": sum(not f.skipped for f in result.files),
            "skipped": sum(f.skipped for f in result.files),
            "read": totals.lines_read,
            "landed": totals.landed,
            "dups": totals.duplicates,
            "resumed": totals.resumed,
            "quar": totals.quarantined,
        },
    )


def _describe(f: FileResult) -> str:
    return (
        f"{f.file}: read {f.lines_read:,}, landed {f.landed:,}, duplicates {f.duplicates:,}, "
        f"resumed {f.resumed:,}, quarantined {f.quarantined:,}"
    )
