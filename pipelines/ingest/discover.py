"""Find what a landing folder holds: event files anywhere below it, reference CSVs by name."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from pipelines.settings import IGNORE_MARKER

EVENT_SUFFIXES = (".jsonl", ".jsonl.gz", ".parquet")
REFERENCE_NAMES = {"nodes.csv": "nodes", "skus.csv": "skus", "carriers.csv": "carriers"}


@dataclass(frozen=True)
class LandedFile:
    path: Path
    relative: str  # relative to the landing folder, with forward slashes: the name users see
    kind: str  # events | nodes | skus | carriers


def discover(folder: Path) -> list[LandedFile]:
    """Every file ingest understands, reference data first so events can be checked against it.

    Order matters: within a kind, files are read in path order and the first copy of an event_id
    wins, so the order must not depend on the file system.
    """
    if not folder.is_dir():
        raise FileNotFoundError(
            f"landing folder {folder} does not exist: create it, or point to the output of "
            "`omsi generate` or `omsi import`"
        )
    ignored = [marker.parent for marker in folder.rglob(IGNORE_MARKER)]
    found: list[LandedFile] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue  # editor swap files, partial downloads
        if any(path.is_relative_to(skip) for skip in ignored):
            continue
        if path.name in REFERENCE_NAMES:
            found.append(LandedFile(path, relative, REFERENCE_NAMES[path.name]))
        elif path.name.endswith(EVENT_SUFFIXES):
            found.append(LandedFile(path, relative, "events"))
    return sorted(found, key=lambda f: (f.kind == "events", f.relative))


def landing_fingerprint(folder: Path) -> str:
    """Changes whenever a file ingest would read is added, removed, rewritten or touched ('' for
    none). From names, sizes and modification times: reading the files to hash them would cost
    as much as ingesting them."""
    files = discover(folder) if folder.is_dir() else []
    if not files:
        return ""
    digest = hashlib.sha256()
    for found in files:
        stat = found.path.stat()
        digest.update(f"{found.relative}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()
