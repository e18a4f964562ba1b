"""Start a run when files appear or change in the landing folder."""

# No `from __future__ import annotations`: Dagster reads parameter types from the signature.
import hashlib

import dagster as dg

from pipelines.defs.warehouse_resource import WarehouseResource
from pipelines.ingest.discover import discover


def landing_fingerprint(warehouse: WarehouseResource) -> str:
    """Changes whenever a file is added, removed, rewritten or touched under landing/."""
    landing = warehouse.paths.landing
    files = discover(landing) if landing.is_dir() else []
    if not files:
        return ""  # nothing to ingest is no reason to run
    digest = hashlib.sha256()
    for found in files:
        stat = found.path.stat()
        digest.update(f"{found.relative}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def build_landing_sensor(job_name: str) -> dg.SensorDefinition:
    @dg.sensor(
        job_name=job_name,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Runs ingest and everything downstream when the landing folder changes.",
    )
    def landing_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
        fingerprint = landing_fingerprint(warehouse)
        if not fingerprint or fingerprint == context.cursor:
            return dg.SkipReason("no new or changed files in the landing folder")
        context.update_cursor(fingerprint)
        # Ingest skips files it has already landed, so a run per change costs only the new files.
        return dg.RunRequest(run_key=fingerprint)

    return landing_sensor
