"""The raw tables as Apache Spark reads them from the lake: one view per table, so that each
holds what the warehouse's table of that name holds.

A view reads its table's Parquet folders (Spark finds `batch_id` in the folder names and skips
the hidden ones still being written), keeps only the batches with a commit record, and for a
reference table keeps the latest row per key (pipelines/lake/publish.py says why the lake holds
more). Spark reads the folder's batch id as an integer; it is cast back to the warehouse's type.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.lake.publish import (
    BATCH_TABLES,
    COMMIT_TABLE,
    PARTITION,
    REFERENCE_KEYS,
    committed_batches,
)


def source_views(lake: Path, schema: str = "raw") -> list[str]:
    """Spark SQL statements creating `schema.<table>` for every raw table in the lake."""
    if not committed_batches(lake):
        raise FileNotFoundError(
            f"the lake {lake} has no published batch yet: run `omsi lake` (or `omsi run` with"
            " OMSI_LAKE set) first"
        )
    committed = f"select {PARTITION} from {_parquet(lake / COMMIT_TABLE)}"
    statements = [f"create database if not exists {schema}"]
    for table in (*BATCH_TABLES, COMMIT_TABLE):
        rows = (
            f"select * except ({PARTITION}), cast({PARTITION} as bigint) as {PARTITION}"
            f" from {_parquet(lake / table)} where {PARTITION} in ({committed})"
        )
        if table in REFERENCE_KEYS:
            keys = ", ".join(REFERENCE_KEYS[table])
            rows += (
                f" qualify row_number() over (partition by {keys} order by {PARTITION} desc) = 1"
            )
        statements.append(f"create or replace view {schema}.{table} as {rows}")
    return statements


def _parquet(folder: Path) -> str:
    return "parquet.`" + str(folder).replace("`", "``") + "`"
