"""The dashboards' query layer over the serving snapshot: plain functions returning DataFrames.

Every query result is cached per snapshot version, so a newly published snapshot is read on the
next rerun and an unchanged one is never re-queried. User-chosen values always travel as bound
parameters. The functions work outside a Streamlit session too (Streamlit then caches in memory).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import streamlit as st

from dashboards.snapshot import (
    SnapshotError,
    SnapshotVersion,
    cursor,
    open_connection,
    open_read_only,
)

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


# Opening the snapshot costs tens of milliseconds, more than most page queries, so outside
# Windows the two newest versions each keep one read-only connection and every query runs on a
# cursor of its own (DuckDB connections are not shared between threads). The older version's
# connection closes when a third is published: a reader mid-query on it is never cut off, and
# Linux and macOS let the pipeline rename a new file over one that is open. Windows does not,
# so there every query opens and closes its own connection.
KEEP_CONNECTIONS_OPEN = os.name != "nt"


def _close(con: duckdb.DuckDBPyConnection) -> None:
    con.close()


@st.cache_resource(show_spinner=False, max_entries=2, on_release=_close)
def _connection(version: SnapshotVersion) -> duckdb.DuckDBPyConnection:
    return open_connection(Path(version.path))


@contextmanager
def _cursor(version: SnapshotVersion) -> Iterator[duckdb.DuckDBPyConnection]:
    if not KEEP_CONNECTIONS_OPEN:
        with open_read_only(Path(version.path)) as con:
            yield con
        return
    cur = cursor(_connection(version))
    try:
        yield cur
    finally:
        cur.close()


@st.cache_data(show_spinner=False, max_entries=128)
def _cached_frame(
    version: SnapshotVersion, sql: str, params: tuple[object, ...] | dict[str, object]
) -> pd.DataFrame:
    with _cursor(version) as con:
        try:
            return con.execute(sql, params if isinstance(params, dict) else list(params)).df()
        except (duckdb.CatalogException, duckdb.BinderException) as error:
            raise SnapshotError(
                f"The serving snapshot `{version.path}` does not have what this page needs "
                f"({error}). It was probably published by an older omsi: rebuild it with "
                "`omsi run`."
            ) from error


def frame(
    version: SnapshotVersion, sql: str, params: Sequence[object] | Mapping[str, object] = ()
) -> pd.DataFrame:
    """Run one read-only query (with bound `params`, positional or named) on a snapshot, cached."""
    bound = dict(params) if isinstance(params, Mapping) else tuple(params)
    return _cached_frame(version, sql, bound)


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
                coalesce(sum(resumed), 0)::bigint as resumed,
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
            resumed,
            quarantined,
            lines_read - (landed + duplicates + resumed + quarantined) as unaccounted,
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
                sum(resumed)::bigint as resumed,
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
            b.resumed as batch_resumed,
            coalesce(f.resumed, 0) as files_resumed,
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
                or b.resumed is distinct from coalesce(f.resumed, 0)
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


def schema_drift(version: SnapshotVersion) -> pd.DataFrame:
    """Unknown data fields per batch, newest batch first; empty for a snapshot without them.

    `likely_rename_of` follows pipelines.ingest.schema_drift: most of the field's lines lacked
    that required field.
    """
    if missing_tables(version, ["schema_drift"]):
        return pd.DataFrame()
    return frame(
        version,
        """
        select batch_id, event_type, 'data.' || field_path as field, lines,
            first_file, first_line_no,
            case when missing_lines * 2 > lines then missing_field end as likely_rename_of,
        from schema_drift
        order by batch_id desc, lines desc, event_type, field
        """,
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


# --- KPIs -------------------------------------------------------------------------------------

KPI_TABLES = ("kpi_daily",)
# The dimensions of kpi_daily a page can filter by. 'all' in one of them marks a KPI that has no
# such dimension (inventory accuracy has no channel): those rows pass every filter on it.
KPI_DIMENSIONS = ("channel", "fulfillment_method", "node_type")
NO_DIMENSION = "all"
_BY_COLUMNS = [f"by_{d}" for d in KPI_DIMENSIONS]
KPI_DEFINITION_COLUMNS = ("kpi", "label", "unit", "higher_is_better", "definition", "reference")
KPI_GRAINS = ("period", "day", "week")
_BUCKETS = {
    "period": "$start::date",
    "day": "kpi_date",
    # ISO weeks (Monday). Only the selected days count, so edge weeks can be partial.
    "week": "date_trunc('week', kpi_date)::date",
}


@dataclass(frozen=True)
class KpiSelection:
    """A period (both ends included) and the dimension values kept; empty means every value."""

    start: date
    end: date
    channel: tuple[str, ...] = ()
    fulfillment_method: tuple[str, ...] = ()
    node_type: tuple[str, ...] = ()

    def previous(self) -> KpiSelection:
        """The period of the same length that ends the day before this one starts."""
        days = (self.end - self.start).days + 1
        return replace(
            self, start=self.start - timedelta(days=days), end=self.start - timedelta(days=1)
        )


def _kpi_where(selection: KpiSelection, kpis: Sequence[str]) -> tuple[str, dict[str, object]]:
    """The kpi_daily rows of `selection` and `kpis` (none: all): a condition and its parameters.

    Rows whose dimension is 'all' are kept whatever that dimension's filter is.
    """
    keep = "\n".join(
        f"and (${d}::varchar[] is null or {d} = '{NO_DIMENSION}' or list_contains(${d}, {d}))"
        for d in KPI_DIMENSIONS
    )
    where = f"""
        kpi_date between $start::date and $end::date
        and ($kpis::varchar[] is null or list_contains($kpis, kpi))
        {keep}
    """

    def values(chosen: Sequence[str]) -> list[str] | None:
        return list(chosen) or None

    params = {
        "start": selection.start,
        "end": selection.end,
        "kpis": values(kpis),
        **{d: values(getattr(selection, d)) for d in KPI_DIMENSIONS},
    }
    return where, params


def kpi_rollup_query(
    selection: KpiSelection, grain: str = "period", kpis: Sequence[str] = ()
) -> tuple[str, dict[str, object]]:
    """SQL and named parameters for every KPI over `selection`, one row per KPI and `grain` bucket.

    The only place the dashboards aggregate KPIs. A KPI over several days or dimension values
    is sum(numerator) / sum(denominator), never a mean of daily values: days with more orders
    weigh more. Hours, days and currency KPIs carry a sum and a count, so this is their mean.
    The `by_<dimension>` columns say whether a KPI has the dimension at all (False: unfiltered).
    """
    if grain not in _BUCKETS:
        raise ValueError(f"grain must be one of {KPI_GRAINS}, not {grain!r}")
    where, params = _kpi_where(selection, kpis)
    has_dimension = ",\n".join(
        f"bool_or({d} != '{NO_DIMENSION}') as by_{d}" for d in KPI_DIMENSIONS
    )
    sql = f"""
        with selected as (
            select *
            from kpi_daily
            where {where}
        ),

        rolled_up as (
            select
                {_BUCKETS[grain]} as bucket,
                kpi,
                sum(numerator) as numerator,
                sum(denominator) as denominator,
                count(distinct kpi_date) as days,
                {has_dimension},
            from selected
            group by all
        )

        select
            bucket,
            kpi,
            numerator,
            denominator,
            numerator / nullif(denominator, 0) as value,
            days,
            {", ".join(f"by_{d}" for d in KPI_DIMENSIONS)},
        from rolled_up
        order by bucket, kpi
    """
    return sql, params


def kpi_rows(version: SnapshotVersion, selection: KpiSelection, kpi: str) -> pd.DataFrame:
    """The kpi_daily rows one KPI's figure over `selection` adds up: its drill-down."""
    where, params = _kpi_where(selection, [kpi])
    return frame(
        version,
        f"""
        select kpi_date, kpi, {", ".join(KPI_DIMENSIONS)}, numerator, denominator, value,
        from kpi_daily
        where {where}
        order by kpi_date desc, {", ".join(KPI_DIMENSIONS)}
        """,
        params,
    )


def kpi_rollup(
    version: SnapshotVersion,
    selection: KpiSelection,
    grain: str = "period",
    kpis: Sequence[str] = (),
) -> pd.DataFrame:
    """`kpi_rollup_query` run against a snapshot version, cached."""
    return frame(version, *kpi_rollup_query(selection, grain, kpis))


def kpi_bounds(version: SnapshotVersion) -> pd.Series:
    """First and last KPI day and the values of each dimension ('all' left out), for filters."""
    lists = ",\n".join(
        f"coalesce(list(distinct {d} order by {d}) filter (where {d} != '{NO_DIMENSION}'), "
        f"[]::varchar[]) as {d}"
        for d in KPI_DIMENSIONS
    )
    return frame(
        version,
        f"""
        select min(kpi_date) as first_date, max(kpi_date) as last_date, {lists},
        from kpi_daily
        """,
    ).iloc[0]


def kpi_definitions(version: SnapshotVersion) -> pd.DataFrame:
    """The kpi_definitions seed; empty (same columns) when the snapshot does not have it."""
    if missing_tables(version, ["kpi_definitions"]):
        return pd.DataFrame(columns=list(KPI_DEFINITION_COLUMNS))
    return frame(
        version, f"select {', '.join(KPI_DEFINITION_COLUMNS)} from kpi_definitions order by kpi"
    )


def kpi_summary(version: SnapshotVersion, selection: KpiSelection) -> pd.DataFrame:
    """Every KPI over `selection` beside its value over the previous period of the same length.

    One row per KPI with data in either period: the rollup's columns, `previous_value`, and the
    definition columns (label falls back to the KPI's name when it has no definition row).
    """
    current = kpi_rollup(version, selection).drop(columns="bucket")
    previous = kpi_rollup(version, selection.previous())[["kpi", "value", *_BY_COLUMNS]]
    summary = current.merge(
        previous.rename(columns={"value": "previous_value"}),
        on="kpi",
        how="outer",
        suffixes=("", "_previous"),
    )
    for column in _BY_COLUMNS:
        # A KPI with data only in the previous period still says which filters applied.
        summary[column] = summary[column].fillna(summary.pop(f"{column}_previous")).astype(bool)
    summary = summary.merge(kpi_definitions(version), on="kpi", how="left")
    summary["label"] = summary["label"].fillna(summary["kpi"])
    return summary.sort_values("label", ignore_index=True)
