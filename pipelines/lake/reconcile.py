"""Read the lake back with DuckDB, and check it against the warehouse it was published from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.lake.publish import (
    BATCH_TABLES,
    COMMIT_TABLE,
    PARTITION,
    REFERENCE_KEYS,
    committed_batches,
)


@dataclass(frozen=True)
class Difference:
    table: str
    batch_id: int | None  # None: the reference table as a whole
    warehouse_rows: int
    lake_rows: int

    def describe(self) -> str:
        where = f"batch {self.batch_id}" if self.batch_id is not None else "latest rows per key"
        return (
            f"{self.table}, {where}: {self.warehouse_rows:,} rows in the warehouse,"
            f" {self.lake_rows:,} in the lake"
        )


def lake_table_sql(lake: Path, table: str) -> str | None:
    """SQL for the committed rows of one raw table in the lake, `batch_id` included; None when
    the lake has no committed batch."""
    committed = committed_batches(lake)
    return _committed_rows(lake, table, committed) if committed else None


def _committed_rows(lake: Path, table: str, committed: list[int]) -> str:
    files = "'" + str(lake / table / f"{PARTITION}=*" / "*.parquet").replace("'", "''") + "'"
    return (
        f"select * from read_parquet({files}, hive_partitioning = true,"
        f" hive_types = {{'{PARTITION}': bigint}})"
        f" where {PARTITION} in ({', '.join(map(str, committed))})"
    )


def reconcile(con: duckdb.DuckDBPyConnection, lake: Path) -> list[Difference]:
    """Where the lake's committed batches and the warehouse disagree: rows per batch for the
    tables ingest only appends to, and the latest row per key for the reference tables."""
    differences: list[Difference] = []
    committed = committed_batches(lake)
    if not committed:
        return differences
    batches = ", ".join(map(str, committed))
    for table in (*BATCH_TABLES, COMMIT_TABLE):
        # A table whose files are all gone reads as empty (DuckDB refuses an empty glob).
        lake_sql = (
            _committed_rows(lake, table, committed)
            if any((lake / table).glob(f"{PARTITION}=*/*.parquet"))
            else f"select * from raw.{table} where false"
        )
        if table in REFERENCE_KEYS:
            keys = ", ".join(REFERENCE_KEYS[table])
            latest = (
                f"select * from ({lake_sql})"
                f" qualify row_number() over (partition by {keys} order by {PARTITION} desc) = 1"
            )
            ((lake_rows,),) = con.execute(f"select count(*) from ({latest})").fetchall()
            ((rows,),) = con.execute(
                f"select count(*) from raw.{table} where {PARTITION} in ({batches})"
            ).fetchall()
            if rows != lake_rows:
                differences.append(Difference(table, None, rows, lake_rows))
            continue
        counts = con.execute(
            f"""
            with warehouse as (
                select {PARTITION}, count(*) as rows from raw.{table}
                where {PARTITION} in ({batches}) group by all
            ),
            lake as (select {PARTITION}, count(*) as rows from ({lake_sql}) group by all)
            select {PARTITION}, coalesce(warehouse.rows, 0), coalesce(lake.rows, 0)
            from warehouse full join lake using ({PARTITION})
            where warehouse.rows is distinct from lake.rows
            order by {PARTITION}
            """
        ).fetchall()
        differences += [Difference(table, b, w, n) for b, w, n in counts]
    return differences
