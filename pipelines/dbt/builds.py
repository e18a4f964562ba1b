"""What the last successful dbt build covered, so that a run with nothing new can skip it.

A build depends on the raw tables and on the dbt project; "now" in the marts is the newest
event's time, not the clock. So when no ingest batch has read a file since the last build, the
project's files are the same and the serving snapshot was published after it, a new build would
produce the same tables: the scheduled run that finds nothing new costs seconds instead of a
full build. Times are UTC without a zone, as everywhere in the warehouse.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

_TABLE = """
create schema if not exists ops;
create table if not exists ops.dbt_builds (
    finished_at timestamp not null,
    through_batch_id bigint not null,  -- the newest ingest batch the build read
    project_fingerprint varchar not null,  -- pipelines.dbt.project_files.project_fingerprint()
    full_refresh boolean not null
);
"""


def _newest_batch(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("select coalesce(max(batch_id), 0) from raw.ingest_batches").fetchall()[0][0]


def up_to_date(
    con: duckdb.DuckDBPyConnection, fingerprint: str, published_at: datetime | None
) -> str | None:
    """Why the marts are current (a sentence for the run's log), or None when a build is due.

    `published_at` is when the serving snapshot was written (None: there is none); a snapshot
    older than the last build means publishing failed after it, so the run must go on.
    """
    con.execute(_TABLE)
    last = con.execute(
        """
        select through_batch_id, project_fingerprint, finished_at from ops.dbt_builds
        order by finished_at desc limit 1
        """
    ).fetchall()
    if not last:
        return None
    through, built_with, finished_at = last[0]
    if published_at is None or published_at < finished_at:
        return None
    # A batch that read no file (every one skipped for its checksum) changed nothing.
    newer = con.execute(
        "select count(*) from raw.ingest_batches where batch_id > $b and files > 0",
        {"b": through},
    ).fetchall()[0][0]
    if newer or built_with != fingerprint:
        return None
    return (
        f"the marts are up to date: no file ingested since batch {through} and the dbt project "
        "is unchanged, so dbt did not run (`omsi run --full-refresh` rebuilds anyway)"
    )


def record_build(con: duckdb.DuckDBPyConnection, fingerprint: str, *, full_refresh: bool) -> None:
    """Note a successful build over every batch ingested so far."""
    con.execute(_TABLE)
    con.execute(
        "insert into ops.dbt_builds values (now()::timestamp, $batch, $fingerprint, $full)",
        {"batch": _newest_batch(con), "fingerprint": fingerprint, "full": full_refresh},
    )
