"""Publish the serving snapshot after the warehouse is built."""

# No `from __future__ import annotations`: Dagster reads parameter types from the signature.
import dagster as dg

from pipelines.dbt.data_test_scope import LEFT_OUT_MODEL_TAGS
from pipelines.defs.dbt.assets import dbt_models
from pipelines.defs.ingest.assets import raw_tables
from pipelines.defs.ml.assets import score_assets
from pipelines.defs.warehouse_resource import WAREHOUSE_POOL, WarehouseResource
from pipelines.serving import publish_snapshot

# Every dbt model but those an incremental run leaves out (pipelines/dbt/data_test_scope.py): a
# dependency a run does not build would skip serving. The snapshot still copies their tables, and
# each reaches it through the models built from it (tests/test_pipeline.py).
PUBLISHED_MODELS = [
    key
    for key in dbt_models.keys
    if not set(LEFT_OUT_MODEL_TAGS) & set(dbt_models.tags_by_key.get(key, {}))
]


@dg.asset(
    key=["serving", "snapshot"],
    group_name="serving",
    deps=[raw_tables, *PUBLISHED_MODELS, *score_assets],
    pool=WAREHOUSE_POOL,
    description="serving.duckdb: what dashboards read, replaced atomically after each build.",
)
def serving_snapshot(warehouse: WarehouseResource) -> dg.MaterializeResult:
    paths = warehouse.paths
    counts, changed_orders = publish_snapshot(paths.warehouse, paths.serving)
    copied = (
        "every table whole" if changed_orders is None else f"changed orders: {changed_orders:,}"
    )
    return dg.MaterializeResult(
        metadata={"path": str(paths.serving), "tables": len(counts), "order_facts": copied}
        | {f"rows.{name}": count for name, count in counts.items()}
    )
