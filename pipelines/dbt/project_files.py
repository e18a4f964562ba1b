"""Where the dbt project lives, and a fingerprint of the files a build depends on."""

from __future__ import annotations

import hashlib
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


def build_fingerprint(engine: str = "duckdb") -> str:
    """What a build is recorded as built from: the project's files and, for an engine other than
    DuckDB, the engine. Another engine's tables are other tables: a run on a new engine (or back)
    rebuilds every model in full once, as a changed project does."""
    fingerprint = project_fingerprint()
    return fingerprint if engine == "duckdb" else f"{fingerprint}+{engine}"
