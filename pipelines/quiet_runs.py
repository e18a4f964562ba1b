"""An `omsi run` with nothing to do returns before Dagster starts.

The landing sensor starts no run while the landing folder is unchanged; `omsi run` does the same
from the terminal or a cron job. When the folder holds the files the last successful run found
(by name, size and modification time, as the sensor compares them) and the marts and serving
are current (`pipelines.dbt.builds.up_to_date`), a run would ingest nothing, build nothing and
publish nothing, yet starting Dagster to find that out costs seconds to minutes: loading it,
then writing a "planned" event per asset and per check into its run log before the first step.
`--full-checks` and `--full-refresh` always run.
"""

from __future__ import annotations

import duckdb

from pipelines.dbt.builds import serving_published_at, up_to_date
from pipelines.dbt.project_files import build_fingerprint
from pipelines.settings import OmsiHome
from pipelines.warehouse import connect

_TABLE = """
create schema if not exists ops;
create table if not exists ops.completed_runs (
    run_id varchar not null,              -- the Dagster run that succeeded
    finished_at timestamp not null,
    landing_fingerprint varchar not null  -- pipelines.ingest.discover.landing_fingerprint at its start
);
"""


def record_completed_run(con: duckdb.DuckDBPyConnection, run_id: str, landing: str) -> None:
    """Note a run that succeeded and the landing folder as it found it."""
    con.execute(_TABLE)
    con.execute(
        "insert into ops.completed_runs values ($run, now()::timestamp, $landing)",
        {"run": run_id, "landing": landing},
    )


def nothing_new(home: OmsiHome, landing: str) -> str | None:
    """Why a run now would change nothing (a sentence for the terminal), or None.

    `landing` is the folder's fingerprint now."""
    if not landing or not home.warehouse.exists():
        return None
    with connect(home.warehouse) as con:
        con.execute(_TABLE)
        last = con.execute(
            """
            select run_id, landing_fingerprint from ops.completed_runs
            order by finished_at desc limit 1
            """
        ).fetchall()
        if not last or last[0][1] != landing:
            return None
        current = up_to_date(
            con, build_fingerprint(home.engine), serving_published_at(home.serving)
        )
    if current is None:
        return None
    return (
        f"nothing new: the landing folder holds the files run {last[0][0][:8]} found, and the "
        "marts and serving are current, so nothing ran (`omsi run --full-checks` runs every test"
        " anyway, `--full-refresh` rebuilds)"
    )
