"""Every dbt model as a Dagster asset, every dbt test as an asset check."""

# No `from __future__ import annotations`: Dagster reads the config class from the signature.
import os

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from pipelines.defs.dbt.project import OmsiDbtTranslator, build_args, dbt_env, load_project
from pipelines.defs.warehouse import WAREHOUSE_POOL, WarehouseResource

DBT_PROJECT = load_project()


class DbtBuildConfig(dg.Config):
    full_refresh: bool = False


@dbt_assets(
    manifest=DBT_PROJECT.manifest_path,
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
    os.environ.update(dbt_env(warehouse.paths))
    yield from dbt.cli(build_args(full_refresh=config.full_refresh), context=context).stream()
