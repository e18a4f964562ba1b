"""How dbt is called: the executable, command lines on this project, and its environment."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from pipelines.dbt.project_files import DBT_PROJECT_DIR
from pipelines.settings import OmsiHome


def dbt_beside_python() -> str | None:
    """dbt as installed beside this Python, so that `omsi` works without an activated venv."""
    return shutil.which("dbt", path=str(Path(sys.executable).parent))


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


def build_args(*, full_refresh: bool = False, exclude: Sequence[str] = ()) -> list[str]:
    """Arguments of one `dbt build`; a pure function so that the choice is easy to test.
    `exclude` is the tests an incremental build leaves out (`DataTestScope.exclude_args`)."""
    return ["build", "--full-refresh"] if full_refresh else ["build", *exclude]
