"""The dbt project as Dagster sees it: its manifest, the dbt CLI resource and the translator
that maps dbt nodes to assets. Plain code about the project is in `pipelines/dbt/`.

Loading these definitions reads `dbt_project/target/manifest.json` and runs nothing. The
manifest is written by dagster-dbt's own preparation (`prepare_project`), which `make install`
and `omsi run` call before the definitions load, and which `dagster dev` runs as the code
location loads (`prepare_if_dev`) so that an edited model shows in the UI.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

from dagster_dbt import (
    DagsterDbtProjectPreparer,
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
)
from dagster_dbt.errors import DagsterDbtManifestNotFoundError
from packaging.version import Version

from pipelines.dbt.commands import dbt_beside_python, warm_dbt_beside_python
from pipelines.dbt.project_files import DBT_PROJECT_DIR, is_prepared, stamp_prepared
from pipelines.settings import OmsiHome

DBT_PROJECT = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


@contextmanager
def _parse_environment(warehouse: Path | None = None) -> Iterator[None]:
    """What dagster-dbt's `dbt parse` needs: OMSI_WAREHOUSE set, and this install's `dbt` first
    on PATH (dagster-dbt calls `dbt` by name; `omsi` may run without an activated venv).

    Parsing never opens the warehouse, but profiles.yml names it, and dbt parses every file
    again when a profile variable changed: the path is the one the next `dbt build` uses, so
    the build's own parse is partial too.
    """
    saved = {name: os.environ.get(name) for name in ("OMSI_WAREHOUSE", "PATH")}
    os.environ["OMSI_WAREHOUSE"] = str(warehouse or OmsiHome.from_env().warehouse)
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), saved["PATH"] or ""])
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class _SeedKeepingPreparer(DagsterDbtProjectPreparer):
    """dagster-dbt's preparation, except that it leaves dbt's record of the seeds as dbt wrote it.

    dagster-dbt spoils the seeds' checksums in the partial-parse file it leaves, so that a
    project prepared in one place and run in another re-reads the seeds' paths. Here the project
    runs where it was prepared, and the spoiled checksums made every `dbt build` parse the seeds
    and the model that reads one while parsing again: 1.0-1.7 s of each dbt command at 1M orders.
    """

    def _invalidate_seeds_in_partial_parse(self, project: DbtProject) -> None:
        return None


PREPARER = _SeedKeepingPreparer()


def prepare_project(
    warehouse: Path | None = None, project: DbtProject = DBT_PROJECT, *, any_warehouse: bool = False
) -> DbtProject:
    """Write the manifest the dbt assets load from, with dagster-dbt's preparation: `dbt parse`,
    which dbt's partial parsing keeps to the files changed since the last one. `warehouse` is
    the one builds will use (default: $OMSI_HOME's).

    dagster-dbt's preparer parses every time it is asked; a parse costs about 11 s here even
    when nothing changed, which was a third of an `omsi run` with nothing new. So the manifest
    is stamped with what it was parsed from (the project's files, the warehouse path profiles.yml
    reads, dbt's version), and a preparation that would parse the same again is skipped.
    `any_warehouse`: the path does not matter, as for a build on Spark, which starts from a
    parse of its own (pipelines/dbt/spark_engine.py); the manifest the assets load is the same.
    """
    warehouse = warehouse or OmsiHome.from_env().warehouse
    where = {"manifest": Path(project.manifest_path), "project_dir": Path(project.project_dir)}
    if is_prepared(warehouse, any_warehouse=any_warehouse, **where):
        return project
    with _parse_environment(warehouse):
        PREPARER.prepare(project)
    stamp_prepared(warehouse, **where)
    return project


def require_manifest(project: DbtProject = DBT_PROJECT) -> Path:
    """The manifest's path, or an error that says how to write it."""
    if not project.manifest_path.exists():
        raise DagsterDbtManifestNotFoundError(
            f"No dbt manifest at {project.manifest_path}: the dbt project has not been prepared."
            " Run `make install` (or `omsi run`, which prepares it before loading the pipeline)."
        )
    return project.manifest_path


class OmsiDbtCliResource(DbtCliResource):
    """dagster-dbt's dbt CLI resource, without two things it does before every command that
    together took 2.5 s of each run that builds (a one-day run at 1M orders is about 45 s):

    - it imports dbt and builds an adapter in Dagster's process, used only to fetch row counts
      and column metadata after the build, which nothing here asks for (without an adapter the
      invocation skips those fetches, as it does for the dbt Fusion engine);
    - it runs `dbt --version` to learn which dbt it calls: a second Python start. The dbt it
      calls is the one installed beside this Python (`dbt_beside_python`), the dbt-core package.
    """

    def _initialize_dbt_core_adapter(self, args):
        return None

    @cached_property
    def _cli_version(self) -> Version:
        return Version(package_version("dbt-core"))


def dbt_cli(project: DbtProject) -> OmsiDbtCliResource:
    executable = warm_dbt_beside_python() or dbt_beside_python() or "dbt"
    return OmsiDbtCliResource(project_dir=project, dbt_executable=executable)


class OmsiDbtTranslator(DagsterDbtTranslator):
    """One place that maps dbt nodes to assets: the model's folder is its Dagster group."""

    def __init__(self) -> None:
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_source_tests_as_checks=True))

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return "ingest"
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "dbt"


# Under `dagster dev` only (dagster-dbt's switch), parse as the code location loads.
if DBT_PROJECT.preparer.using_dagster_dev():
    with _parse_environment():
        DBT_PROJECT.prepare_if_dev()
