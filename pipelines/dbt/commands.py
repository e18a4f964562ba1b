"""How dbt is called: the executable, command lines on this project, and its environment."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from pipelines.dbt.data_test_scope import DataTestScope
from pipelines.dbt.project_files import DBT_PROJECT_DIR
from pipelines.settings import LAKE_ENV, SPARK_DIR_ENV, OmsiHome

EVERY_ROW = DataTestScope()


def dbt_beside_python() -> str | None:
    """dbt as installed beside this Python, so that `omsi` works without an activated venv."""
    return shutil.which("dbt", path=str(Path(sys.executable).parent))


def warm_dbt_beside_python() -> str | None:
    """`omsi-dbt` beside this Python: dbt, run by the warm dbt server when `omsi run` started
    one (pipelines/dbt/warm_server.py), and the plain `dbt` otherwise."""
    return shutil.which("omsi-dbt", path=str(Path(sys.executable).parent))


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
    """The environment dbt needs: profiles.yml reads the warehouse path from OMSI_WAREHOUSE,
    and on Spark its folder from OMSI_SPARK_DIR and the raw tables' from OMSI_LAKE."""
    env = {"OMSI_WAREHOUSE": str(home.warehouse)}
    if home.engine == "spark":
        env |= {SPARK_DIR_ENV: str(home.spark), LAKE_ENV: str(home.lake)}
    return env


class DbtCommandFailed(RuntimeError):
    """A dbt command exited non-zero; the message holds its exit code and the end of its output."""


def run_dbt_command(home: OmsiHome, args: list[str], work: Path, env: dict[str, str]) -> None:
    """`dbt ARGS` on the home's warehouse in a process of its own, its target and logs under
    `work`, with `env` added to dbt's environment; DbtCommandFailed when it fails."""
    dbt = dbt_beside_python()
    if dbt is None:
        raise DbtCommandFailed("dbt is not installed beside this Python: run `make install`")
    done = subprocess.run(
        dbt_command(dbt, args, work),
        env={**os.environ, **dbt_env(home), **env},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise DbtCommandFailed(f"exit {done.returncode}:\n{(done.stdout + done.stderr)[-3000:]}")


# dbt nodes a scoped incremental build runs at once: one whose tests read only the new batches,
# as an hourly or daily `omsi run` does. Its nodes are small: on a one-day run at 1,000,000
# orders about 40% of the dbt worker's time was dbt's own Python (rendering, compiling, logging
# events) on one core while DuckDB waited. With four at a time that work overlaps other nodes'
# queries: the same one-day build, four times each way, interleaved, took 23.0-27.3 s of dbt's
# time against 28.2-38.9 s. Every other build (the first, a full refresh, the nightly full
# check) keeps profiles.yml's one at a time: its models or its tests read all of history, each
# statement already uses every core, and side by side their memory would add up under the one
# cap DuckDB keeps to.
INCREMENTAL_THREADS = 4


def build_args(
    *, full_refresh: bool = False, scope: DataTestScope = EVERY_ROW, engine: str = "duckdb"
) -> list[str]:
    """Arguments of one `dbt build`; a pure function so that the choice is easy to test.
    `scope` is the build's data tests: cut to the new batches, it leaves some out
    (`DataTestScope.exclude_args`) and, on DuckDB, runs several nodes at once (on Spark a
    second thread made a build no faster: docs/scale-out.md)."""
    target = ["--target", "spark"] if engine == "spark" else []
    if full_refresh:
        return ["build", "--full-refresh", *target]
    if scope.after_batch is None:
        return ["build", *target]
    threads = [] if engine == "spark" else ["--threads", str(INCREMENTAL_THREADS)]
    return ["build", *threads, *target, *scope.exclude_args()]
