"""The warm dbt server: a command run through `omsi-dbt` behaves as `dbt` itself would."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipelines.dbt.project_files import DBT_PROJECT_DIR
from pipelines.dbt.warm_server import SOCKET_VARIABLE, warm_dbt

OMSI_DBT = shutil.which("omsi-dbt", path=str(Path(sys.executable).parent))
DBT = shutil.which("dbt", path=str(Path(sys.executable).parent))
PROJECT = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]

pytestmark = pytest.mark.skipif(
    OMSI_DBT is None or DBT is None, reason="omsi-dbt and dbt are installed by `make install`"
)


def _run(executable: str, args: list[str], warehouse: Path, work: Path) -> tuple[int, list[str]]:
    """Exit code and output lines (log timestamps taken out) of one command on `warehouse`."""
    env = {
        **os.environ,
        "OMSI_WAREHOUSE": str(warehouse),
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
    }
    done = subprocess.run(
        [executable, *args, *PROJECT], env=env, capture_output=True, text=True, timeout=300
    )
    lines = [re.sub(r"^\S*\d\d:\d\d:\d\d\s+", "", line) for line in done.stdout.splitlines()]
    return done.returncode, lines


def test_a_command_run_warm_prints_and_exits_as_dbt_does(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    listing = ["ls", "--resource-type", "model", "--output", "name"]
    cold = _run(DBT, listing, warehouse, tmp_path / "cold")
    with warm_dbt(warehouse) as server:
        warm = _run(OMSI_DBT, listing, warehouse, tmp_path / "warm")
        failed = _run(OMSI_DBT, ["run-operation", "no_such_macro"], warehouse, tmp_path / "w2")
        log = server.log.read_text()
    assert warm[0] == cold[0] == 0
    # Every model, as dbt lists them; only "Unable to do partial parsing" lines may differ.
    models = [line for line in cold[1] if re.fullmatch(r"[a-z_]+", line)]
    assert len(models) > 50 and models == [line for line in warm[1] if line in models]
    assert "stg_oms__orders_placed" in warm[1]
    # A command dbt cannot run exits as dbt does (2) and says why.
    assert failed[0] == 2
    assert any("no_such_macro" in line for line in failed[1])
    # The server ran both: parsed once, then each command in a child of its own.
    assert "warm in" in log
    assert "dbt ls: exit 0" in log and "dbt run-operation: exit 2" in log


def test_the_warm_server_holds_no_lock_on_the_warehouse(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(warehouse)).close()
    with warm_dbt(warehouse):
        # Returns once the server is warm: it has parsed the project by then.
        assert _run(OMSI_DBT, ["ls", "--resource-type", "seed"], warehouse, tmp_path)[0] == 0
        with duckdb.connect(str(warehouse)) as con:  # would fail if the server held the file
            con.execute("create table written_while_warm as select 1 as x")


def test_without_a_server_omsi_dbt_is_dbt(tmp_path, monkeypatch):
    monkeypatch.delenv(SOCKET_VARIABLE, raising=False)
    cold = subprocess.run([DBT, "--version"], capture_output=True, text=True)
    for socket in (None, str(tmp_path / "nobody-listens.sock")):
        env = {**os.environ} | ({SOCKET_VARIABLE: socket} if socket else {})
        done = subprocess.run([OMSI_DBT, "--version"], env=env, capture_output=True, text=True)
        assert done.returncode == cold.returncode == 0
        assert done.stdout == cold.stdout
