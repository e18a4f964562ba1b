"""Checks on each landed batch. Blocking: when one fails, nothing downstream (dbt, serving) runs."""

# No `from __future__ import annotations`: Dagster reads parameter types from the signature.
import dagster as dg

from pipelines.defs.warehouse import WarehouseResource
from pipelines.ingest.expectations import landed_batch, validate_batch


@dg.asset_check(asset=dg.AssetKey(["raw", "events"]), blocking=True,
                description="Great Expectations suite `landed_events` on the latest batch.")
def landed_events_suite(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect(read_only=True) as con:
        batch_id, frame = landed_batch(con)
    result = validate_batch(frame, batch_id)
    failures = [f"{o.expectation}({o.column}): {o.unexpected} unexpected" for o in result.failures()]
    return dg.AssetCheckResult(
        passed=result.success,
        metadata={
            "batch_id": batch_id or 0,
            "rows": result.rows,
            "expectations": len(result.outcomes),
            "failures": "; ".join(failures) or "none",
        },
    )


@dg.asset_check(asset=dg.AssetKey(["raw", "ingest_files"]), blocking=True,
                description="Every file read: lines read = landed + duplicates + quarantined.")
def ingest_reconciles(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect(read_only=True) as con:
        broken = con.execute(
            """
            select file, batch_id, lines_read - landed - duplicates - quarantined as unaccounted
            from raw.ingest_files
            where lines_read <> landed + duplicates + quarantined
            """
        ).fetchall()
        files = con.execute("select count(*) from raw.ingest_files").fetchall()[0][0]
    return dg.AssetCheckResult(
        passed=not broken,
        metadata={
            "files_checked": files,
            "unreconciled": "; ".join(f"{f} (batch {b}): {u} lines" for f, b, u in broken) or "none",
        },
    )
