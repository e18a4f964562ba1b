"""Publish the serving snapshot after the warehouse is built."""

# No `from __future__ import annotations`: Dagster reads parameter types from the signature.
import dagster as dg

from pipelines.defs.dbt.assets import dbt_models
from pipelines.defs.ingest.assets import raw_tables
from pipelines.defs.ml.assets import score_assets
from pipelines.defs.warehouse_resource import WAREHOUSE_POOL, WarehouseResource
from pipelines.serving import publish_snapshot


@dg.asset(
    key=["serving", "snapshot"],
    group_name="serving",
    deps=[raw_tables, dbt_models, *score_assets],
    pool=WAREHOUSE_POOL,
    description="serving.duckdb: what dashboards read, replaced atomically after each build.",
)
def serving_snapshot(warehouse: WarehouseResource) -> dg.MaterializeResult:
    paths = warehouse.paths
    counts = publish_snapshot(paths.warehouse, paths.serving)
    return dg.MaterializeResult(
        metadata={"path": str(paths.serving), "tables": len(counts)}
        | {f"rows.{name}": count for name, count in counts.items()}
    )
