"""The dashboards' query layer over the serving snapshot: plain functions returning DataFrames.

Every query result is cached per snapshot version, so a newly published snapshot is read on the
next rerun and an unchanged one is never re-queried. User-chosen values always travel as bound
parameters. The functions work outside a Streamlit session too (Streamlit then caches in memory).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb
import pandas as pd
import streamlit as st

from dashboards.snapshot import SnapshotError, SnapshotVersion, open_read_only

INGEST_TABLES = (
    "serving_manifest",
    "ingest_batches",
    "ingest_files",
    "quarantine_reasons",
    "quarantine_sample",
    "events_by_type",
)

# The most sample lines shown for one reason; the serving writer keeps a few hundred at most.
SAMPLE_LIMIT = 1000


@st.cache_data(show_spinner=False, max_entries=128)
def _cached_frame(version: SnapshotVersion, sql: str, params: tuple[object, ...]) -> pd.DataFrame:
    with open_read_only(Path(version.path)) as con:
        try:
            return con.execute(sql, list(params)).df()
        except (duckdb.CatalogException, duckdb.BinderException) as error:
            raise SnapshotError(
                f"The serving snapshot `{version.path}` does not have what this page needs "
                f"({error}). It was probably published by an older omsi: rebuild it with "
                "`omsi run`."
            ) from error


def frame(version: SnapshotVersion, sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
    """Run one read-only query (with bound `params`) against a snapshot version, cached."""
    return _cached_frame(version, sql, tuple(params))


def missing_tables(version: SnapshotVersion, required: Sequence[str]) -> list[str]:
    """Which of `required` the snapshot lacks, so a page can say so instead of failing."""
    present = set(
        frame(
            version,
            "select table_name from information_schema.tables where table_schema = 'main'",
        )["table_name"]
    )
    return [name for name in required if name not in present]


def manifest(version: SnapshotVersion) -> pd.DataFrame:
    """The snapshot's one-row manifest: built_at, warehouse_batch_id, tables."""
    return frame(
        version,
        """
        select built_at, warehouse_batch_id, tables
        from serving_manifest
        order by built_at desc
        limit 1
        """,
    )


def ingest_totals(version: SnapshotVersion) -> pd.Series:
    """Line and file counts over every batch, summed from the per-file reconciliation rows."""
    totals = frame(
        version,
        """
        with batches as (
            select
                count(*) as batches,
                count(*) filter (where finished_at is null) as unfinished_batches,
                coalesce(sum(files_skipped), 0)::bigint as files_skipped,
                max(finished_at) as last_finished_at,
            from ingest_batches
        ),

        files as (
            select
                count(*) as file_reads,
                count(distinct file) as files,
                coalesce(sum(lines_read), 0)::bigint as lines_read,
                coalesce(sum(landed), 0)::bigint as landed,
                coalesce(sum(duplicates), 0)::bigint as duplicates,
                coalesce(sum(quarantined), 0)::bigint as quarantined,
            from ingest_files
        )

        select * from batches cross join files
        """,
    )
    return totals.iloc[0]


def ingest_files(version: SnapshotVersion) -> pd.DataFrame:
    """One row per file per batch, with how many lines its outcomes leave unaccounted for."""
    return frame(
        version,
        """
        select
            batch_id,
            file,
            kind,
            lines_read,
            landed,
            duplicates,
            quarantined,
            lines_read - (landed + duplicates + quarantined) as unaccounted,
            size_bytes,
            seconds,
            ingested_at,
            sha256,
        from ingest_files
        order by unaccounted != 0 desc, batch_id desc, file
        """,
    )


def batch_mismatches(version: SnapshotVersion) -> pd.DataFrame:
    """Finished batches whose own totals differ from the sum of their per-file rows."""
    return frame(
        version,
        """
        with file_sums as (
            select
                batch_id,
                sum(lines_read)::bigint as lines_read,
                sum(landed)::bigint as landed,
                sum(duplicates)::bigint as duplicates,
                sum(quarantined)::bigint as quarantined,
            from ingest_files
            group by batch_id
        )

        select
            b.batch_id,
            b.lines_read as batch_lines_read,
            coalesce(f.lines_read, 0) as files_lines_read,
            b.landed as batch_landed,
            coalesce(f.landed, 0) as files_landed,
            b.duplicates as batch_duplicates,
            coalesce(f.duplicates, 0) as files_duplicates,
            b.quarantined as batch_quarantined,
            coalesce(f.quarantined, 0) as files_quarantined,
        from ingest_batches as b
        left join file_sums as f on b.batch_id = f.batch_id
        where
            b.finished_at is not null
            and (
                b.lines_read is distinct from coalesce(f.lines_read, 0)
                or b.landed is distinct from coalesce(f.landed, 0)
                or b.duplicates is distinct from coalesce(f.duplicates, 0)
                or b.quarantined is distinct from coalesce(f.quarantined, 0)
            )
        order by b.batch_id
        """,
    )


def quarantine_by_reason(version: SnapshotVersion) -> pd.DataFrame:
    """Quarantined lines per machine-readable reason, largest first."""
    return frame(
        version,
        """
        select
            reason,
            sum(lines)::bigint as lines,
            count(distinct file) as files,
        from quarantine_reasons
        group by reason
        order by lines desc, reason
        """,
    )


def quarantine_by_reason_and_file(version: SnapshotVersion) -> pd.DataFrame:
    return frame(
        version,
        "select reason, file, lines from quarantine_reasons order by reason, lines desc, file",
    )


def quarantine_sample(
    version: SnapshotVersion, reason: str, limit: int = SAMPLE_LIMIT
) -> pd.DataFrame:
    """Sampled quarantined lines with one reason, in file order."""
    return frame(
        version,
        """
        select file, line_no, reason, detail, raw
        from quarantine_sample
        where reason = ?
        order by file, line_no
        limit ?
        """,
        (reason, limit),
    )


def events_by_type(version: SnapshotVersion) -> pd.DataFrame:
    return frame(
        version,
        """
        select event_type, events, first_at, last_at
        from events_by_type
        order by events desc, event_type
        """,
    )
