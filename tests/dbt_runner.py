"""Run the real dbt CLI on a warehouse file, the way the pipeline does, for tests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DBT_DIR = REPO / "dbt_project"


def dbt_executable() -> str:
    found = shutil.which("dbt", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail("dbt is not installed next to this Python: run `uv sync` from the repo root")
    return found


def run_dbt(args: list[str], warehouse: Path, work: Path) -> tuple[int, str, dict[str, str]]:
    """Run dbt on `warehouse`; return its exit code, its output and each node's status."""
    command = [
        dbt_executable(),
        *args,
        "--project-dir",
        str(DBT_DIR),
        "--profiles-dir",
        str(DBT_DIR),
        "--target-path",
        str(work / "target"),
        "--log-path",
        str(work / "logs"),
    ]
    env = {**os.environ, "OMSI_WAREHOUSE": str(warehouse)}
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    results_file = work / "target" / "run_results.json"
    statuses = {}
    if results_file.exists():
        results = json.loads(results_file.read_text())["results"]
        statuses = {r["unique_id"]: r["status"] for r in results}
    return proc.returncode, proc.stdout + proc.stderr, statuses
