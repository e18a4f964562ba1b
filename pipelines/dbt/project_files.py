"""Where the dbt project lives, and a fingerprint of the files a build depends on."""

from __future__ import annotations

import hashlib
from pathlib import Path

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"


def project_files() -> list[Path]:
    """The files a dbt build depends on, in a stable order."""
    sources = [DBT_PROJECT_DIR / "dbt_project.yml", DBT_PROJECT_DIR / "profiles.yml"]
    for folder in ("models", "macros", "tests", "seeds"):
        if (DBT_PROJECT_DIR / folder).exists():
            sources += sorted(p for p in (DBT_PROJECT_DIR / folder).rglob("*") if p.is_file())
    return sources


def project_fingerprint() -> str:
    """SHA-256 over the dbt project's files: a changed model, macro, test or seed changes it."""
    digest = hashlib.sha256()
    for path in project_files():
        digest.update(str(path.relative_to(DBT_PROJECT_DIR)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()
