"""Where the serving snapshot lives, which version of it is on disk, and how to open it safely.

The pipeline publishes `serving.duckdb` by writing a complete new file and renaming it into
place, so a file's (inode, mtime_ns, size) identifies one published snapshot. Everything the
dashboards cache is keyed by that version, which makes a new snapshot show up on the next rerun.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

SERVING_FILE = "serving.duckdb"


class SnapshotError(Exception):
    """The serving snapshot exists but cannot be read; the message says what to do next."""


@dataclass(frozen=True)
class SnapshotVersion:
    """One published serving snapshot: hashable, so Streamlit caches can be keyed by it."""

    path: str
    inode: int
    mtime_ns: int
    size: int


def serving_path(env: Mapping[str, str] | None = None) -> Path:
    """`$OMSI_SERVING` if set, else `$OMSI_HOME/serving.duckdb` (OMSI_HOME defaults to ./data)."""
    env = os.environ if env is None else env
    if env.get("OMSI_SERVING"):
        return Path(env["OMSI_SERVING"]).expanduser().resolve()
    return (Path(env.get("OMSI_HOME") or "data").expanduser() / SERVING_FILE).resolve()


def current_version(path: Path) -> SnapshotVersion | None:
    """The snapshot now at `path`, or None when nothing has been published there yet."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    if not path.is_file():
        raise SnapshotError(
            f"{path} is not a file. Point OMSI_SERVING at a serving.duckdb file, or unset it "
            "to use $OMSI_HOME/serving.duckdb."
        )
    return SnapshotVersion(
        path=str(path), inode=stat.st_ino, mtime_ns=stat.st_mtime_ns, size=stat.st_size
    )


def missing_snapshot_message(path: Path) -> str:
    return (
        f"No serving snapshot yet at `{path}`.\n\n"
        "Run the pipeline once to publish it: `omsi run` (your own landing data) or "
        "`make demo` (a simulated demo world). Then reload this page. To view a snapshot "
        "somewhere else, set `OMSI_HOME` (its folder) or `OMSI_SERVING` (the file)."
    )


@contextmanager
def open_read_only(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived read-only connection.

    Held only for the queries of one cache miss: a connection kept open would pin a replaced
    snapshot on disk and, on Windows, make the pipeline's atomic rename fail.
    External access is off because dashboards only ever read this one file.
    """
    try:
        con = duckdb.connect(str(path), read_only=True, config={"enable_external_access": False})
    except duckdb.Error as error:
        raise SnapshotError(
            f"Could not open the serving snapshot `{path}` read-only ({error}). If the pipeline "
            "is publishing right now, reload in a moment; otherwise rebuild it with `omsi run`."
        ) from error
    try:
        yield con
    finally:
        con.close()


def age_text(built_at: datetime, now: datetime | None = None) -> str:
    """'5 min ago'-style age of a snapshot; `built_at` is naive UTC like every omsi timestamp."""
    now = now or datetime.now(UTC).replace(tzinfo=None)
    seconds = (now - built_at).total_seconds()
    if seconds < 60:
        return "just now"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min ago"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h {minutes % 60} min ago"
    return f"{hours // 24} days ago"
