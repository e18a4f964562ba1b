"""Checks on each landed batch, evaluated in the ingest step itself.

They are blocking and run inside the asset rather than as separate check steps because only
then does a failure stop the run before dbt reads the batch: the ingest step fails, and every
downstream asset is skipped.
"""

import dagster as dg
import duckdb

from pipelines.ingest.expectations import validate_landed_batch

CHECK_SPECS = [
    dg.AssetCheckSpec(
        "landed_events_suite",
        asset=["raw", "events"],
        blocking=True,
        description="Great Expectations suite `landed_events` on the latest batch that landed events.",
    ),
    dg.AssetCheckSpec(
        "ingest_reconciles",
        asset=["raw", "ingest_files"],
        blocking=True,
        description="Every file read: lines read = landed + duplicates + resumed + quarantined.",
    ),
]


def landed_events_suite(con: duckdb.DuckDBPyConnection) -> dg.AssetCheckResult:
    result = validate_landed_batch(con)
    batch_id = result.batch_id
    failures = [
        f"{o.expectation}({o.column}): {o.unexpected} unexpected" for o in result.failures()
    ]
    return dg.AssetCheckResult(
        check_name="landed_events_suite",
        asset_key=["raw", "events"],
        passed=result.success,
        metadata={
            "batch_id": batch_id or 0,
            "rows": result.rows,
            "expectations": len(result.outcomes),
            "failures": "; ".join(failures) or "none",
        },
    )


def ingest_reconciles(con: duckdb.DuckDBPyConnection) -> dg.AssetCheckResult:
    broken = con.execute(
        """
        select file, batch_id,
            lines_read - landed - duplicates - resumed - quarantined as unaccounted,
        from raw.ingest_files
        where lines_read <> landed + duplicates + resumed + quarantined
        """
    ).fetchall()
    files = con.execute("select count(*) from raw.ingest_files").fetchall()[0][0]
    return dg.AssetCheckResult(
        check_name="ingest_reconciles",
        asset_key=["raw", "ingest_files"],
        passed=not broken,
        metadata={
            "files_checked": files,
            "unreconciled": "; ".join(f"{f} (batch {b}): {u} lines" for f, b, u in broken)
            or "none",
        },
    )
