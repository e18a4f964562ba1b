"""The serving snapshot after an incremental run: brought up to date in part, equal to a whole copy.

Two real `omsi run`s (Dagster in-process, dbt, DuckDB files) on a simulated world: the second
delivers the last day and a day from the middle of the first one's, late, so that the second
run's snapshot starts from the first one's and replaces only what the build rewrote: the rows of
the orders with new events, and the stock positions of every day from the late day on, days the
old snapshot holds.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines.runner import run_refresh
from pipelines.serving import publish_snapshot
from pipelines.serving.snapshot import WRITE_ORDER
from pipelines.settings import OmsiHome
from pipelines.simulator import generate
from tests.snapshot_tables import differing_rows

pytestmark = pytest.mark.slow

# Day files held back for the second run: one from the middle, and the last.
HELD_BACK = (9, -1)


def _serving_metadata(result) -> list[str]:
    return [
        e.materialization.metadata["order_facts"].value
        for e in result.get_asset_materialization_events()
        if e.asset_key.path == ["serving", "snapshot"]
    ]


def _rows_out_of_write_order(serving: Path) -> dict[str, int]:
    """Per table written in an order, the rows that sort before the row stored before them."""
    with duckdb.connect(str(serving), read_only=True) as con:
        return {
            name: con.execute(
                f"select count(*) from (select row({order}) as key,"
                f" lag(row({order})) over (order by rowid) as before from {name})"
                " where before > key"
            ).fetchall()[0][0]
            for name, order in WRITE_ORDER.items()
        }


def test_an_incremental_snapshot_equals_one_copied_whole(tmp_path: Path) -> None:
    world = tmp_path / "world"
    generate(world, orders=1500, days=20, seed=23, bad_rate=0.01)
    home = OmsiHome(tmp_path / "home").ensure()
    shutil.copytree(world / "reference", home.landing / "reference")
    (home.landing / "events").mkdir()
    events = sorted((world / "events").iterdir())
    held_back = [events[i] for i in HELD_BACK]
    for path in events:
        if path not in held_back:
            shutil.copy2(path, home.landing / "events" / path.name)
    messages: list[str] = []
    first = run_refresh(home, progress=messages.append)
    assert first.success, "\n".join(messages[-40:])
    assert _serving_metadata(first) == ["every table whole"]
    # Copied whole, the tables a later run replaces in part are written in the order it replaces
    # them: no row follows one that sorts after it.
    assert _rows_out_of_write_order(home.serving) == dict.fromkeys(WRITE_ORDER, 0)
    with duckdb.connect(str(home.serving), read_only=True) as con:
        (positions_before,) = con.execute(
            "select count(*) from fct_inventory_positions"
        ).fetchall()[0]

    for path in held_back:
        shutil.copy2(path, home.landing / "events" / path.name)
    second = run_refresh(home, progress=messages.append)
    assert second.success, "\n".join(messages[-40:])
    (said,) = _serving_metadata(second)
    changed = int(said.removeprefix("changed orders: ").replace(",", ""))
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        (orders,) = con.execute("select count(*) from marts.fct_orders").fetchall()[0]
        (kept, rewritten) = con.execute(
            """
            select count(*) filter (where _built_through_batch < newest),
                count(*) filter (where _built_through_batch = newest)
            from (
                select _built_through_batch, max(_built_through_batch) over () as newest
                from marts.fct_inventory_positions
            )
            """
        ).fetchall()[0]
    # The second run changed some orders and some days, not all of them.
    assert 0 < changed < orders
    assert kept > 0 and rewritten > 0
    with duckdb.connect(str(home.serving), read_only=True) as con:
        (positions_after,) = con.execute("select count(*) from fct_inventory_positions").fetchall()[
            0
        ]
    assert positions_after > positions_before

    publish_snapshot(home.warehouse, tmp_path / "whole.duckdb", whole=True)
    differing = differing_rows(home.serving, tmp_path / "whole.duckdb")
    assert {"fct_orders", "fct_order_stages", "fct_inventory_positions", "agg_orders_daily"} <= set(
        differing
    )
    assert not any(differing.values()), differing
