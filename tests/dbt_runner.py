"""Run the real dbt CLI on a warehouse file, the way the pipeline does, for tests."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from pipelines.dbt.commands import dbt_beside_python, dbt_command
from pipelines.dbt.project_files import DBT_PROJECT_DIR

DBT_DIR = DBT_PROJECT_DIR


def dbt_executable() -> str:
    found = dbt_beside_python()
    if found is None:
        pytest.fail("dbt is not installed next to this Python: run `uv sync` from the repo root")
    return found


def run_dbt(args: list[str], warehouse: Path, work: Path) -> tuple[int, str, dict[str, str]]:
    """Run dbt on `warehouse`; return its exit code, its output and each node's status."""
    command = dbt_command(dbt_executable(), args, work)
    env = {**os.environ, "OMSI_WAREHOUSE": str(warehouse)}
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    results_file = work / "target" / "run_results.json"
    statuses = {}
    if results_file.exists():
        results = json.loads(results_file.read_text())["results"]
        statuses = {r["unique_id"]: r["status"] for r in results}
    return proc.returncode, proc.stdout + proc.stderr, statuses
