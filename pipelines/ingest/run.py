"""Ingest a folder: every file in one batch, each file in its own transaction, counts reconciled.

A file already ingested with the same content (path and SHA-256) is skipped, so re-running over
the same folder changes nothing; `force` re-reads it, and then its lines come back as duplicates
and already-quarantined lines, still adding nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from pipelines.ingest.discover import LandedFile, discover
from pipelines.ingest.events import Outcome, land_chunk
from pipelines.ingest.readers import jsonl_chunks, parquet_lines
from pipelines.ingest.reference import land_reference

Progress = Callable[[str], None]


@dataclass
class FileResult(Outcome):
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

    @property
    def totals(self) -> Outcome:
        total = Outcome()
        for f in self.files:
            total.add(f)
        return total

    @property
    def reconciles(self) -> bool:
        return all(f.lines_read == f.landed + f.duplicates + f.quarantined for f in self.files)

    def to_dict(self) -> dict:
        totals = self.totals
        return {
            "batch_id": self.batch_id,
            "landing_dir": self.landing_dir,
            "lines_read": totals.lines_read,
            "landed": totals.landed,
            "duplicates": totals.duplicates,
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
        }


def _next_batch_id(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("select coalesce(max(batch_id), 0) + 1 from raw.ingest_batches").fetchall()[
        0
    ][0]


def _already_ingested(con: duckdb.DuckDBPyConnection, landed: LandedFile, sha256: str) -> bool:
    rows = con.execute(
        "select 1 from raw.ingest_files where file = $file and sha256 = $sha limit 1",
        {"file": landed.relative, "sha": sha256},
    ).fetchall()
    return bool(rows)


def _land_file(
    con: duckdb.DuckDBPyConnection, landed: LandedFile, batch_id: int, progress: Progress
) -> Outcome:
    if landed.kind != "events":
        return land_reference(
            con, landed.kind, landed.path, file=landed.relative, batch_id=batch_id
        )
    outcome = Outcome()
    if landed.path.name.endswith(".parquet"):
        chunks = iter([parquet_lines(con, landed.path)])
    else:
        chunks = jsonl_chunks(landed.path)
    for number, chunk in enumerate(chunks, start=1):
        outcome.add(land_chunk(con, chunk, file=landed.relative, batch_id=batch_id))
        if number > 1:  # only long files need progress within the file
            progress(f"  {landed.relative}: {outcome.lines_read:,} lines so far")
    return outcome


def ingest_folder(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> IngestResult:
    """Land every event file and reference CSV below `folder` into the raw tables."""
    say = progress or (lambda _: None)
    started = time.perf_counter()
    files = discover(folder)
    batch_id = _next_batch_id(con)
    con.execute(
        "insert into raw.ingest_batches (batch_id, landing_dir, started_at) values ($b, $d, now()::timestamp)",
        {"b": batch_id, "d": str(folder)},
    )
    result = IngestResult(batch_id, str(folder))
    say(f"batch {batch_id}: {len(files)} file(s) in {folder}")
    for landed in files:
        sha256 = landed.sha256()
        if not force and _already_ingested(con, landed, sha256):
            result.files.append(FileResult(file=landed.relative, kind=landed.kind, skipped=True))
            continue
        file_started = time.perf_counter()
        con.execute("begin transaction")
        try:
            outcome = _land_file(con, landed, batch_id, say)
            if outcome.lines_read != outcome.landed + outcome.duplicates + outcome.quarantined:
                raise RuntimeError(f"{landed.relative}: counts do not reconcile: {outcome}")
            seconds = time.perf_counter() - file_started
            con.execute(
                """
                insert into raw.ingest_files values
                ($batch, $file, $kind, $sha, $size, $read, $landed, $dups, $quar, $secs, now()::timestamp)
                """,
                {
                    "batch": batch_id,
                    "file": landed.relative,
                    "kind": landed.kind,
                    "sha": sha256,
                    "size": landed.path.stat().st_size,
                    "read": outcome.lines_read,
                    "landed": outcome.landed,
                    "dups": outcome.duplicates,
                    "quar": outcome.quarantined,
                    "secs": seconds,
                },
            )
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise
        result.files.append(
            FileResult(**asdict(outcome), file=landed.relative, kind=landed.kind, seconds=seconds)
        )
        say(
            f"{landed.relative}: read {outcome.lines_read:,}, landed {outcome.landed:,}, "
            f"duplicates {outcome.duplicates:,}, quarantined {outcome.quarantined:,}"
        )
    result.seconds = time.perf_counter() - started
    totals = result.totals
    con.execute(
        """
        update raw.ingest_batches
        set finished_at = now()::timestamp, files = $files, files_skipped = $skipped,
            lines_read = $read, landed = $landed, duplicates = $dups, quarantined = $quar
        where batch_id = $b
        """,
        {
            "b": batch_id,
            "files": sum(not f.skipped for f in result.files),
            "skipped": sum(f.skipped for f in result.files),
            "read": totals.lines_read,
            "landed": totals.landed,
            "dups": totals.duplicates,
            "quar": totals.quarantined,
        },
    )
    return result
