from __future__ import annotations

import dagster as dg

from pipelines.defs.dbt.assets import DBT_PROJECT, dbt_models
from pipelines.defs.dbt.project import dbt_cli


def defs() -> dg.Definitions:
    return dg.Definitions(assets=[dbt_models], resources={"dbt": dbt_cli(DBT_PROJECT)})
