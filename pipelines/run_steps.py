"""Where an `omsi run` spent its time: a wall time per step that add up to the run's total.

Steps are named as a person thinks of the run, not by Dagster's step keys, and each comes from
the most direct record there is: Dagster's start and end of each step; inside the ingest step,
the batch checks' own timing (the step's materialization metadata); inside the dbt step, dbt's
own record of its models and tests (run_results.json, kept in ops.dbt_builds). The rest of the
dbt step (dbt starting up and parsing, its work between nodes, Dagster handling its events) is
`dbt other`; what lies outside every step (Dagster starting up, loading the definitions, handing
over between steps) is `dagster and other`. Recorded in ops.run_steps, keyed by the Dagster run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import duckdb

from pipelines.dbt.builds import BuildTimes

INGEST, CHECKS = "ingest", "batch checks"
DBT_MODELS, DBT_TESTS, DBT_OTHER = "dbt models", "dbt tests", "dbt other"
OTHER = "dagster and other"
# The order they are printed and stored in: the order a run goes through them.
STEPS = (
    INGEST,
    CHECKS,
    "lake",
    DBT_MODELS,
    DBT_TESTS,
    DBT_OTHER,
    "training",
    "scoring",
    "feed",
    "serving",
    OTHER,
)

_TABLE = """
create schema if not exists ops;
create table if not exists ops.run_steps (
    run_id varchar not null,          -- the Dagster run (`make dev` shows it)
    position integer not null,        -- the order `omsi run` prints the steps in
    step varchar not null,            -- one of pipelines.run_steps.STEPS
    seconds double not null,          -- wall time; a run's steps add up to its total
    recorded_at timestamp not null,
    primary key (run_id, step)
);
"""


@dataclass(frozen=True)
class StepTime:
    step: str
    seconds: float


def step_line(step_key: str) -> str:
    """The step a Dagster step's time counts under (the part of it no finer record covers)."""
    if step_key == "raw_tables":
        return INGEST
    if step_key == "dbt_models":
        return DBT_OTHER
    if step_key.startswith("ml__"):
        return "training" if step_key.endswith("_model") else "scoring"
    for line in ("lake", "feed", "serving"):
        if step_key.startswith(line):
            return line
    return OTHER


def split_run(
    total: float,
    step_seconds: Mapping[str, float],
    *,
    checks: float = 0.0,
    dbt: BuildTimes | None = None,
) -> list[StepTime]:
    """The run's `total` wall time by step, in STEPS order, adding up to `total`.

    `step_seconds` holds each Dagster step's wall time by step key; `checks` is how long the
    ingest step spent on the batch's checks, `dbt` the dbt build's own times (None when the
    run built nothing). Those parts come off their step's time. A step that did not run in
    this run (the feed, usually) has no line.
    """
    seconds = dict.fromkeys([INGEST, CHECKS, DBT_MODELS, DBT_TESTS, DBT_OTHER], 0.0)
    for key, wall in step_seconds.items():
        line = step_line(key)
        seconds[line] = seconds.get(line, 0.0) + wall
    seconds[INGEST] -= checks
    seconds[CHECKS] = checks
    if dbt is not None:
        seconds[DBT_OTHER] -= dbt.models + dbt.tests
        seconds[DBT_MODELS], seconds[DBT_TESTS] = dbt.models, dbt.tests
    seconds[OTHER] = total - sum(step_seconds.values()) + seconds.get(OTHER, 0.0)
    return [StepTime(step, seconds[step]) for step in STEPS if step in seconds]


def record_steps(con: duckdb.DuckDBPyConnection, run_id: str, steps: Iterable[StepTime]) -> None:
    con.execute(_TABLE)
    con.executemany(
        "insert or replace into ops.run_steps values (?, ?, ?, ?, now()::timestamp)",
        [[run_id, STEPS.index(s.step), s.step, s.seconds] for s in steps],
    )


def recorded_steps(con: duckdb.DuckDBPyConnection, run_id: str) -> list[StepTime]:
    if not con.execute(
        "select 1 from information_schema.tables "
        "where table_schema = 'ops' and table_name = 'run_steps'"
    ).fetchall():
        return []
    rows = con.execute(
        "select step, seconds from ops.run_steps where run_id = ? order by position", [run_id]
    ).fetchall()
    return [StepTime(step, seconds) for step, seconds in rows]


def describe(run_id: str, steps: list[StepTime]) -> str:
    """The table `omsi run` ends with: each step's wall time and share, then the total."""
    total = sum(s.seconds for s in steps)
    lines = [f"where the time went (Dagster run {run_id[:8]}):"]
    for s in steps:
        share = f"{s.seconds / total:4.0%}" if total > 0 else ""
        lines.append(f"  {s.step:<18} {s.seconds:8.1f} s {share}")
    lines.append(f"  {'total':<18} {total:8.1f} s")
    return "\n".join(lines)
