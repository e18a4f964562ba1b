"""Every dbt model as a Dagster asset, every dbt test as an asset check."""

# No `from __future__ import annotations`: Dagster reads the config class from the signature.
import os
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from pipelines.dbt.builds import build_times, record_build, up_to_date
from pipelines.dbt.commands import build_args, dbt_env
from pipelines.dbt.project_files import project_fingerprint
from pipelines.defs.dbt.project import DBT_PROJECT, OmsiDbtTranslator, require_manifest
from pipelines.defs.warehouse_resource import WAREHOUSE_POOL, WarehouseResource


class DbtBuildConfig(dg.Config):
    full_refresh: bool = False


@dbt_assets(
    manifest=require_manifest(DBT_PROJECT),
    project=DBT_PROJECT,
    dagster_dbt_translator=OmsiDbtTranslator(),
    pool=WAREHOUSE_POOL,
)
def dbt_models(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    config: DbtBuildConfig,
):
    fingerprint = project_fingerprint()
    if not config.full_refresh:
        with warehouse.connect() as con:
            reason = up_to_date(con, fingerprint, _published_at(warehouse.paths.serving))
        if reason:
            # dbt's assets are skippable: yielding nothing skips serving too.
            context.log.info(reason)
            return
    os.environ.update(dbt_env(warehouse.paths))
    build = dbt.cli(build_args(full_refresh=config.full_refresh), context=context)
    # stream() raises when dbt fails, so only a build that passed is recorded.
    yield from build.stream()
    times = build_times(build.get_artifact("run_results.json"))
    context.log.info(
        f"dbt took {times.elapsed:.1f} s: models {times.models:.1f} s, tests {times.tests:.1f} s"
    )
    with warehouse.connect() as con:
        record_build(
            con, fingerprint, full_refresh=config.full_refresh, run_id=context.run_id, times=times
        )


def _published_at(serving: Path) -> datetime | None:
    """When the serving snapshot was written, in UTC without a zone like the warehouse's times."""
    if not serving.exists():
        return None
    return datetime.fromtimestamp(serving.stat().st_mtime, UTC).replace(tzinfo=None)
