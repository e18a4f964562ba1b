"""The lake: ingest's batches as Parquet, for engines other than DuckDB (docs/lake.md)."""

from pipelines.lake.publish import PublishedBatch, committed_batches, publish_batches
from pipelines.lake.reconcile import Difference, lake_table_sql, reconcile

__all__ = [
    "Difference",
    "PublishedBatch",
    "committed_batches",
    "lake_table_sql",
    "publish_batches",
    "reconcile",
]
