"""Where the dbt project lives, how dbt is called, and how its nodes become Dagster assets."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
)

from pipelines.settings import OmsiHome

DBT_PROJECT_DIR = Path(__file__).resolve().parents[3] / "dbt_project"


def dbt_beside_python() -> str | None:
    """dbt as installed beside this Python, so that `omsi` works without an activated venv."""
    return shutil.which("dbt", path=str(Path(sys.executable).parent))


def dbt_cli(project: DbtProject) -> DbtCliResource:
    return DbtCliResource(project_dir=project, dbt_executable=dbt_beside_python() or "dbt")


def dbt_command(dbt: str, args: list[str], work: Path) -> list[str]:
    """A dbt command line on this project whose target and logs go under `work`, so that tests
    and benchmarks keep their runs apart from each other and from `omsi run`'s."""
    return [
        dbt,
        *args,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(work / "target"),
        "--log-path",
        str(work / "logs"),
    ]


def dbt_env(home: OmsiHome) -> dict[str, str]:
    """The environment dbt needs: profiles.yml reads the warehouse path from OMSI_WAREHOUSE."""
    return {"OMSI_WAREHOUSE": str(home.warehouse)}


def build_args(*, full_refresh: bool = False) -> list[str]:
    """Arguments of one `dbt build`; a pure function so that the choice is easy to test."""
    return ["build", "--full-refresh"] if full_refresh else ["build"]


def _sources() -> list[Path]:
    """The files a dbt build depends on, in a stable order."""
    sources = [DBT_PROJECT_DIR / "dbt_project.yml", DBT_PROJECT_DIR / "profiles.yml"]
    for folder in ("models", "macros", "tests", "seeds"):
        if (DBT_PROJECT_DIR / folder).exists():
            sources += sorted(p for p in (DBT_PROJECT_DIR / folder).rglob("*") if p.is_file())
    return sources


def project_fingerprint() -> str:
    """SHA-256 over the dbt project's files: a changed model, macro, test or seed changes it."""
    digest = hashlib.sha256()
    for path in _sources():
        digest.update(str(path.relative_to(DBT_PROJECT_DIR)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _manifest_is_stale(project: DbtProject) -> bool:
    manifest = project.manifest_path
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    return any(p.stat().st_mtime > built for p in _sources())


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
