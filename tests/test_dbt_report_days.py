"""The dashboards' daily aggregates, rebuilt by report day
(`dbt_project/macros/marts/incremental_report_days.sql`), when orders change day.

Every event of the last day's orders lands a delivery before their placements (another system's
file came first). Until the placements land, the orders' shipments, allocations and returns
count on their own days under 'unknown', some of them on days after the last placement day,
where nothing else counts. When the placements land, the incremental build must move those rows
to the placement day and leave those later days empty, as a full refresh does.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import orjson
import pytest

from pipelines.simulator import generate
from tests.test_dbt_marts import DAILY_AGGREGATES
from tests.world_builds import build, rewrite_events

pytestmark = pytest.mark.slow

# The aggregates and what they are built from (seeds too), without tests: the rest of the
# project is not needed here.
BUILD = [
    "build",
    "--select",
    *(f"+{name}" for name in DAILY_AGGREGATES),
    "--exclude",
    "resource_type:test",
    "resource_type:unit_test",
]


def _rows(wh: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(wh), read_only=True) as con:
        return {
            name: con.execute(
                f"select * exclude (_built_through_batch) from marts.{name} order by all"
            ).fetchall()
            for name in DAILY_AGGREGATES
        }


def _days_only_unknown(wh: Path) -> list[str]:
    """Report days of agg_shipments_daily with rows of orders whose placement has not landed
    and no other row."""
    with duckdb.connect(str(wh), read_only=True) as con:
        return [
            str(day)
            for (day,) in con.execute(
                """
                select report_date from marts.agg_shipments_daily group by report_date
                having bool_and(channel = 'unknown') order by report_date
                """
            ).fetchall()
        ]


def test_orders_placed_late_move_to_their_placement_day(tmp_path: Path) -> None:
    world = tmp_path / "world"
    generate(world, orders=300, days=10, seed=5)
    placed_on = [
        event["occurred_at"][:10]
        for path in (world / "events").iterdir()
        for line in path.read_bytes().splitlines()
        if (event := orjson.loads(line))["event_type"] == "order.placed"
    ]
    last_day = max(placed_on)
    held: list[bytes] = []

    def hold_back_last_placements(event: dict) -> dict | None:
        if event["event_type"] == "order.placed" and event["occurred_at"][:10] == last_day:
            held.append(orjson.dumps(event))
            return None
        return event

    landing, wh = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    rewrite_events(world, landing, hold_back_last_placements)
    build(landing, wh, tmp_path / "first", BUILD)
    orphan_days = _days_only_unknown(wh)
    assert held and orphan_days and max(orphan_days) > last_day

    (landing / "events" / "placements-sent-late.jsonl").write_bytes(b"\n".join(held) + b"\n")
    build(landing, wh, tmp_path / "incremental", BUILD)
    incremental = _rows(wh)
    assert _days_only_unknown(wh) == []
    # Not a rebuild of everything: the days before the last one kept their first build's rows.
    with duckdb.connect(str(wh), read_only=True) as con:
        (kept_days,) = con.execute(
            """
            select count(distinct report_date) from marts.agg_shipments_daily
            where _built_through_batch < (select max(_built_through_batch) from marts.agg_shipments_daily)
            """
        ).fetchone()
    assert kept_days > 3

    build(landing, wh, tmp_path / "full", [*BUILD, "--full-refresh"])
    full = _rows(wh)
    for name in DAILY_AGGREGATES:
        assert full[name], f"{name} is empty"
        assert incremental[name] == full[name], name
