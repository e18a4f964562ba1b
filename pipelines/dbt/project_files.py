"""Where the dbt project lives, a fingerprint of the files a build depends on, and the folders
its builds leave."""

from __future__ import annotations

import hashlib
import json
import shutil
from importlib.metadata import version as package_version
from pathlib import Path

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"


def project_files(project_dir: Path | None = None) -> list[Path]:
    """The files a dbt build depends on, in a stable order (of this project by default)."""
    project_dir = project_dir or DBT_PROJECT_DIR
    sources = [project_dir / "dbt_project.yml", project_dir / "profiles.yml"]
    for folder in ("models", "macros", "tests", "seeds"):
        if (project_dir / folder).exists():
            sources += sorted(p for p in (project_dir / folder).rglob("*") if p.is_file())
    return sources


def project_fingerprint(project_dir: Path | None = None) -> str:
    """SHA-256 over the dbt project's files: a changed model, macro, test or seed changes it."""
    project_dir = project_dir or DBT_PROJECT_DIR
    digest = hashlib.sha256()
    for path in project_files(project_dir):
        digest.update(str(path.relative_to(project_dir)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


# The manifest the Dagster definitions load, and beside it what it was parsed from
# (pipelines/defs/dbt/project.py, prepare_project).
MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
PREPARED_STAMP = "omsi_prepared.json"


def _parsed_from(warehouse: Path, project_dir: Path) -> dict[str, str]:
    return {
        "project": project_fingerprint(project_dir),
        "warehouse": str(warehouse),
        "dbt": package_version("dbt-core"),
    }


def is_prepared(
    warehouse: Path,
    *,
    manifest: Path = MANIFEST,
    project_dir: Path = DBT_PROJECT_DIR,
    any_warehouse: bool = False,
) -> bool:
    """Whether `manifest` was parsed from the project's files as they are, for `warehouse` (any,
    with `any_warehouse`), by this dbt: then preparing the project again would change nothing.
    Plain code, so that `omsi run` learns it before it imports dagster-dbt."""
    stamp = manifest.with_name(PREPARED_STAMP)
    if not (manifest.exists() and stamp.exists()):
        return False
    parsed_from = _parsed_from(warehouse, project_dir)
    stamped = json.loads(stamp.read_text())
    if any_warehouse:
        stamped["warehouse"] = parsed_from["warehouse"]
    return stamped == parsed_from


def stamp_prepared(
    warehouse: Path, *, manifest: Path = MANIFEST, project_dir: Path = DBT_PROJECT_DIR
) -> None:
    """Record beside `manifest` what it was just parsed from."""
    parsed_from = _parsed_from(warehouse, project_dir)
    manifest.with_name(PREPARED_STAMP).write_text(json.dumps(parsed_from, indent=1) + "\n")


def build_fingerprint(engine: str = "duckdb") -> str:
    """What a build is recorded as built from: the project's files and, for an engine other than
    DuckDB, the engine. Another engine's tables are other tables: a run on a new engine (or back)
    rebuilds every model in full once, as a changed project does."""
    fingerprint = project_fingerprint()
    return fingerprint if engine == "duckdb" else f"{fingerprint}+{engine}"


# dagster-dbt gives each build a target folder of its own under the project's, named for the
# asset and the run (`dbt_models-<run>-<id>`: its parse, compiled SQL, results and log, 14 MB at
# 1,000,000 orders), and removes none: an hourly `omsi run` left a third of a gigabyte a day.
# The newest are kept to read a recent build's SQL, results or log. A build on Spark names its
# own the same way (pipelines/dbt/spark_engine.py), so that they are kept and pruned alike.
KEPT_BUILD_FOLDERS = 20
BUILD_FOLDER_PREFIX = "dbt_models-"  # the op of the dbt assets (pipelines/defs/dbt/assets.py)


def prune_build_folders(target: Path | None = None, keep: int = KEPT_BUILD_FOLDERS) -> list[Path]:
    """Remove all but the `keep` newest build folders under the project's target folder (or
    `target`); the project's own parse and manifest beside them stay. Returns those removed."""
    target = target or DBT_PROJECT_DIR / "target"
    folders = sorted(
        (path for path in target.glob(f"{BUILD_FOLDER_PREFIX}*") if path.is_dir()),
        key=lambda path: path.stat().st_mtime,
        reverse=True,
    )
    removed = folders[keep:]
    for folder in removed:
        shutil.rmtree(folder, ignore_errors=True)
    return removed
