"""Loading the Dagster definitions reads the dbt manifest and runs nothing; dagster-dbt's
preparation (`make install`, `omsi run`, `dagster dev`) is what writes it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import msgpack
import pytest
from dagster_dbt import DbtProject
from dagster_dbt.errors import DagsterDbtManifestNotFoundError

from pipelines.dbt.project_files import (
    DBT_PROJECT_DIR,
    MANIFEST,
    PREPARED_STAMP,
    prune_build_folders,
)
from pipelines.defs.dbt import project as project_module
from pipelines.defs.dbt.project import prepare_project, require_manifest

ROOT = Path(__file__).resolve().parents[1]

# Loads the code location in a fresh interpreter and prints every process it starts, as seen by
# Python's audit hooks (which subprocess, os.system, spawn, fork and exec all raise). Dagster
# and dagster-dbt are imported first: Dagster's own import runs `file` (platform.architecture).
_PROBE = """
import json, sys
import dagster, dagster_dbt
started = []
def watch(event, args):
    if event in ("subprocess.Popen", "os.system", "os.posix_spawn", "os.spawn", "os.fork",
                 "os.exec"):
        started.append(f"{event} {args!r}"[:300])
sys.addaudithook(watch)
import pipelines.definitions
print(json.dumps(started))
"""


def _processes_started_by_loading(env: dict[str, str]) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, cwd=ROOT, env=env
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def prepared() -> None:
    prepare_project()  # what `make install` does


def test_loading_the_definitions_starts_no_process(prepared, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_IS_DEV_CLI"}
    started = _processes_started_by_loading(env | {"OMSI_HOME": str(tmp_path)})
    assert started == []


def test_under_dagster_dev_loading_parses_the_project(prepared, tmp_path):
    env = os.environ | {"OMSI_HOME": str(tmp_path), "DAGSTER_IS_DEV_CLI": "1"}
    started = _processes_started_by_loading(env)
    assert any("'parse'" in line for line in started), started


def test_a_project_never_prepared_fails_with_what_to_run(tmp_path):
    copy = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, copy, ignore=shutil.ignore_patterns("target", "logs"))
    with pytest.raises(DagsterDbtManifestNotFoundError, match="make install"):
        require_manifest(DbtProject(project_dir=copy))


def test_a_preparation_that_would_parse_the_same_again_is_skipped(tmp_path, monkeypatch):
    copy = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, copy, ignore=shutil.ignore_patterns("target", "logs"))
    project = DbtProject(project_dir=copy, profiles_dir=copy)
    warehouse = tmp_path / "warehouse.duckdb"
    prepare_project(warehouse, project)
    assert require_manifest(project).exists()
    # dbt's record of the seeds is left as dbt wrote it, so that a build's own parse finds
    # nothing changed (dagster-dbt's preparer spoils their checksums).
    saved = msgpack.unpackb((copy / "target" / "partial_parse.msgpack").read_bytes())
    seeds = [f for f in saved["files"].values() if f.get("parse_file_type") == "seed"]
    assert seeds and all(set(f["checksum"]["checksum"]) != {"0"} for f in seeds)

    parses: list[Path] = []
    monkeypatch.setattr(project_module.PREPARER, "prepare", lambda p: parses.append(p.project_dir))
    prepare_project(warehouse, project)
    assert parses == []
    # Another warehouse path (profiles.yml names it) or an edited model parses again.
    prepare_project(tmp_path / "other.duckdb", project)
    assert len(parses) == 1
    model = next((copy / "models" / "marts").glob("*.sql"))
    model.write_text(model.read_text() + "\n-- edited\n")
    prepare_project(tmp_path / "other.duckdb", project)
    assert len(parses) == 2
    # A build on Spark starts from a parse of its own: there the warehouse path does not count,
    # an edit does.
    prepare_project(tmp_path / "spark-home.duckdb", project, any_warehouse=True)
    assert len(parses) == 2
    model.write_text(model.read_text() + "\n-- edited again\n")
    prepare_project(tmp_path / "spark-home.duckdb", project, any_warehouse=True)
    assert len(parses) == 3


def test_only_the_newest_build_folders_are_kept(tmp_path):
    target = tmp_path / "target"
    target.mkdir()
    (target / "partial_parse.msgpack").write_bytes(b"the project's own parse")
    for age in range(5):
        folder = target / f"dbt_models-run{age}-build"
        folder.mkdir()
        (folder / "run_results.json").write_text("{}")
        os.utime(folder, (1_000_000 - age * 60, 1_000_000 - age * 60))  # run0 is the newest

    removed = prune_build_folders(target, keep=2)

    assert sorted(p.name for p in removed) == [f"dbt_models-run{age}-build" for age in (2, 3, 4)]
    assert sorted(p.name for p in target.iterdir()) == [
        "dbt_models-run0-build",
        "dbt_models-run1-build",
        "partial_parse.msgpack",
    ]


def test_a_run_finds_its_project_prepared_without_importing_dagster_dbt(prepared, tmp_path):
    # `omsi run` starts the warm dbt server right after this; dagster-dbt's import (about 2 s)
    # would hold it back for nothing when the project is already prepared for the run's home.
    stamped = json.loads(MANIFEST.with_name(PREPARED_STAMP).read_text())["warehouse"]
    assert Path(stamped).name == "warehouse.duckdb"  # so that a home's warehouse is that path
    probe = (
        "import sys\n"
        "from pathlib import Path\n"
        "from pipelines.runner import _prepare_dbt_project\n"
        "from pipelines.settings import OmsiHome\n"
        f"_prepare_dbt_project(OmsiHome(Path({str(Path(stamped).parent)!r})))\n"
        "print('dagster_dbt' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert done.stdout.strip() == "False", done.stderr[-2000:]
