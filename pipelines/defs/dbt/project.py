"""The dbt project as Dagster sees it: its manifest, the dbt CLI resource and the translator
that maps dbt nodes to assets. Plain code about the project is in `pipelines/dbt/`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
)

from pipelines.dbt.commands import dbt_beside_python
from pipelines.dbt.project_files import DBT_PROJECT_DIR, project_files
from pipelines.settings import OmsiHome


def dbt_cli(project: DbtProject) -> DbtCliResource:
    return DbtCliResource(project_dir=project, dbt_executable=dbt_beside_python() or "dbt")


def _manifest_is_stale(project: DbtProject) -> bool:
    manifest = project.manifest_path
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    return any(p.stat().st_mtime > built for p in project_files())


def load_project() -> DbtProject:
    """The dbt project with a current manifest; parses first on a fresh clone or after edits."""
    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
    if _manifest_is_stale(project):
        os.environ.setdefault("OMSI_WAREHOUSE", str(OmsiHome.from_env().warehouse))
        dbt_cli(project).cli(["parse", "--quiet"], target_path=project.target_path).wait()
    return project


class OmsiDbtTranslator(DagsterDbtTranslator):
    """One place that maps dbt nodes to assets: the model's folder is its Dagster group."""

    def __init__(self) -> None:
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_source_tests_as_checks=True))

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return "ingest"
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "dbt"
