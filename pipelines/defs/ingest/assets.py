"""Ingest as a Dagster asset: the landing folder into the raw tables dbt reads as sources."""

# No `from __future__ import annotations`: Dagster reads parameter types from the signature.
import time

import dagster as dg

from pipelines.defs.ingest.checks import CHECK_SPECS, ingest_reconciles, landed_events_suite
from pipelines.defs.warehouse_resource import WAREHOUSE_POOL, WarehouseResource
from pipelines.ingest import ingest_folder

# The raw tables ingest writes (pipelines/ingest/raw_tables.sql creates them), as assets. Keys
# match the dbt sources (source `raw`, table name), so staging models hang below them;
# tests/test_raw_tables.py holds the three lists together.
RAW_TABLES = {
    "events": "Accepted contract events, one row per event_id.",
    "quarantine": "Every line that did not land, with its machine-readable reason.",
    "nodes": "Reference: fulfilment nodes (latest row per node_id).",
    "skus": "Reference: the catalogue (latest row per sku).",
    "carriers": "Reference: carrier service levels and promised transit days.",
    "ingest_files": "Per file and batch: lines read = landed + duplicates + resumed + quarantined.",
    "ingest_batches": "One row per ingest run with its totals.",
    "schema_drift": "Per batch: fields inside data the contract does not know.",
}


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["raw", table], group_name="ingest", description=description)
        for table, description in RAW_TABLES.items()
    ],
    check_specs=CHECK_SPECS,
    pool=WAREHOUSE_POOL,
    can_subset=False,
)
def raw_tables(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Land every new or changed file under `$OMSI_HOME/landing` (unchanged files are skipped)."""
    landing = warehouse.paths.landing
    landing.mkdir(parents=True, exist_ok=True)
    with warehouse.connect() as con:
        result = ingest_folder(con, landing, progress=context.log.info)
        counts = dict(
            con.execute(
                " union all ".join(f"select '{t}', count(*) from raw.{t}" for t in RAW_TABLES)
            ).fetchall()
        )
    # Evaluated before the materializations are reported, so that their metadata says how long
    # the batch's checks took beside the ingest itself (`omsi run` prints both).
    checks_started = time.perf_counter()
    with warehouse.connect(read_only=True) as con:
        checks = [landed_events_suite(con), ingest_reconciles(con)]
    checks_seconds = time.perf_counter() - checks_started
    summary = result.to_dict()
    for table in RAW_TABLES:
        metadata = {"rows": dg.MetadataValue.int(counts[table])}
        if table == "events":
            metadata |= {
                "batch_id": summary["batch_id"],
                "lines_read": summary["lines_read"],
                "landed": summary["landed"],
                "duplicates": summary["duplicates"],
                "resumed": summary["resumed"],
                "quarantined": summary["quarantined"],
                "files_read": summary["files_read"],
                "files_skipped": summary["files_skipped"],
                "lines_per_second": summary["lines_per_second"] or 0,
                "ingest_seconds": dg.MetadataValue.float(result.seconds),
                "checks_seconds": dg.MetadataValue.float(checks_seconds),
            }
        yield dg.MaterializeResult(asset_key=["raw", table], metadata=metadata)
    yield from checks
