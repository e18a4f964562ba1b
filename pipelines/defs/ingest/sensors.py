"""Start a run when files appear or change in the landing folder."""

# No `from __future__ import annotations`: Dagster reads parameter types from the signature.
import dagster as dg

from pipelines.defs.warehouse_resource import WarehouseResource
from pipelines.ingest.discover import landing_fingerprint


def build_landing_sensor(job_name: str) -> dg.SensorDefinition:
    @dg.sensor(
        job_name=job_name,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Runs ingest and everything downstream when the landing folder changes.",
    )
    def landing_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
        fingerprint = landing_fingerprint(warehouse.paths.landing)
        if not fingerprint or fingerprint == context.cursor:
            return dg.SkipReason("no new or changed files in the landing folder")
        context.update_cursor(fingerprint)
        # Ingest skips files it has already landed, so a run per change costs only the new files.
        return dg.RunRequest(run_key=fingerprint)

    return landing_sensor
