"""A small synthetic warehouse for the routing feed's sink tests.

Why synthetic: the sink tests (atomicity, retries, signatures, crash recovery) test the feed's
own delivery logic, which must hold for any scores; they need many distinct snapshots quickly,
and the `ml` score tables are being built on another branch (issue 9). So this module creates
the score tables with exactly the columns of that contract (docs/routing-feed.md lists them)
and the few mart columns node scores read, filled with plausible random values. The tests that
compare the feed with real scores run on a real build (tests/test_feed_end_to_end.py).
"""

from __future__ import annotations

import base64
import random
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines import warehouse
from pipelines.settings import OmsiHome

NODE_TYPES = ("dc", "store", "dropship", "3pl")
ACTIONS = ("expedite", "reroute", "notify_customer", "none")
FACTORS = ("promise_slack_hours", "node_backlog", "carrier_late_rate", "distance_km", "peak_day")


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple]) -> None:
    """Insert many rows at once (executemany goes row by row, seconds for a few thousand)."""
    names = [r[0] for r in con.execute(f"describe {table}").fetchall()]
    frame = pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)})  # noqa: F841
    con.execute(f"insert into {table} select * from frame")


def build_synthetic_warehouse(
    home: OmsiHome, *, nodes: int = 8, orders: int = 400, skus: int = 60, seed: int = 1
) -> Path:
    """Write `home.warehouse` with marts and ml tables; returns its path."""
    home.ensure()
    path = home.warehouse
    path.unlink(missing_ok=True)
    rng = random.Random(seed)
    now = datetime(2024, 10, 10, 12, 0, 0)
    node_ids = [f"N{i:03d}" for i in range(nodes)]
    node_type = {n: NODE_TYPES[i % len(NODE_TYPES)] for i, n in enumerate(node_ids)}
    # The warehouse's own connect() creates the raw tables, so `omsi status` reads it as usual.
    with warehouse.connect(path) as con:
        for schema in ("marts", "ml"):
            con.execute(f"create schema {schema}")
        con.execute(
            """
            create table marts.dim_nodes (node_id varchar, node_type varchar,
                daily_capacity_units integer)
            """
        )
        _insert(
            con,
            "marts.dim_nodes",
            [(n, node_type[n], None if node_type[n] == "dropship" else 500) for n in node_ids],
        )
        con.execute(
            """
            create table marts.cost_model (component varchar, applies_to varchar,
                rate decimal(18, 4), basis varchar, description varchar)
            """
        )
        con.execute(
            """
            insert into marts.cost_model values
                ('late_order', 'all', 25.00, 'per_order', 'late'),
                ('reallocation', 'all', 4.00, 'per_reallocation', 'reallocation')
            """
        )
        con.execute("create table marts.fct_orders (order_id varchar, currency varchar)")
        con.execute(
            "insert into marts.fct_orders select 'O' || i, 'USD' from range(?) t(i)", [orders]
        )
        con.execute(
            """
            create table marts.fct_allocations (node_id varchar, allocated_at timestamp,
                allocated_quantity integer, outcome varchar)
            """
        )
        _insert(
            con,
            "marts.fct_allocations",
            [
                (
                    rng.choice(node_ids),
                    now - timedelta(hours=rng.uniform(0, 24 * 30)),
                    rng.randint(1, 3),
                    rng.choices(["shipped", "rejected", "open"], [0.85, 0.1, 0.05])[0],
                )
                for _ in range(orders * 2)
            ],
        )
        con.execute(
            """
            create table marts.fct_shipments (node_id varchar, shipped_at timestamp,
                is_late boolean)
            """
        )
        _insert(
            con,
            "marts.fct_shipments",
            [
                (
                    rng.choice(node_ids),
                    now - timedelta(hours=rng.uniform(0, 24 * 30)),
                    rng.random() < 0.1,
                )
                for _ in range(orders)
            ],
        )
        con.execute(
            """
            create table ml.delivery_risk_scores (
                order_id varchar, scored_at timestamp, model_version varchar, p_late double,
                node_id varchar, node_type varchar, carrier varchar, service_level varchar,
                promised_by timestamp, factor_1 varchar, factor_2 varchar, factor_3 varchar,
                contribution_1 double, contribution_2 double, contribution_3 double,
                suggested_action varchar)
            """
        )
        con.execute(
            """
            create table ml.inventory_risk_scores (
                node_id varchar, sku varchar, scored_at timestamp, model_version varchar,
                p_inaccurate double, risk_rank integer, on_hand integer,
                available_to_promise integer, suggested_buffer_units integer,
                buffer_confidence double, adjusted_available_to_promise integer)
            """
        )
    rescore(home, seed=seed, orders=orders, skus=skus)
    return path


def rescore(home: OmsiHome, *, seed: int, orders: int = 400, skus: int = 60) -> None:
    """Replace the score tables with a new scoring run, as the ml assets would: new values,
    a new `scored_at`, and some orders leaving (delivered) so rows disappear."""
    rng = random.Random(seed)
    scored_at = datetime(2026, 12, 1, 20, 0, 0) + timedelta(minutes=seed)
    with duckdb.connect(str(home.warehouse)) as con:
        con.execute("set TimeZone = 'UTC'")
        node_ids = [r[0] for r in con.execute("select node_id from marts.dim_nodes").fetchall()]
        types = dict(con.execute("select node_id, node_type from marts.dim_nodes").fetchall())
        con.execute("delete from ml.delivery_risk_scores")
        rows = []
        for i in range(orders):
            if rng.random() < 0.25:
                continue  # this order is no longer open in this scoring run
            node = rng.choice(node_ids)
            factors = rng.sample(FACTORS, 3)
            rows.append(
                (
                    f"O{i}",
                    scored_at,
                    f"delivery-20261201T2000{seed % 60:02d}-ab12cd34",
                    rng.random(),
                    node,
                    types[node],
                    rng.choice(["UPS", "FDX", "USPS"]),
                    rng.choice(["standard", "express"]),
                    datetime(2024, 10, 12) + timedelta(hours=rng.randint(0, 96)),
                    *factors,
                    rng.uniform(-2, 2),
                    rng.uniform(-1, 1),
                    rng.uniform(-0.5, 0.5),
                    rng.choice(ACTIONS),
                )
            )
        _insert(
            con,
            "ml.delivery_risk_scores",
            rows,
        )
        con.execute("delete from ml.inventory_risk_scores")
        stock = []
        for node in node_ids[: max(1, len(node_ids) - 1)]:
            for s in range(skus):
                if rng.random() < 0.2:
                    continue
                on_hand = rng.randint(0, 40)
                atp = max(on_hand - rng.randint(0, 5), 0)
                buffer = rng.randint(0, 3)
                stock.append(
                    (
                        node,
                        f"SKU{s:04d}",
                        scored_at,
                        f"inventory-20261201T2000{seed % 60:02d}-cd34ef56",
                        rng.random(),
                        0,
                        on_hand,
                        atp,
                        buffer,
                        0.95,
                        max(atp - buffer, 0),
                    )
                )
        _insert(con, "ml.inventory_risk_scores", stock)
        con.execute(
            """
            update ml.inventory_risk_scores as t set risk_rank = r.rank
            from (select node_id, sku, row_number() over (order by p_inaccurate desc, node_id, sku)
                  as rank from ml.inventory_risk_scores) as r
            where t.node_id = r.node_id and t.sku = r.sku
            """
        )


# -- services the feed tests use --------------------------------------------------------------

PG_DSN_ENV = "OMSI_TEST_PG_DSN"
DEFAULT_PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"
# A real secret's shape: whsec_ + base64 of 32 random bytes (the spec allows 24 to 64).
TEST_SECRET = "whsec_" + base64.b64encode(b"omsi-feed-test-secret-32-bytes!!").decode()


def pg_dsn() -> str:
    """The test PostgreSQL server, or a skip saying what to start."""
    import os

    import psycopg
    import pytest

    dsn = os.environ.get(PG_DSN_ENV, DEFAULT_PG_DSN)
    try:
        with psycopg.connect(dsn, connect_timeout=3) as conn:
            conn.execute("select 1")
    except psycopg.OperationalError as exc:
        pytest.skip(
            f"PostgreSQL is not reachable at {PG_DSN_ENV}={dsn} ({str(exc).strip()[:120]}): "
            "start a server (e.g. `pg_ctlcluster 15 main start`) or point "
            f"{PG_DSN_ENV} at one"
        )
    return dsn


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def promote_newest_and_score(home: OmsiHome) -> None:
    """A small world can leave a model below its gates, so that nothing is scored: promote the
    newest version of each model with none promoted, by hand, and score, so that the feed is
    tested on real scores."""
    from models.registry import Registry
    from pipelines.ml.scoring_run import score_all

    registry = Registry(home.models)
    for model in ("delivery", "inventory"):
        if registry.promoted(model) is None:
            registry.promote(registry.versions(model)[-1], {"test": "by hand"})
    with warehouse.connect(home.warehouse) as con:
        score_all(con, registry)
