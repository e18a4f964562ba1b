"""Write a complete serving database beside the old one, then rename it into place.

Dashboards open serving.duckdb read-only. Because the new file is finished and checkpointed
before the rename, a reader sees either the old snapshot or the new one, never a half-written
state, and a dashboard holding the old file open never blocks the pipeline.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from pipelines.warehouse import MEMORY_LIMIT

# Raw tables the Data intake page reads as they are; its aggregates (events per type,
# quarantine per reason, a sample per reason) are dbt models in marts, copied with the rest.
SERVING_TABLES: dict[str, str] = {
    "ingest_batches": "select * from wh.raw.ingest_batches",
    "ingest_files": "select * from wh.raw.ingest_files",
    # Fields inside `data` the contract does not know, per batch (pipelines/ingest/schema_drift.py).
    "schema_drift": "select * from wh.raw.schema_drift",
}


# The model's feature tables and the shadow replay's inputs stay in the warehouse: serving
# carries what people read (the replay's decisions through marts.fct_shadow_routing).
_ML_INTERNAL = (
    "ml_delivery_features",
    "ml_inventory_features",
    "ml_routing_penalties",
    "ml_shadow_candidates",
    "shadow_routing_decisions",
)
# The pipeline's own record that Data health reads: which batch the marts were built through,
# and when.
_OPS_PUBLISHED = ("dbt_builds",)


def _published_tables(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    """Tables and views of a warehouse schema that serving copies as they are."""
    return [
        row[0]
        for row in con.execute(
            """
            select table_name from information_schema.tables
            where table_catalog = 'wh' and table_schema = ? order by table_name
            """,
            [schema],
        ).fetchall()
    ]


def publish_snapshot(warehouse: Path, serving: Path) -> dict[str, int]:
    """Build serving.duckdb from the warehouse; returns the row count of every table."""
    tmp = serving.with_name(serving.name + ".tmp")
    tmp.unlink(missing_ok=True)
    counts: dict[str, int] = {}
    con = duckdb.connect(str(tmp))
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute(f"set memory_limit = '{MEMORY_LIMIT}'")
        con.execute(f"attach '{warehouse}' as wh (read_only)")
        queries = dict(SERVING_TABLES)
        queries |= {
            name: f"select * from wh.marts.{name}" for name in _published_tables(con, "marts")
        }
        # Scores, metrics and backtests, once the risk models have run.
        queries |= {
            name: f"select * from wh.ml.{name}"
            for name in _published_tables(con, "ml")
            if name not in _ML_INTERNAL
        }
        queries |= {
            name: f"select * from wh.ops.{name}"
            for name in _published_tables(con, "ops")
            if name in _OPS_PUBLISHED
        }
        for name, query in queries.items():
            con.execute(f"create table main.{name} as {query}")
            counts[name] = con.execute(f"select count(*) from main.{name}").fetchall()[0][0]
        batch = con.execute("select max(batch_id) from wh.raw.ingest_batches").fetchall()[0][0]
        con.execute(
            """
            create table main.serving_manifest as
            select now()::timestamp as built_at, $batch::bigint as warehouse_batch_id,
                $tables as tables
            """,
            {"batch": batch, "tables": ",".join(sorted(queries))},
        )
        con.execute("detach wh")
        con.execute("checkpoint")
    finally:
        con.close()
    os.replace(tmp, serving)
    return counts
