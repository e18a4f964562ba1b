"""dbt staging layer: build it over a small warehouse holding every event type, check the models.

One `dbt build` per module (module fixture); a second dbt invocation checks that broken raw data
fails the blocking source tests while a late-arriving event only warns.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.contract import EVENT_TYPES, event_validator
from tests.dbt_runner import run_dbt

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
RAW_TABLES_SQL = REPO / "pipelines" / "ingest" / "raw_tables.sql"
INGESTED_AT = datetime(2024, 5, 20, 0, 0)
BATCH_ID = 1


def _event(n: int, event_type: str, occurred_at: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_id": f"evt-{n:03d}",
        "event_type": event_type,
        "occurred_at": occurred_at,
        "source": "oms",
        "schema_version": 1,
        "data": data,
    }


def _lines(*pairs: tuple[str, int]) -> list[dict[str, Any]]:
    return [{"line_id": line_id, "quantity": quantity} for line_id, quantity in pairs]


ORDER_1_LINES = [
    {"line_id": "L1", "sku": "SKU-A", "quantity": 2, "unit_price": 10.5},
    {"line_id": "L2", "sku": "SKU-B", "quantity": 1, "unit_price": 99.99},
]
ORDER_2_LINES = [
    {"line_id": "L1", "sku": "SKU-C", "quantity": 3, "unit_price": 5.0},
    {"line_id": "L2", "sku": "SKU-A", "quantity": 1, "unit_price": 10.5},
    {"line_id": "L3", "sku": "SKU-B", "quantity": 4, "unit_price": 0},
]

EVENTS: list[dict[str, Any]] = [
    _event(
        1,
        "order.placed",
        "2024-05-01T10:00:00+02:00",
        {
            "order_id": "O1",
            "channel": "web",
            "customer_id": "C-1",
            "fulfillment_method": "delivery",
            "ship_to": {
                "postal_code": "10115",
                "region": "Berlin",
                "country": "DE",
                "lat": 52.53,
                "lon": 13.38,
            },
            "promised_by": "2024-05-03T18:00:00+02:00",
            "currency": "EUR",
            "lines": ORDER_1_LINES,
            "shipping_charged": 4.95,
            "gift_wrap": True,  # an unknown field: kept in raw, ignored by staging
        },
    ),
    _event(
        2,
        "order.placed",
        "2024-05-01T09:15:00Z",
        {
            "order_id": "O2",
            "channel": "app",
            "customer_id": "C-2",
            "fulfillment_method": "pickup",
            "pickup_node_id": "STORE1",
            "ship_to": {"postal_code": "20095", "region": "Hamburg", "country": "DE"},
            "promised_by": "2024-05-02t09:30:00.123456789z",
            "currency": "EUR",
            "lines": ORDER_2_LINES,
            "shipping_charged": 0,
        },
    ),
    _event(
        3,
        "order.payment_authorized",
        "2024-05-01T08:00:05Z",
        {"order_id": "O1", "amount": 125.94, "payment_method": "card"},
    ),
    _event(
        4, "order.payment_authorized", "2024-05-01T09:15:03Z", {"order_id": "O2", "amount": 30.5}
    ),
    _event(
        5,
        "order.line_allocated",
        "2024-05-01T08:01:00Z",
        {
            "order_id": "O1",
            "line_id": "L1",
            "node_id": "DC1",
            "quantity": 2,
            "carrier": "UPS",
            "service_level": "ground",
            "planned_ship_by": "2024-05-02T12:00:00-05:00",
            "estimated_ship_cost": 6.2,
            "attempt": 1,
        },
    ),
    _event(
        6,
        "order.line_allocated",
        "2024-05-01T08:01:00Z",
        {
            "order_id": "O1",
            "line_id": "L2",
            "node_id": "DS1",
            "quantity": 1,
            "carrier": "UPS",
            "service_level": "express",
            "planned_ship_by": "2024-05-02T12:00:00Z",
            "attempt": 1,
        },
    ),
    _event(
        7,
        "order.line_rejected",
        "2024-05-01T14:00:00Z",
        {"order_id": "O1", "line_id": "L2", "node_id": "DS1", "quantity": 1, "reason": "not_found"},
    ),
    _event(
        8,
        "order.line_allocated",
        "2024-05-01T14:05:00Z",
        {
            "order_id": "O1",
            "line_id": "L2",
            "node_id": "DC1",
            "quantity": 1,
            "carrier": "UPS",
            "service_level": "ground",
            "planned_ship_by": "2024-05-02T17:00:00Z",
            "estimated_ship_cost": None,
            "attempt": 2,
        },
    ),
    _event(
        9,
        "order.line_allocated",
        "2024-05-01T09:16:00Z",
        {
            "order_id": "O2",
            "line_id": "L1",
            "node_id": "STORE1",
            "quantity": 3,
            "carrier": "UPS",
            "service_level": "ground",
            "planned_ship_by": "2024-05-02T08:00:00+02:00",
            "attempt": 1,
        },
    ),
    _event(
        10,
        "order.line_backordered",
        "2024-05-01T09:16:00Z",
        {
            "order_id": "O2",
            "line_id": "L3",
            "quantity": 4,
            "expected_at": "2024-05-10T08:00:00+01:00",
        },
    ),
    _event(
        11,
        "order.line_backordered",
        "2024-05-01T09:16:00Z",
        {"order_id": "O2", "line_id": "L2", "quantity": 1},
    ),
    _event(
        12,
        "order.line_cancelled",
        "2024-05-03T09:00:00Z",
        {"order_id": "O2", "line_id": "L3", "quantity": 4, "reason": "out_of_stock"},
    ),
    _event(
        13,
        "shipment.packed",
        "2024-05-02T10:00:00Z",
        {
            "shipment_id": "SHP1",
            "order_id": "O1",
            "node_id": "DC1",
            "lines": _lines(("L1", 2), ("L2", 1)),
        },
    ),
    _event(
        14,
        "shipment.shipped",
        "2024-05-02T15:30:00+02:00",
        {
            "shipment_id": "SHP1",
            "order_id": "O1",
            "node_id": "DC1",
            "carrier": "UPS",
            "service_level": "ground",
            "tracking_number": "1Z999",
            "lines": _lines(("L1", 2), ("L2", 1)),
            "shipping_cost": 7.1,
            "weight_kg": 2.5,
        },
    ),
    _event(
        15,
        "shipment.exception",
        "2024-05-03T06:00:00Z",
        {"shipment_id": "SHP1", "order_id": "O1", "code": "delayed", "detail": "weather hold"},
    ),
    _event(
        16, "shipment.delivered", "2024-05-04T11:00:00Z", {"shipment_id": "SHP1", "order_id": "O1"}
    ),
    _event(17, "pickup.ready", "2024-05-02T07:00:00Z", {"order_id": "O2", "node_id": "STORE1"}),
    _event(18, "pickup.collected", "2024-05-02T17:45:00Z", {"order_id": "O2", "node_id": "STORE1"}),
    _event(
        19,
        "return.initiated",
        "2024-05-06T12:00:00Z",
        {
            "return_id": "R1",
            "order_id": "O1",
            "channel": "mail",
            "lines": [{"line_id": "L2", "quantity": 1, "reason": "defective"}],
        },
    ),
    _event(
        20,
        "return.received",
        "2024-05-09T12:00:00Z",
        {
            "return_id": "R1",
            "order_id": "O1",
            "node_id": "DC1",
            "lines": [{"line_id": "L2", "quantity": 1, "disposition": "refurbish"}],
            "return_shipping_cost": 5.0,
        },
    ),
    _event(
        21,
        "refund.issued",
        "2024-05-10T08:00:00Z",
        {"order_id": "O1", "return_id": "R1", "amount": 99.99, "reason": "defective"},
    ),
    _event(22, "refund.issued", "2024-05-03T10:00:00Z", {"order_id": "O2", "amount": 4.0}),
    _event(
        23,
        "service.contact",
        "2024-05-03T08:00:00Z",
        {"order_id": "O1", "contact_id": "CT1", "channel": "phone", "topic": "where_is_my_order"},
    ),
    _event(
        24,
        "service.contact",
        "2024-05-03T09:00:00Z",
        {"contact_id": "CT2", "channel": "email", "topic": "other"},
    ),
    _event(
        25,
        "stock.snapshot",
        "2024-05-01T00:00:00Z",
        {"node_id": "DC1", "sku": "SKU-A", "on_hand": 40, "reserved": 2, "in_transit": 5},
    ),
    _event(
        26,
        "stock.snapshot",
        "2024-05-01T00:00:00Z",
        {"node_id": "STORE1", "sku": "SKU-C", "on_hand": 3, "reserved": 3},
    ),
    _event(
        27,
        "stock.adjusted",
        "2024-05-02T10:00:00Z",
        {"node_id": "DC1", "sku": "SKU-A", "delta": -2, "reason": "sale"},
    ),
    _event(
        28,
        "stock.counted",
        "2024-05-05T06:00:00Z",
        {
            "node_id": "STORE1",
            "sku": "SKU-C",
            "count_id": "CNT1",
            "system_quantity": 3,
            "counted_quantity": 1,
        },
    ),
]

NODES = [
    ("DC1", "dc", "Central DC", "North", "DE", 52.5, 13.4, 5000, 0.35, date(2019, 1, 1)),
    ("STORE1", "store", "Hamburg Store", "North", "DE", 53.55, 9.99, 200, 0.9, None),
    ("DS1", "dropship", "Vendor X", "South", None, None, None, None, None, None),
]
SKUS = [
    ("SKU-A", "toys", 10.5, 4.0, 0.4, "A"),
    ("SKU-B", "garden", 99.99, None, None, None),
    ("SKU-C", "toys", 5.0, 2.0, 0.2, "C"),
]
CARRIERS = [("UPS", "ground", 3, 4.0, 0.5), ("UPS", "express", 1, 9.0, None)]

# model -> event types it holds, and whether it has one row per element of data.lines
EVENT_MODELS: dict[str, tuple[tuple[str, ...], bool]] = {
    "stg_oms__orders_placed": (("order.placed",), False),
    "stg_oms__order_lines": (("order.placed",), True),
    "stg_oms__payments": (("order.payment_authorized",), False),
    "stg_oms__line_allocations": (("order.line_allocated",), False),
    "stg_oms__line_rejections": (("order.line_rejected",), False),
    "stg_oms__line_backorders": (("order.line_backordered",), False),
    "stg_oms__line_cancellations": (("order.line_cancelled",), False),
    "stg_oms__shipments_packed": (("shipment.packed",), False),
    "stg_oms__shipment_lines_packed": (("shipment.packed",), True),
    "stg_oms__shipments_shipped": (("shipment.shipped",), False),
    "stg_oms__shipment_lines": (("shipment.shipped",), True),
    "stg_oms__shipment_deliveries": (("shipment.delivered",), False),
    "stg_oms__shipment_exceptions": (("shipment.exception",), False),
    "stg_oms__pickups": (("pickup.ready", "pickup.collected"), False),
    "stg_oms__returns_initiated": (("return.initiated",), False),
    "stg_oms__return_lines_initiated": (("return.initiated",), True),
    "stg_oms__returns_received": (("return.received",), False),
    "stg_oms__return_lines_received": (("return.received",), True),
    "stg_oms__refunds": (("refund.issued",), False),
    "stg_oms__service_contacts": (("service.contact",), False),
    "stg_oms__stock_snapshots": (("stock.snapshot",), False),
    "stg_oms__stock_adjustments": (("stock.adjusted",), False),
    "stg_oms__stock_counts": (("stock.counted",), False),
}
REFERENCE_MODELS = {
    "stg_reference__nodes": len(NODES),
    "stg_reference__skus": len(SKUS),
    "stg_reference__carriers": len(CARRIERS),
}
# the column each event model gives occurred_at, named for what happened
OCCURRED_AT_COLUMN = {
    "stg_oms__orders_placed": "placed_at",
    "stg_oms__payments": "authorized_at",
    "stg_oms__line_allocations": "allocated_at",
    "stg_oms__line_rejections": "rejected_at",
    "stg_oms__line_backorders": "backordered_at",
    "stg_oms__line_cancellations": "cancelled_at",
    "stg_oms__shipments_packed": "packed_at",
    "stg_oms__shipments_shipped": "shipped_at",
    "stg_oms__shipment_deliveries": "delivered_at",
    "stg_oms__shipment_exceptions": "reported_at",
    "stg_oms__pickups": "status_changed_at",
    "stg_oms__returns_initiated": "initiated_at",
    "stg_oms__returns_received": "received_at",
    "stg_oms__refunds": "issued_at",
    "stg_oms__service_contacts": "contacted_at",
    "stg_oms__stock_snapshots": "snapshot_at",
    "stg_oms__stock_adjustments": "adjusted_at",
    "stg_oms__stock_counts": "counted_at",
}


def _utc(text: str) -> datetime:
    """RFC 3339 text to a naive UTC datetime (Python keeps microseconds, like the warehouse)."""
    text = text.upper()
    main, _, rest = text.partition(".")
    if rest:  # fromisoformat takes at most 6 fractional digits: truncate as DuckDB does
        digits = "".join(c for c in rest if c.isdigit())
        text = f"{main}.{digits[:6]}{rest[len(digits) :]}"
    return datetime.fromisoformat(text).astimezone(UTC).replace(tzinfo=None)


def _insert_event(
    con: duckdb.DuckDBPyConnection, event: dict[str, Any], line_no: int, batch_id: int = BATCH_ID
) -> None:
    data_json = json.dumps(event["data"])
    con.execute(
        "insert into raw.events values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            event["event_id"],
            event["event_type"],
            _utc(event["occurred_at"]),
            event["source"],
            event["schema_version"],
            event["data"].get("order_id"),
            data_json,
            # content_hash is a 64-bit hash; any stable one serves a hand-made warehouse.
            int.from_bytes(hashlib.sha256(data_json.encode()).digest()[:8], "big"),
            "events.jsonl",
            line_no,
            batch_id,
            INGESTED_AT,
        ],
    )


def _make_warehouse(path: Path) -> None:
    validator = event_validator()
    for event in EVENTS:
        errors = [e.message for e in validator.iter_errors(event)]
        assert not errors, f"test event {event['event_id']} breaks the contract: {errors}"
    con = duckdb.connect(str(path))
    try:
        con.execute(RAW_TABLES_SQL.read_text())
        for line_no, event in enumerate(EVENTS, start=1):
            _insert_event(con, event, line_no)
        for row in NODES:
            con.execute(
                "insert into raw.nodes values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'nodes.csv', 1, ?)",
                [*row, BATCH_ID],
            )
        for row in SKUS:
            con.execute(
                "insert into raw.skus values (?, ?, ?, ?, ?, ?, 'skus.csv', 1, ?)", [*row, BATCH_ID]
            )
        for row in CARRIERS:
            con.execute(
                "insert into raw.carriers values (?, ?, ?, ?, ?, 'carriers.csv', 1, ?)",
                [*row, BATCH_ID],
            )
        con.execute(
            "insert into raw.ingest_files (batch_id, file, kind, sha256, size_bytes, lines_read, landed, duplicates, quarantined, seconds, ingested_at) "
            "values (?, 'events.jsonl', 'events', 'x', 1, ?, ?, 1, 1, 0.1, ?)",
            [BATCH_ID, len(EVENTS) + 2, len(EVENTS), INGESTED_AT],
        )
    finally:
        con.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("dbt_staging")
    warehouse = root / "warehouse.duckdb"
    _make_warehouse(warehouse)
    code, output, statuses = run_dbt(["build"], warehouse, root / "build")
    return {
        "root": root,
        "warehouse": warehouse,
        "code": code,
        "output": output,
        "statuses": statuses,
    }


@pytest.fixture(scope="module")
def con(built: dict[str, Any]) -> Iterator[duckdb.DuckDBPyConnection]:
    assert built["code"] == 0, built["output"][-5000:]
    connection = duckdb.connect(str(built["warehouse"]), read_only=True)
    yield connection
    connection.close()


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    return con.execute(sql).fetchall()


def test_build_passes_every_model_and_test_without_warnings(built: dict[str, Any]) -> None:
    assert built["code"] == 0, built["output"][-5000:]
    statuses = built["statuses"]
    models = {uid.split(".")[-1] for uid in statuses if uid.startswith("model.")}
    staging = {name for name in models if name.startswith("stg_")}
    assert staging == set(EVENT_MODELS) | set(REFERENCE_MODELS)
    # The marts build over this small world too; tests/test_dbt_marts.py checks their content.
    assert {"fct_orders", "kpi_daily"} <= models
    not_clean = {uid: s for uid, s in statuses.items() if s not in ("success", "pass")}
    assert not not_clean, f"clean data should pass every test, also the warn ones: {not_clean}"
    assert sum(uid.startswith("test.") for uid in statuses) > len(statuses) / 2


def test_every_event_type_has_a_staging_model() -> None:
    covered = {t for types, _ in EVENT_MODELS.values() for t in types}
    assert covered == set(EVENT_TYPES)
    assert {e["event_type"] for e in EVENTS} == set(EVENT_TYPES)


@pytest.mark.parametrize("model", sorted(EVENT_MODELS))
def test_event_model_row_count(con: duckdb.DuckDBPyConnection, model: str) -> None:
    types, per_line = EVENT_MODELS[model]
    chosen = [e for e in EVENTS if e["event_type"] in types]
    expected = sum(len(e["data"]["lines"]) for e in chosen) if per_line else len(chosen)
    assert _rows(con, f"select count(*) from staging.{model}") == [(expected,)]


@pytest.mark.parametrize("model", sorted(REFERENCE_MODELS))
def test_reference_model_row_count(con: duckdb.DuckDBPyConnection, model: str) -> None:
    assert _rows(con, f"select count(*) from staging.{model}") == [(REFERENCE_MODELS[model],)]


@pytest.mark.parametrize("model", sorted(OCCURRED_AT_COLUMN))
def test_occurred_at_is_renamed_and_kept(con: duckdb.DuckDBPyConnection, model: str) -> None:
    column = OCCURRED_AT_COLUMN[model]
    got = dict(_rows(con, f"select event_id, {column} from staging.{model}"))
    types = EVENT_MODELS[model][0]
    expected = {e["event_id"]: _utc(e["occurred_at"]) for e in EVENTS if e["event_type"] in types}
    assert got == expected


def test_promised_by_with_offset_becomes_utc(con: duckdb.DuckDBPyConnection) -> None:
    got = dict(_rows(con, "select order_id, promised_by from staging.stg_oms__orders_placed"))
    # 18:00 at +02:00 is 16:00 UTC; lower-case t/z and nine fractional digits are RFC 3339 too
    assert got == {
        "O1": datetime(2024, 5, 3, 16, 0),
        "O2": datetime(2024, 5, 2, 9, 30, 0, 123456),
    }


def test_timestamps_inside_data_become_utc(con: duckdb.DuckDBPyConnection) -> None:
    planned = dict(
        _rows(con, "select event_id, planned_ship_by from staging.stg_oms__line_allocations")
    )
    assert planned["evt-005"] == datetime(2024, 5, 2, 17, 0)  # 12:00 at -05:00
    assert planned["evt-009"] == datetime(2024, 5, 2, 6, 0)  # 08:00 at +02:00
    expected_at = dict(
        _rows(con, "select event_id, expected_at from staging.stg_oms__line_backorders")
    )
    assert expected_at == {"evt-010": datetime(2024, 5, 10, 7, 0), "evt-011": None}


def test_columns_have_the_warehouse_types(con: duckdb.DuckDBPyConnection) -> None:
    types = dict(
        _rows(
            con,
            """
            select table_name || '.' || column_name, data_type
            from information_schema.columns
            where table_schema = 'staging'
            """,
        )
    )
    for name in (
        "stg_oms__order_lines.quantity",
        "stg_oms__shipment_lines.quantity",
        "stg_oms__return_lines_received.quantity",
        "stg_oms__line_allocations.attempt",
        "stg_oms__stock_adjustments.quantity_delta",
        "stg_oms__stock_counts.counted_quantity",
    ):
        assert types[name] == "BIGINT", name
    for name in (
        "stg_oms__order_lines.unit_price",
        "stg_oms__payments.authorized_amount",
        "stg_oms__refunds.refund_amount",
        "stg_oms__orders_placed.ship_to_lat",
    ):
        assert types[name] == "DOUBLE", name
    for name in (
        "stg_oms__orders_placed.promised_by",
        "stg_oms__orders_placed.placed_at",
        "stg_oms__line_backorders.expected_at",
    ):
        assert types[name] == "TIMESTAMP", name


def test_order_lines_match_the_lines_array(con: duckdb.DuckDBPyConnection) -> None:
    got = _rows(
        con,
        """
        select order_id, line_index, line_id, sku, quantity, unit_price
        from staging.stg_oms__order_lines
        order by order_id, line_index
        """,
    )
    expected = [
        (e["data"]["order_id"], i, x["line_id"], x["sku"], x["quantity"], x["unit_price"])
        for e in EVENTS
        if e["event_type"] == "order.placed"
        for i, x in enumerate(e["data"]["lines"], start=1)
    ]
    assert got == expected
    assert all(type(row[4]) is int for row in got)
    line_counts = _rows(
        con,
        """
        select orders.order_id, orders.line_count, count(*)
        from staging.stg_oms__orders_placed as orders
        inner join staging.stg_oms__order_lines as lines on orders.event_id = lines.event_id
        group by orders.order_id, orders.line_count
        order by orders.order_id
        """,
    )
    assert line_counts == [("O1", 2, 2), ("O2", 3, 3)]


def test_shipment_and_return_lines_are_unnested(con: duckdb.DuckDBPyConnection) -> None:
    shipped = _rows(
        con,
        "select shipment_id, line_id, quantity from staging.stg_oms__shipment_lines order by line_index",
    )
    assert shipped == [("SHP1", "L1", 2), ("SHP1", "L2", 1)]
    received = _rows(
        con,
        "select return_id, line_id, quantity, disposition from staging.stg_oms__return_lines_received",
    )
    assert received == [("R1", "L2", 1, "refurbish")]
    initiated = _rows(
        con, "select return_id, line_id, return_reason from staging.stg_oms__return_lines_initiated"
    )
    assert initiated == [("R1", "L2", "defective")]


def _compile_json_fields(tmp_path: Path, json_text: str, fields: str) -> tuple[int, str]:
    """dbt's compiled SQL of `select json_fields(<json_text>, <fields>)`, or its error."""
    inline = (
        f"with t as (select '{json_text}' as data)"
        f" select {{{{ json_fields('t.data', {fields}) }}}} as payload from t"
    )
    code, out, _ = run_dbt(["compile", "-q", "--inline", inline], tmp_path / "w.duckdb", tmp_path)
    return code, out


def test_json_fields_reads_nested_objects_and_arrays_with_their_types(tmp_path: Path) -> None:
    # What every staging model relies on: a field that is missing or null reads as null, numbers
    # come typed, objects nest and an array of objects comes out as a list of structs.
    code, compiled = _compile_json_fields(
        tmp_path,
        '{"id": "x", "ship_to": {"lat": 1.5}, "lines": [{"q": 2}, {"q": 3}], "n": null}',
        "{'id': 'text', 'ship_to': {'lat': 'number', 'zip': 'text'},"
        " 'lines': [{'q': 'int'}], 'n': 'number', 'missing': 'text'}",
    )
    assert code == 0, compiled
    (payload,) = duckdb.sql(compiled.strip()).fetchall()[0]
    assert payload == {
        "id": "x",
        "ship_to": {"lat": 1.5, "zip": None},
        "lines": [{"q": 2}, {"q": 3}],
        "n": None,
        "missing": None,
    }


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ("{'a': 'texts'}", "JSON field type texts is not one of 'text', 'number', 'int', 'json'"),
        ("{'a.b': 'text'}", "JSON field 'a.b' is not a plain field name: nest objects as {...}"),
    ],
)
def test_json_fields_refuses_a_shape_it_cannot_read(
    tmp_path: Path, fields: str, message: str
) -> None:
    code, out = _compile_json_fields(tmp_path, "{}", fields)
    assert code != 0
    assert message in out


def test_optional_fields_are_null_when_absent(con: duckdb.DuckDBPyConnection) -> None:
    orders = {
        row[0]: row[1:]
        for row in _rows(
            con,
            """
            select order_id, ship_to_lat, ship_to_lon, pickup_node_id, shipping_charged
            from staging.stg_oms__orders_placed
            """,
        )
    }
    assert orders == {"O1": (52.53, 13.38, None, 4.95), "O2": (None, None, "STORE1", 0.0)}
    contacts = dict(
        _rows(con, "select contact_id, order_id from staging.stg_oms__service_contacts")
    )
    assert contacts == {"CT1": "O1", "CT2": None}
    in_transit = dict(
        _rows(con, "select node_id, in_transit from staging.stg_oms__stock_snapshots")
    )
    assert in_transit == {"DC1": 5, "STORE1": None}


def test_pickups_carry_their_status(con: duckdb.DuckDBPyConnection) -> None:
    got = _rows(
        con,
        "select event_id, order_id, node_id, pickup_status from staging.stg_oms__pickups order by 1",
    )
    assert got == [("evt-017", "O2", "STORE1", "ready"), ("evt-018", "O2", "STORE1", "collected")]


def test_enum_and_signed_fields_are_renamed(con: duckdb.DuckDBPyConnection) -> None:
    assert _rows(con, "select rejection_reason from staging.stg_oms__line_rejections") == [
        ("not_found",)
    ]
    assert _rows(
        con, "select quantity_delta, adjustment_reason from staging.stg_oms__stock_adjustments"
    ) == [(-2, "sale")]
    assert _rows(
        con, "select exception_code, exception_detail from staging.stg_oms__shipment_exceptions"
    ) == [("delayed", "weather hold")]


def test_broken_raw_data_fails_source_tests_and_late_events_only_warn(
    built: dict[str, Any],
) -> None:
    assert built["code"] == 0, built["output"][-5000:]
    # Same file name: the reference views name the DuckDB catalog, which is the file's stem.
    broken_dir = built["root"] / "broken"
    broken_dir.mkdir()
    warehouse = broken_dir / "warehouse.duckdb"
    shutil.copyfile(built["warehouse"], warehouse)
    con = duckdb.connect(str(warehouse))
    try:
        _insert_event(con, EVENTS[2], line_no=len(EVENTS) + 1, batch_id=2)  # same event_id twice
        late = _event(
            90,
            "shipment.delivered",
            "2024-05-04T12:00:00Z",
            {"shipment_id": "SHP9", "order_id": "O1"},
        )
        # Its shipment.shipped has not landed.
        _insert_event(con, late, line_no=len(EVENTS) + 2, batch_id=2)
        con.execute(
            "insert into raw.ingest_files (batch_id, file, kind, sha256, size_bytes, lines_read, landed, duplicates, quarantined, seconds, ingested_at) "
            "values (2, 'b.jsonl', 'events', 'y', 1, 10, 7, 1, 1, 0.1, ?)",
            [INGESTED_AT],
        )
    finally:
        con.close()

    # Staging appends the new batch (an incremental run), then the tests look at it.
    code, output, _ = run_dbt(
        ["run", "--select", "stg_oms__shipment_deliveries"], warehouse, broken_dir
    )
    assert code == 0, output[-5000:]
    code, output, statuses = run_dbt(
        ["test", "--select", "source:raw", "stg_oms__shipment_deliveries"], warehouse, broken_dir
    )

    assert code != 0, output[-5000:]
    failed = {uid.split(".")[2] for uid, status in statuses.items() if status in ("fail", "error")}
    assert failed == {"source_unique_raw_events_event_id", "raw_ingest_files_reconcile"}
    warned = {uid.split(".")[2] for uid, status in statuses.items() if status == "warn"}
    assert warned == {
        "relationships_stg_oms__shipment_deliveries_shipment_id__shipment_id__ref_stg_oms__shipments_shipped_"
    }
