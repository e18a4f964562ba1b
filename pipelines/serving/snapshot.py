"""Write a complete serving database beside the old one, then rename it into place.

Dashboards open serving.duckdb read-only. Because the new file is finished and checkpointed
before the rename, a reader sees either the old snapshot or the new one, never a half-written
state, and a dashboard holding the old file open never blocks the pipeline.

After an incremental build the new file starts as a copy of the old one. The order facts and
the dashboards' relations built from them order by order change only for the orders with events
in batches the old snapshot had not seen, the stock positions only on the days the build
rewrote, and the daily aggregates from the first day it rewrote on; every other table is copied
whole. On 1,000,000 orders the order facts were half of the snapshot's time.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import NamedTuple

import duckdb

from pipelines.warehouse import MEMORY_LIMIT

# Raw tables the Data intake page reads as they are; its aggregates (events per type,
# quarantine per reason, a sample per reason) are dbt models in marts, copied with the rest.
SERVING_TABLES: dict[str, str] = {
    "ingest_batches": "select * from wh.raw.ingest_batches",
    "ingest_files": "select * from wh.raw.ingest_files",
    # Fields inside `data` the contract does not know, per batch (pipelines/ingest/schema_drift.py).
    "schema_drift": "select * from wh.raw.schema_drift",
}


# The model's feature tables and the shadow replay's inputs stay in the warehouse: serving
# carries what people read (the replay's decisions through marts.fct_shadow_routing).
_ML_INTERNAL = (
    "ml_allocation_spans",
    "ml_delivery_features",
    "ml_inventory_features",
    "ml_node_days",
    "ml_order_areas",
    "ml_routing_penalties",
    "ml_shadow_candidates",
    "ml_shipment_outcomes",
    "shadow_routing_decisions",
)
# The pipeline's own record that Data health reads: which batch the marts were built through,
# and when.
_OPS_PUBLISHED = ("dbt_builds",)


def _published_tables(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    """Tables and views of a warehouse schema that serving copies as they are."""
    return [
        row[0]
        for row in con.execute(
            """
            select table_name from information_schema.tables
            where table_catalog = 'wh' and table_schema = ? order by table_name
            """,
            [schema],
        ).fetchall()
    ]


# Order facts the warehouse builds incrementally by order (delete+insert by order_id): a build
# rewrites exactly the orders with events in new batches, from all of their events. With them,
# the dashboards' row-level relations that are computed order by order from those facts alone
# (no as-of instant, no other order's rows), so that their rows change with their order's.
# Every one carries its order's `_max_batch_id`.
BY_ORDER = (
    "fct_allocations",
    "fct_cost_to_serve",
    "fct_order_lines",
    "fct_orders",
    "fct_returns",
    "fct_shipments",
    "dim_order_filters",
    "fct_dashboard_allocations",
    "fct_dashboard_order_funnel",
    "fct_dashboard_returns",
    "fct_dashboard_shipments",
    "fct_order_cost_drivers",
    "fct_order_stages",
)
# Tables an incremental build rewrites in part, with the key it replaces rows by: the rows whose
# `_built_through_batch` is newer than the old snapshot's marts replace the rows of their keys.
BY_KEY = {"fct_inventory_positions": ("node_id", "sku", "position_date")}
# The dashboards' daily aggregates an incremental build rewrites by report day: every day from
# the first event of the orders with new events on (dbt_project/macros/marts/
# incremental_report_days.sql), a day possibly left with no row. The same first day, worked out
# from the orders changed since the old snapshot, covers the days of every build since.
BY_REPORT_DAY = (
    "agg_allocations_daily",
    "agg_category_returns_daily",
    "agg_orders_daily",
    "agg_return_reasons_daily",
    "agg_shipments_daily",
)
_CARRIED = {*BY_ORDER, *BY_KEY, *BY_REPORT_DAY}
# The order a table copied whole is written in, so that the rows a later run replaces sit
# together in a few row groups: the orders a new batch touches are the ones whose last change is
# recent, the positions and report days the last ones. Rows the warehouse wrote in no useful
# order left an hourly run deleting a few rows from nearly every row group, and its commit
# rewriting them (1,000,000 orders, one new day: 4.7-4.9 s a snapshot, 3.4-3.8 s written in
# this order; sorting adds about 5 s to a whole copy of 16-22 s). Order ids break ties: most
# systems number orders as they come.
WRITE_ORDER = (
    dict.fromkeys(BY_ORDER, "_max_batch_id, order_id")
    | {"fct_inventory_positions": "position_date, node_id, sku"}
    | dict.fromkeys(BY_REPORT_DAY, "report_date")
)


def _carried_through(warehouse: Path, serving: Path) -> int | None:
    """The batch the current snapshot's marts were built through, when the warehouse's order
    facts have changed since only by incremental builds; None: copy every table whole.

    An incremental build whose tests read only new rows (`tests_after_batch`) ran with the
    project unchanged and no new reference file, so it rewrote only the orders with new events;
    a full build, a full check (the nightly run, which so also compacts the file) or a new
    project rewrites everything."""
    if not serving.exists():
        return None
    with duckdb.connect() as con:
        con.execute(f"attach '{serving}' as old (read_only)")
        con.execute(f"attach '{warehouse}' as wh (read_only)")
        tables = {
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_catalog = 'old'"
            ).fetchall()
        }
        if not {"serving_manifest", *_CARRIED} <= tables:
            return None
        columns = {
            name
            for (name,) in con.execute(
                "select column_name from information_schema.columns"
                " where table_catalog = 'old' and table_name = 'serving_manifest'"
            ).fetchall()
        }
        if "marts_through_batch_id" not in columns:  # a snapshot from before this was kept
            return None
        (through,) = con.execute(
            "select marts_through_batch_id from old.serving_manifest"
        ).fetchall()[0]
        if through is None:  # published before the first build
            return None
        (rewritten,) = con.execute(
            """
            select count(*) from wh.ops.dbt_builds
            where through_batch_id > $through and (full_refresh or tests_after_batch is null)
            """,
            {"through": through},
        ).fetchall()[0]
    return None if rewritten else through


def _replace_changed_rows(
    con: duckdb.DuckDBPyConnection, queries: dict[str, str], through: int
) -> int:
    """Bring the copied tables that change in part up to date: the rows of orders with newer
    events, the keys rewritten since and the report days from the first rewritten one on,
    replaced. Returns how many orders changed."""
    con.execute(
        """
        create temp table changed_orders as
        select distinct order_id from wh.raw.events
        where batch_id > $through and order_id is not null
        """,
        {"through": through},
    )
    for name in BY_ORDER:
        con.execute(
            f"delete from main.{name} where order_id in (select order_id from changed_orders)"
        )
        # A table's rows of those orders are the ones whose newest batch is newer: the same rows,
        # read by a filter DuckDB prunes with each row group's min and max (a build appends
        # the rows it rewrites), where the list of orders made it scan every row (half the
        # time). The dashboards' views carry their fact's column, and the filter reaches its scan.
        con.execute(
            f"insert into main.{name} by name select * from ({queries[name]})"
            f" where _max_batch_id > {int(through)}"
        )
    for name, key in BY_KEY.items():
        con.execute(
            f"create temp table rewritten as select * from ({queries[name]})"
            " where _built_through_batch > $through",
            {"through": through},
        )
        matches = " and ".join(f"main.{name}.{column} = rewritten.{column}" for column in key)
        con.execute(f"delete from main.{name} using rewritten where {matches}")
        con.execute(f"insert into main.{name} by name select * from rewritten")
        con.execute("drop table rewritten")
    # An order's first event is never later than any of its report days, then or now.
    (first_day,) = con.execute(
        """
        select cast(min(first_event_at) as date) from wh.intermediate.int_order_batches
        where _max_batch_id > $through
        """,
        {"through": through},
    ).fetchall()[0]
    if first_day is not None:  # otherwise no order changed, and no day
        for name in BY_REPORT_DAY:
            con.execute(f"delete from main.{name} where report_date >= $day", {"day": first_day})
            con.execute(
                f"insert into main.{name} by name select * from ({queries[name]})"
                " where report_date >= $day",
                {"day": first_day},
            )
    return con.execute("select count(*) from changed_orders").fetchall()[0][0]


class Published(NamedTuple):
    counts: dict[str, int]  # rows of every table
    changed_orders: int | None  # orders whose facts were replaced; None: every table copied whole


def publish_snapshot(warehouse: Path, serving: Path, *, whole: bool = False) -> Published:
    """Build serving.duckdb from the warehouse. `whole`: copy every table, even when the old
    snapshot's order facts could be brought up to date."""
    tmp = serving.with_name(serving.name + ".tmp")
    tmp.unlink(missing_ok=True)
    through = None if whole else _carried_through(warehouse, serving)
    if through is not None:
        shutil.copyfile(serving, tmp)
    counts: dict[str, int] = {}
    con = duckdb.connect(str(tmp))
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute(f"set memory_limit = '{MEMORY_LIMIT}'")
        con.execute(f"attach '{warehouse}' as wh (read_only)")
        queries = dict(SERVING_TABLES)
        queries |= {
            name: f"select * from wh.marts.{name}" for name in _published_tables(con, "marts")
        }
        # Scores, metrics and backtests, once the risk models have run.
        queries |= {
            name: f"select * from wh.ml.{name}"
            for name in _published_tables(con, "ml")
            if name not in _ML_INTERNAL
        }
        queries |= {
            name: f"select * from wh.ops.{name}"
            for name in _published_tables(con, "ops")
            if name in _OPS_PUBLISHED
        }
        old = {
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables"
                " where table_catalog = current_database() and table_schema = 'main'"
            ).fetchall()
        }
        # One transaction: one write of the file at its end, not one per statement (0.2-0.8 s
        # of a one-day snapshot at 1,000,000 orders).
        con.execute("begin transaction")
        carried = _CARRIED if through is not None and _CARRIED.issubset(queries) else set()
        changed = _replace_changed_rows(con, queries, through) if carried else None
        for name in old - carried:
            con.execute(f"drop table main.{name}")
        for name, query in queries.items():
            if name not in carried:
                order = f" order by {WRITE_ORDER[name]}" if name in WRITE_ORDER else ""
                con.execute(f"create table main.{name} as {query}{order}")
            counts[name] = con.execute(f"select count(*) from main.{name}").fetchall()[0][0]
        batch = con.execute("select max(batch_id) from wh.raw.ingest_batches").fetchall()[0][0]
        # The newest batch the marts were built through: where the next snapshot's order facts
        # start from (null before the first build).
        marts = (
            con.execute("select max(through_batch_id) from wh.ops.dbt_builds").fetchall()[0][0]
            if "dbt_builds" in queries
            else None
        )
        con.execute(
            """
            create table main.serving_manifest as
            select now()::timestamp as built_at, $batch::bigint as warehouse_batch_id,
                $tables as tables, $marts::bigint as marts_through_batch_id
            """,
            {"batch": batch, "tables": ",".join(sorted(queries)), "marts": marts},
        )
        con.execute("commit")
        con.execute("detach wh")
        con.execute("checkpoint")
    finally:
        con.close()
    os.replace(tmp, serving)
    return Published(counts, changed)
