"""Publish each ingest batch to the lake as Parquet, when $OMSI_LAKE names one."""

# No `from __future__ import annotations`: Dagster reads parameter types from the signature.
import dagster as dg

from pipelines.defs.ingest.assets import raw_tables
from pipelines.defs.warehouse_resource import WAREHOUSE_POOL, WarehouseResource
from pipelines.lake import publish_batches
from pipelines.settings import LAKE_ENV


@dg.asset(
    key=["lake", "raw_batches"],
    group_name="lake",
    deps=[raw_tables],
    pool=WAREHOUSE_POOL,
    output_required=False,
    description="The raw tables as Parquet, a folder per ingest batch, for other engines"
    " (docs/lake.md). Skipped unless $OMSI_LAKE names the lake.",
)
def lake_batches(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    lake = warehouse.paths.lake
    if lake is None:
        context.log.info(f"no lake: set {LAKE_ENV} to a folder to publish batches as Parquet")
        return
    # Read only, but opened as every asset opens it: one process may hold the file one way.
    with warehouse.connect() as con:
        published = publish_batches(con, lake, progress=context.log.info)
    yield dg.MaterializeResult(
        metadata={
            "lake": str(lake),
            "batches": [batch.batch_id for batch in published],
            "events": sum(batch.rows["events"] for batch in published),
        }
    )
