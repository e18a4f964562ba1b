"""Every dbt model as a Dagster asset, every dbt test as an asset check."""

# No `from __future__ import annotations`: Dagster reads the config class from the signature.
import json
import os
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from pipelines.dbt.builds import (
    build_times,
    project_changed,
    record_build,
    serving_published_at,
    up_to_date,
)
from pipelines.dbt.commands import build_args, dbt_env
from pipelines.dbt.data_test_scope import data_test_scope
from pipelines.dbt.project_files import build_fingerprint, prune_build_folders
from pipelines.dbt.spark_engine import (
    built_tables,
    drop_spark_views,
    keep_spark_parse,
    make_view_models,
    missing_views,
    spark_target_path,
    view_models,
    view_spark_tables,
)
from pipelines.defs.dbt.project import DBT_PROJECT, OmsiDbtTranslator, require_manifest
from pipelines.defs.warehouse_resource import WAREHOUSE_POOL, WarehouseResource
from pipelines.preload import RISK_MODELS, in_background


class DbtBuildConfig(dg.Config):
    full_refresh: bool = False
    # Every test over every row, even when nothing is new: the nightly full check
    # (pipelines/dbt/data_test_scope.py says what an ordinary incremental build leaves out).
    full_checks: bool = False


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
    home = warehouse.paths
    fingerprint = build_fingerprint(home.engine)
    every_row = config.full_refresh or config.full_checks
    with warehouse.connect() as con:
        reason = (
            None
            if every_row
            else up_to_date(con, fingerprint, serving_published_at(warehouse.paths.serving))
        )
        rebuild = config.full_refresh or project_changed(con, fingerprint)
        scope = data_test_scope(con, fingerprint, every_row=every_row)
    if reason:
        # dbt's assets are skippable: yielding nothing skips serving too.
        context.log.info(reason)
        return
    if rebuild and not config.full_refresh:
        context.log.info(
            "the dbt project or its engine changed since the last build: every model is rebuilt"
            " in full once, so that no row computed by the old SQL or engine is left"
        )
    context.log.info(scope.describe())
    if home.engine == "spark":
        _publish_lake(context, warehouse)
    elif rebuild:
        _drop_spark_views(context, warehouse)
    os.environ.update({**dbt_env(home), **scope.env()})
    args = build_args(full_refresh=rebuild, scope=scope, engine=home.engine)
    # Before the build, so that a job failing hour after hour does not pile up folders either.
    prune_build_folders()
    target = spark_target_path(home, context.run_id) if home.engine == "spark" else None
    build = dbt.cli(args, context=context, target_path=target)
    in_background(RISK_MODELS)  # imported while dbt runs in its own process
    # stream() raises when dbt fails, so only a build that passed is recorded.
    yield from build.stream()
    if home.engine == "spark":
        _read_spark_tables(context, warehouse, build.target_path, rebuild)
    times = build_times(build.get_artifact("run_results.json"))
    context.log.info(
        f"dbt took {times.elapsed:.1f} s: models {times.models:.1f} s, tests {times.tests:.1f} s"
    )
    with warehouse.connect() as con:
        record_build(
            con,
            fingerprint,
            full_refresh=rebuild,
            run_id=context.run_id,
            times=times,
            tests_after_batch=scope.after_batch,
        )


def _publish_lake(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> None:
    """dbt on Spark reads the raw tables from the lake: every batch must be there first. The
    lake step follows ingest as this one does, so it may not have run yet; whichever runs first
    publishes, the other finds nothing to do."""
    from pipelines.lake import publish_batches

    with warehouse.connect() as con:
        publish_batches(con, warehouse.paths.lake, progress=context.log.info)


def _drop_spark_views(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> None:
    """Back on DuckDB after a build on Spark: its tables give way to DuckDB's own."""
    with warehouse.connect() as con:
        dropped = drop_spark_views(con, warehouse.paths.spark)
    if dropped:
        context.log.info(f"built on DuckDB again: {len(dropped)} views over Spark's tables dropped")


def _read_spark_tables(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, target: Path, rebuild: bool
) -> None:
    """Views in the DuckDB warehouse over what dbt built on Spark (pipelines/dbt/spark_engine.py),
    and the build's parse kept for the next."""
    keep_spark_parse(warehouse.paths, target)
    manifest = json.loads(require_manifest(DBT_PROJECT).read_text())
    tables = built_tables(manifest)
    with warehouse.connect() as con:
        empty = view_spark_tables(con, warehouse.paths.spark, tables)
        missing = missing_views(con, view_models(manifest))
    # The view models' SQL changes with the project alone, and a changed project is rebuilt in
    # full; they read the views above by name, which a later build leaves in place. Made again
    # each time, they took 10-18 s of a run (a dbt command of their own).
    if rebuild or missing:
        make_view_models(warehouse.paths)
    context.log.info(
        f"the warehouse reads {len(tables) - len(empty)} tables Spark built under"
        f" {warehouse.paths.spark}, and the view models over them"
        + (f"; left out, empty with no file: {', '.join(empty)}" if empty else "")
    )
