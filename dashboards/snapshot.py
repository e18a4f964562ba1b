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


# The catalog name the snapshot is attached under; queries name its tables unqualified.
CATALOG = "snapshot"


def open_connection(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the snapshot at `path`; the caller closes it.

    The file is attached to an in-memory database rather than opened with `duckdb.connect`:
    DuckDB hands a second `connect` of a path this process still holds open the database it
    already opened, which would be the replaced snapshot, not the file now at that path.
    External access is off once attached: dashboards only ever read this one file. Cursors of
    this connection must `use snapshot` (see `cursor`).
    """
    con = duckdb.connect(":memory:")
    try:
        quoted = str(path).replace("'", "''")
        con.execute(f"attach '{quoted}' as {CATALOG} (read_only)")
        con.execute("set enable_external_access = false")
        con.execute(f"use {CATALOG}")
    except duckdb.Error as error:
        con.close()
        raise SnapshotError(
            f"Could not open the serving snapshot `{path}` read-only ({error}). If the pipeline "
            "is publishing right now, reload in a moment; otherwise rebuild it with `omsi run`."
        ) from error
    return con


def cursor(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A cursor of a snapshot connection (one per thread), reading the snapshot's tables."""
    cur = con.cursor()
    cur.execute(f"use {CATALOG}")
    return cur


@contextmanager
def open_read_only(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived read-only connection.

    Held only for the queries of one cache miss (on Windows, where a connection kept open would
    make the pipeline's atomic rename fail; see queries.KEEP_CONNECTIONS_OPEN).
    """
    con = open_connection(path)
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
