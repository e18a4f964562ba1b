"""The Shopify adapter over a small hand-made export in the Admin API's JSON shape.

The fixture (tests/fixtures/shopify/) holds seven orders written to cover what a store's export
holds: a two-line order delivered on time; a German order delivered late; an order to the UAE
with no postal code, from a sales-channel app, shipped from a location with no province; one
cancelled for stock and refunded; one split into two parcels, the second delayed and late, with
a failed then a successful partial refund; a gift card with no shipping address (skipped); one
still in transit whose promise sits in a note attribute.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from pipelines.adapters.shopify import convert_shopify
from pipelines.cli import app
from pipelines.contract import event_validator

FIXTURE = Path(__file__).parent / "fixtures" / "shopify"


def _events(out: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for path in sorted((out / "events").glob("*.jsonl"))
        for line in path.open()
    ]


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _by_hand(promise_days: int = 5) -> dict[str, Any]:
    """Order count, on-time rate and refunds, worked out from the fixture's own fields.

    Independent of the adapter: an order with a shipping address counts; it is completed when
    every unit was fulfilled or cancelled and every fulfilment has a delivery time (its first
    `delivered` tracking event, else `updated_at` when its shipment_status says delivered); on
    time when its last delivery is at or before created_at + promise_days.
    """
    orders = json.loads((FIXTURE / "orders.json").read_text())["orders"]
    events = json.loads((FIXTURE / "fulfillment_events.json").read_text())["fulfillment_events"]
    delivered_events: dict[int, list[datetime]] = {}
    for event in events:
        if event["status"] == "delivered":
            delivered_events.setdefault(event["fulfillment_id"], []).append(
                _at(event["happened_at"])
            )
    counted, completed, on_time, refunds = 0, 0, 0, Decimal("0")
    for order in orders:
        if not order["shipping_address"]:
            continue
        counted += 1
        for refund in order["refunds"]:
            refunds += sum(
                Decimal(t["amount"])
                for t in refund["transactions"]
                if t["kind"] == "refund" and t["status"] == "success"
            )
        units = sum(i["quantity"] for i in order["line_items"])
        fulfilled = sum(li["quantity"] for f in order["fulfillments"] for li in f["line_items"])
        deliveries = []
        for f in order["fulfillments"]:
            if f["id"] in delivered_events:
                deliveries.append(min(delivered_events[f["id"]]))
            elif f["shipment_status"] == "delivered":
                deliveries.append(_at(f["updated_at"]))
            else:
                deliveries.append(None)
        cancelled = units - fulfilled if order["cancelled_at"] else 0
        if not deliveries or None in deliveries or fulfilled + cancelled < units:
            continue
        completed += 1
        promised = _at(order["created_at"]) + timedelta(days=promise_days)
        on_time += max(deliveries) <= promised
    return {"orders": counted, "on_time_rate": on_time / completed, "refunds": refunds}


def test_hand_count_of_the_fixture() -> None:
    # Read off the fixture by eye: 7 orders, the gift card has no address -> 6 counted;
    # completed 1001 (on time), 1002 (late), 1003 (on time), 1005 (late) -> 2 of 4; 1004 is
    # cancelled, 1007 in transit. Refunds: 1004 32.00 + 1005 18.00 (its failed attempt is no
    # money) = 50.00.
    assert _by_hand() == {"orders": 6, "on_time_rate": 0.5, "refunds": Decimal("50.00")}


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    out = tmp_path_factory.mktemp("shopify") / "out"
    return out, convert_shopify(FIXTURE, out)


def test_every_event_validates_against_the_contract(converted: tuple[Path, Any]) -> None:
    out, _ = converted
    events = _events(out)
    assert events
    for event in events:
        assert list(event_validator().iter_errors(event)) == [], event["event_id"]
    assert len({e["event_id"] for e in events}) == len(events)


def test_report_accounts_for_every_order_and_refund(converted: tuple[Path, Any]) -> None:
    out, report = converted
    assert report.orders_read == 7
    assert report.orders_converted + report.orders_skipped_total == report.orders_read
    assert report.orders_skipped == {"no_shipping_address": 1}
    assert (report.refunds_read, report.refunds_without_money) == (3, 1)
    events = _events(out)
    assert report.events_written["refund.issued"] == 2
    assert sum(report.events_written.values()) == len(events)


def test_what_shopify_lacks_is_left_unknown(converted: tuple[Path, Any]) -> None:
    out, _ = converted
    placed = {
        e["data"]["order_id"]: e["data"] for e in _events(out) if e["event_type"] == "order.placed"
    }
    uae = placed["820982911946154503"]
    assert uae["ship_to"]["postal_code"] is None and uae["ship_to"]["country"] == "AE"
    assert uae["channel"] == "marketplace" and uae["customer_id"].startswith("guest:")
    assert uae["lines"][0]["sku"] == "variant:39072858"  # the store left the sku empty
    assert placed["820982911946154502"]["channel"] == "app"
    assert placed["820982911946154507"]["channel"] == "store"
    nodes = (out / "reference" / "nodes.csv").read_text().splitlines()
    assert "655441493,dc,Dubai fulfilment partner,,AE,,,,," in nodes  # region unknown


def test_split_order_shares_its_shipping_charge_and_cancels_what_never_shipped(
    converted: tuple[Path, Any],
) -> None:
    out, _ = converted
    events = _events(out)
    charged = {
        e["data"]["order_id"]: e["data"]["shipping_charged"]
        for e in events
        if e["event_type"] == "order.placed"
    }
    costs: dict[str, list[float]] = {}
    for e in events:
        if e["event_type"] == "shipment.shipped":
            costs.setdefault(e["data"]["order_id"], []).append(e["data"]["shipping_cost"])
    assert len(costs["820982911946154505"]) == 2  # the split order
    for order_id, parts in costs.items():
        assert round(sum(parts), 2) == charged[order_id], order_id
    cancelled = [e["data"] for e in events if e["event_type"] == "order.line_cancelled"]
    assert cancelled == [
        {
            "order_id": "820982911946154504",
            "line_id": "466157053",
            "quantity": 2,
            "reason": "out_of_stock",
        }
    ]
    exceptions = [e["data"]["code"] for e in events if e["event_type"] == "shipment.exception"]
    assert exceptions == ["delayed"]


def test_promise_from_a_note_attribute(tmp_path: Path) -> None:
    report = convert_shopify(FIXTURE, tmp_path / "out", promise_attribute="delivery_date")
    assert report.promised_from_attribute == 1
    placed = {
        e["data"]["order_id"]: e["data"]["promised_by"]
        for e in _events(tmp_path / "out")
        if e["event_type"] == "order.placed"
    }
    # end of the promised day, in the order's own offset
    assert placed["820982911946154507"] == "2024-03-12T23:59:59-05:00"
    # the others fall back to created_at + 5 days
    assert placed["820982911946154501"] == "2024-03-06T10:00:00-05:00"


def test_two_runs_write_the_same_bytes(tmp_path: Path) -> None:
    convert_shopify(FIXTURE, tmp_path / "a")
    convert_shopify(FIXTURE, tmp_path / "b")
    for path in sorted((tmp_path / "a").rglob("*.*")):
        twin = tmp_path / "b" / path.relative_to(tmp_path / "a")
        assert path.read_bytes() == twin.read_bytes(), path.name


def test_missing_export_says_what_to_save(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["import", "shopify", str(tmp_path), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 1
    assert "orders.json" in result.output


@pytest.mark.slow
def test_import_then_omsi_run_gives_the_hand_counted_marts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("OMSI_HOME", str(home))
    runner = CliRunner()
    imported = runner.invoke(
        app, ["import", "shopify", str(FIXTURE), "--out", str(home / "landing" / "shopify")]
    )
    assert imported.exit_code == 0, imported.output
    ran = runner.invoke(app, ["run"])
    assert ran.exit_code == 0, ran.output[-4000:]
    assert "WARNING" not in ran.output  # nothing quarantined, so nothing to say loudly

    expected = _by_hand()
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        (quarantined,) = con.execute("select count(*) from raw.quarantine").fetchall()[0]
        orders, completed, on_time = con.execute(
            "select count(*), count(*) filter (where is_completed),"
            " count(*) filter (where is_on_time) from marts.fct_orders"
        ).fetchall()[0]
        (kpi_on_time,) = con.execute(
            "select sum(numerator) / sum(denominator) from marts.kpi_daily"
            " where kpi = 'on_time_rate'"
        ).fetchall()[0]
        (refunds,) = con.execute(
            "select sum(refunds_cost) from marts.fct_cost_to_serve"
        ).fetchall()[0]
        unknown_regions = con.execute(
            "select node_id from marts.dim_nodes where region = 'unknown'"
        ).fetchall()
    assert quarantined == 0
    assert orders == expected["orders"]
    assert on_time / completed == expected["on_time_rate"]
    assert float(kpi_on_time) == expected["on_time_rate"]
    assert refunds == expected["refunds"]
    assert unknown_regions == [("655441493",)]
