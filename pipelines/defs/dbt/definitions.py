from __future__ import annotations

import dagster as dg
from dagster_dbt import DbtCliResource

from pipelines.defs.dbt.assets import DBT_PROJECT, dbt_models


def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=[dbt_models], resources={"dbt": DbtCliResource(project_dir=DBT_PROJECT)}
    )
