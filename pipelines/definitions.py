"""The Dagster code location: each domain under defs/ contributes its own Definitions."""

from __future__ import annotations

import dagster as dg

from pipelines.defs.dbt.definitions import defs as dbt_defs
from pipelines.defs.feed.definitions import defs as feed_defs
from pipelines.defs.ingest.definitions import defs as ingest_defs
from pipelines.defs.ingest.sensors import build_landing_sensor
from pipelines.defs.lake.definitions import defs as lake_defs
from pipelines.defs.ml.definitions import defs as ml_defs
from pipelines.defs.serving.definitions import defs as serving_defs
from pipelines.defs.warehouse_resource import WarehouseResource

# Ingest, dbt build and serving snapshot, in dependency order: what `omsi run` executes and what
# the landing sensor and the daily schedule start.
REFRESH_JOB = "refresh"

refresh_job = dg.define_asset_job(
    REFRESH_JOB,
    # The routing feed publishes on its own job and schedule (pipelines/defs/feed/).
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups("feed"),
    description="Ingest new files, build the warehouse, publish serving.",
)
daily_refresh = dg.ScheduleDefinition(
    name="daily_refresh",
    job=refresh_job,
    cron_schedule="0 5 * * *",
    # The nightly full check: the runs the landing sensor starts test only the rows they wrote
    # (pipelines/dbt/data_test_scope.py); this one tests every row, even when nothing is new.
    run_config={"ops": {"dbt_models": {"config": {"full_checks": True}}}},
    description="A daily rebuild that runs every dbt test over every row, even when no file"
    " arrived.",
)

defs = dg.Definitions.merge(
    ingest_defs(),
    lake_defs(),
    dbt_defs(),
    ml_defs(),
    serving_defs(),
    feed_defs(),
    dg.Definitions(
        jobs=[refresh_job],
        schedules=[daily_refresh],
        sensors=[build_landing_sensor(REFRESH_JOB)],
        resources={"warehouse": WarehouseResource.from_env()},
    ),
)
