"""What the last successful dbt build covered, so that a run with nothing new can skip it.

A build depends on the raw tables and on the dbt project; "now" in the marts is the newest
event's time, not the clock. So when no ingest batch has read a file since the last build, the
project's files are the same and the serving snapshot was published after it, a new build would
produce the same tables: the scheduled run that finds nothing new costs seconds instead of a
full build. Times are UTC without a zone, as everywhere in the warehouse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import duckdb

_TABLE = """
create schema if not exists ops;
create table if not exists ops.dbt_builds (
    finished_at timestamp not null,
    through_batch_id bigint not null,  -- the newest ingest batch the build read
    project_fingerprint varchar not null,  -- pipelines.dbt.project_files.build_fingerprint()
    full_refresh boolean not null,
    run_id varchar,                   -- the Dagster run that built
    elapsed_seconds double,           -- dbt's own elapsed time (run_results.json)
    models_seconds double,            -- of which building models, seeds and snapshots
    tests_seconds double,             -- and running data and unit tests
    tests_after_batch bigint          -- tests read rows of newer batches only; null: every row
);
-- Warehouses made before the build times were kept get them (nullable: older builds have none).
alter table ops.dbt_builds add column if not exists run_id varchar;
alter table ops.dbt_builds add column if not exists elapsed_seconds double;
alter table ops.dbt_builds add column if not exists models_seconds double;
alter table ops.dbt_builds add column if not exists tests_seconds double;
alter table ops.dbt_builds add column if not exists tests_after_batch bigint;
"""

# run_results.json names each node by a unique_id that starts with its resource type.
_BUILDS = ("model.", "seed.", "snapshot.")
_TESTS = ("test.", "unit_test.")


@dataclass(frozen=True)
class BuildTimes:
    """Where a dbt build's time went, from dbt's own record of it (target/run_results.json).

    Wall times: `models` while a model or seed ran, `tests` while only tests ran. An incremental
    build runs several nodes at once, so the nodes' own times would add up to more than the
    build; models + tests never exceed `elapsed`, and the difference is dbt's own work between
    nodes.
    """

    elapsed: float
    models: float
    tests: float


Span = tuple[datetime, datetime]


def _node_spans(results: list[Mapping[str, Any]], kinds: tuple[str, ...]) -> list[Span]:
    """When each node of those kinds ran, from compiling to done (a skipped node has no span)."""
    spans = []
    for result in results:
        if result["unique_id"].startswith(kinds) and result.get("timing"):
            stamps = [t[key] for t in result["timing"] for key in ("started_at", "completed_at")]
            stamps = [datetime.fromisoformat(s.replace("Z", "+00:00")) for s in stamps if s]
            spans.append((min(stamps), max(stamps)))
    return spans


def _covered(spans: list[Span]) -> float:
    """Seconds during which at least one of the spans was open."""
    seconds, end = 0.0, None
    for start, stop in sorted(spans):
        if end is None or start > end:
            seconds += (stop - start).total_seconds()
            end = stop
        elif stop > end:
            seconds += (stop - end).total_seconds()
            end = stop
    return seconds


def build_times(run_results: Mapping[str, Any]) -> BuildTimes:
    """A run_results.json's wall time by what dbt was doing."""
    results = run_results["results"]
    model_spans = _node_spans(results, _BUILDS)
    models = _covered(model_spans)
    either = _covered(model_spans + _node_spans(results, _TESTS))
    return BuildTimes(elapsed=run_results["elapsed_time"], models=models, tests=either - models)


def _newest_batch(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("select coalesce(max(batch_id), 0) from raw.ingest_batches").fetchall()[0][0]


class LastBuild(NamedTuple):
    through_batch_id: int
    project_fingerprint: str
    finished_at: datetime


def last_build(con: duckdb.DuckDBPyConnection) -> LastBuild | None:
    """The newest successful build, or None before the first."""
    con.execute(_TABLE)
    found = con.execute(
        """
        select through_batch_id, project_fingerprint, finished_at from ops.dbt_builds
        order by finished_at desc limit 1
        """
    ).fetchall()
    return LastBuild(*found[0]) if found else None


def project_changed(con: duckdb.DuckDBPyConnection, fingerprint: str) -> bool:
    """Whether the last successful build ran another version of the dbt project.

    Its incremental tables then hold rows computed by the old SQL, perhaps with other columns,
    and an incremental run would only recompute the rows new events touch: incremental equals a
    full refresh only for rows written by the same SQL. So the next build rebuilds every model
    (`--full-refresh`), once per change of the project: after an upgrade, or an edited model."""
    last = last_build(con)
    return last is not None and last.project_fingerprint != fingerprint


def serving_published_at(serving: Path) -> datetime | None:
    """When the serving snapshot was written, in UTC without a zone like the warehouse's times."""
    if not serving.exists():
        return None
    return datetime.fromtimestamp(serving.stat().st_mtime, UTC).replace(tzinfo=None)


def up_to_date(
    con: duckdb.DuckDBPyConnection, fingerprint: str, published_at: datetime | None
) -> str | None:
    """Why the marts are current (a sentence for the run's log), or None when a build is due.

    `published_at` is when the serving snapshot was written (None: there is none); a snapshot
    older than the last build means publishing failed after it, so the run must go on.
    """
    last = last_build(con)
    if last is None:
        return None
    through, built_with, finished_at = last
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


def record_build(
    con: duckdb.DuckDBPyConnection,
    fingerprint: str,
    *,
    full_refresh: bool,
    run_id: str | None = None,
    times: BuildTimes | None = None,
    tests_after_batch: int | None = None,
) -> None:
    """Note a successful build over every batch ingested so far, with its run, times and the
    batch after which its tests read rows (None: every row)."""
    con.execute(_TABLE)
    elapsed, models, tests = (times.elapsed, times.models, times.tests) if times else (None,) * 3
    con.execute(
        """
        insert into ops.dbt_builds (
            finished_at, through_batch_id, project_fingerprint, full_refresh, run_id,
            elapsed_seconds, models_seconds, tests_seconds, tests_after_batch
        )
        values (
            now()::timestamp, $batch, $fingerprint, $full, $run, $elapsed, $models, $tests,
            $tests_after
        )
        """,
        {
            "batch": _newest_batch(con),
            "fingerprint": fingerprint,
            "full": full_refresh,
            "run": run_id,
            "elapsed": elapsed,
            "models": models,
            "tests": tests,
            "tests_after": tests_after_batch,
        },
    )


def build_times_of_run(con: duckdb.DuckDBPyConnection, run_id: str) -> BuildTimes | None:
    """The times of the build the Dagster run `run_id` recorded; None when it built nothing."""
    con.execute(_TABLE)
    found = con.execute(
        """
        select elapsed_seconds, models_seconds, tests_seconds from ops.dbt_builds
        where run_id = $run and elapsed_seconds is not null
        """,
        {"run": run_id},
    ).fetchall()
    return BuildTimes(*found[0]) if found else None
