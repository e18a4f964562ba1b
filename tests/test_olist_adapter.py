"""The Olist adapter on the committed excerpt: valid, accounted for, deterministic, faithful."""

from __future__ import annotations

import csv
import json
import os
import shutil
import statistics
from collections import Counter, defaultdict
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import pytest

from pipelines.adapters.olist import OlistImportReport, convert_olist
from pipelines.contract import event_validator

FIXTURE = Path(__file__).parent / "fixtures" / "olist"
# The full 10,000-order sample the fixture was cut from, when a contributor has it (not in git).
FULL_SAMPLE = Path(os.environ.get("OMSI_OLIST_SAMPLE", "data/olist-sample"))

# Column lists copied from docs/event-contract.md ("Reference data"), not from the adapter.
CONTRACT_COLUMNS = {
    "nodes.csv": [
        "node_id",
        "node_type",
        "name",
        "region",
        "country",
        "lat",
        "lon",
        "daily_capacity_units",
        "pick_pack_cost_per_unit",
        "opened_on",
    ],
    "skus.csv": ["sku", "category", "unit_price", "unit_cost", "weight_kg", "abc_class"],
    "carriers.csv": ["carrier", "service_level", "transit_days", "base_cost", "cost_per_kg"],
}


def _csv(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _events(out: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for path in sorted((out / "events").glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _brazil_offset(local: str) -> str:
    """The offset Sao Paulo used on a local date, from the published 2016-2018 DST calendar.

    Summer time ran until 2017-02-18 (clocks back at midnight into the 19th), again from
    2017-10-15 to 2018-02-17. Local times in the repeated hour are read as the first pass.
    """
    day = local[:10]
    summer = day < "2017-02-19" or "2017-10-15" <= day < "2018-02-18"
    return "-02:00" if summer else "-03:00"


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, OlistImportReport]:
    out = tmp_path_factory.mktemp("olist_out")
    return out, convert_olist(FIXTURE, out)


@pytest.fixture(scope="module")
def events(converted: tuple[Path, OlistImportReport]) -> list[dict[str, Any]]:
    return _events(converted[0])


def test_every_event_validates_against_the_contract(events: list[dict[str, Any]]) -> None:
    validator = event_validator()
    assert events
    problems = [
        (event["event_id"], error.message)
        for event in events
        for error in validator.iter_errors(event)
    ]
    assert problems == []
    assert {event["source"] for event in events} == {"olist"}
    ids = [event["event_id"] for event in events]
    assert len(ids) == len(set(ids)), "event_ids must be unique: they are the idempotency key"


def test_report_accounts_for_every_source_row(
    converted: tuple[Path, OlistImportReport], events: list[dict[str, Any]]
) -> None:
    out, report = converted
    orders = _csv(FIXTURE, "orders.csv")
    items = _csv(FIXTURE, "order_items.csv")
    assert report.orders_read == len(orders)
    assert report.orders_converted + report.orders_skipped_total == report.orders_read
    assert report.orders_by_status == dict(Counter(row["order_status"] for row in orders))
    assert report.items_read == len(items)
    assert (
        report.items_converted + report.items_in_skipped_orders + report.items_orphaned
        == report.items_read
    )

    placed = {e["data"]["order_id"] for e in events if e["event_type"] == "order.placed"}
    assert len(placed) == report.orders_converted
    # Every skip in the excerpt is an order without items, which cannot be a valid order.placed.
    orders_with_items = {row["order_id"] for row in items}
    skipped = {row["order_id"] for row in orders} - placed
    assert report.orders_skipped == {"no_items": len(skipped)}
    assert not skipped & orders_with_items
    assert not {e["data"].get("order_id") for e in events} & skipped

    assert report.events_written == dict(Counter(e["event_type"] for e in events))
    assert sum(report.event_files.values()) == len(events)
    for name, rows in report.reference_rows.items():
        assert rows == len(_csv(out / "reference", name))
    assert json.loads(json.dumps(report.to_dict()))["orders_read"] == len(orders)
    assert f"{len(orders):,} orders read" in report.render()


def test_two_runs_write_the_same_bytes(tmp_path: Path) -> None:
    def snapshot(out: Path) -> dict[str, bytes]:
        return {
            p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()
        }

    first, second = tmp_path / "a", tmp_path / "b"
    convert_olist(FIXTURE, first)
    convert_olist(FIXTURE, second)
    assert snapshot(first) == snapshot(second)
    assert any(name.startswith("events/") for name in snapshot(first))


def test_events_are_split_by_local_month(converted: tuple[Path, OlistImportReport]) -> None:
    out, _ = converted
    for path in (out / "events").glob("*.jsonl"):
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        assert {event["occurred_at"][:7] for event in lines} == {path.stem}
        instants = [_instant(event["occurred_at"]) for event in lines]
        assert instants == sorted(instants)


def test_postal_codes_keep_leading_zeros(events: list[dict[str, Any]]) -> None:
    customers = {row["customer_id"]: row for row in _csv(FIXTURE, "customers.csv")}
    orders = {row["order_id"]: row for row in _csv(FIXTURE, "orders.csv")}
    short = 0
    for event in events:
        if event["event_type"] != "order.placed":
            continue
        customer = customers[orders[event["data"]["order_id"]]["customer_id"]]
        postal_code = event["data"]["ship_to"]["postal_code"]
        assert isinstance(postal_code, str) and len(postal_code) == 5
        assert int(postal_code) == int(customer["customer_zip_code_prefix"])
        short += len(customer["customer_zip_code_prefix"]) < 5
    assert short > 0, "the excerpt should hold zip prefixes that lost their leading zero"


def test_timestamps_carry_sao_paulo_offsets(events: list[dict[str, Any]]) -> None:
    orders = {row["order_id"]: row for row in _csv(FIXTURE, "orders.csv")}
    placed = {e["data"]["order_id"]: e for e in events if e["event_type"] == "order.placed"}
    by_month: dict[str, str] = {}
    for order_id, event in sorted(placed.items()):
        local = orders[order_id]["order_purchase_timestamp"]
        assert event["occurred_at"] == local.replace(" ", "T") + _brazil_offset(local)
        promised = orders[order_id]["order_estimated_delivery_date"]
        assert event["data"]["promised_by"] == promised.replace(" ", "T") + _brazil_offset(promised)
        by_month.setdefault(local[:7], event["occurred_at"])
    # January and November 2017 are both summer time; July is standard time.
    assert by_month["2017-01"].endswith("-02:00")
    assert by_month["2017-07"].endswith("-03:00")
    assert by_month["2017-11"].endswith("-02:00")
    for event in events:
        assert event["occurred_at"].endswith(_brazil_offset(event["occurred_at"]))


def test_repeated_dst_hour_reads_as_summer_time(events: list[dict[str, Any]]) -> None:
    items = _csv(FIXTURE, "order_items.csv")
    ambiguous = {
        (row["order_id"], row["order_item_id"]): row["shipping_limit_date"]
        for row in items
        if row["shipping_limit_date"].startswith("2017-02-18 23")
    }
    assert ambiguous, "the excerpt should hold a time in the repeated hour"
    allocated = {
        (e["data"]["order_id"], e["data"]["line_id"]): e["data"]["planned_ship_by"]
        for e in events
        if e["event_type"] == "order.line_allocated"
    }
    for key, local in ambiguous.items():
        assert allocated[key] == local.replace(" ", "T") + "-02:00"


def _deliveries(events: list[dict[str, Any]]) -> dict[str, tuple[str, bool]]:
    """Per delivered order: the local month it was placed and whether its last delivery was late."""
    placed = {e["data"]["order_id"]: e for e in events if e["event_type"] == "order.placed"}
    delivered: dict[str, datetime] = {}
    for e in events:
        if e["event_type"] == "shipment.delivered":
            at = _instant(e["occurred_at"])
            order_id = e["data"]["order_id"]
            delivered[order_id] = max(at, delivered.get(order_id, at))
    return {
        order_id: (
            placed[order_id]["occurred_at"][:7],
            at > _instant(placed[order_id]["data"]["promised_by"]),
        )
        for order_id, at in delivered.items()
    }


def _late_from_events(events: list[dict[str, Any]]) -> tuple[int, int]:
    deliveries = _deliveries(events)
    return sum(late for _, late in deliveries.values()), len(deliveries)


def test_late_rate_from_events_matches_the_csv(
    converted: tuple[Path, OlistImportReport], events: list[dict[str, Any]]
) -> None:
    delivered = [
        row
        for row in _csv(FIXTURE, "orders.csv")
        if row["order_status"] == "delivered" and row["order_delivered_customer_date"]
    ]
    # Same local clock on both sides, so plain text order is time order.
    late_midnight = sum(
        r["order_delivered_customer_date"] > r["order_estimated_delivery_date"] for r in delivered
    )
    late_end_of_day = sum(
        r["order_delivered_customer_date"][:10] > r["order_estimated_delivery_date"][:10]
        for r in delivered
    )
    assert late_midnight != late_end_of_day, "the excerpt must tell the two definitions apart"
    assert _late_from_events(events) == (late_midnight, len(delivered))
    report = converted[1]
    assert (report.delivered_late, report.delivered_orders) == (late_midnight, len(delivered))


def test_reference_csvs_have_the_contract_columns(
    converted: tuple[Path, OlistImportReport],
) -> None:
    out, _ = converted
    for name, columns in CONTRACT_COLUMNS.items():
        with (out / "reference" / name).open(encoding="utf-8", newline="") as handle:
            assert next(csv.reader(handle)) == columns

    nodes = _csv(out / "reference", "nodes.csv")
    sellers = {row["seller_id"]: row for row in _csv(FIXTURE, "sellers.csv")}
    assert sorted(row["node_id"] for row in nodes) == sorted(sellers)
    for node in nodes:
        assert node["node_type"] == "dropship" and node["country"] == "BR"
        assert node["region"] == sellers[node["node_id"]]["seller_state"]
        assert node["name"] == sellers[node["node_id"]]["seller_city"]
        assert -34 < float(node["lat"]) < 6 and -74 < float(node["lon"]) < -34  # inside Brazil
        # Unknown stays empty: a zero capacity or cost would be a made-up fact.
        assert node["daily_capacity_units"] == node["pick_pack_cost_per_unit"] == ""
        assert node["opened_on"] == ""

    carriers = _csv(out / "reference", "carriers.csv")
    assert len(carriers) == 1 and int(carriers[0]["transit_days"]) > 0
    assert carriers[0]["base_cost"] == carriers[0]["cost_per_kg"] == ""


def test_skus_price_category_and_weight(converted: tuple[Path, OlistImportReport]) -> None:
    out, _ = converted
    skus = {row["sku"]: row for row in _csv(out / "reference", "skus.csv")}
    products = {row["product_id"]: row for row in _csv(FIXTURE, "products.csv")}
    english = {
        row["product_category_name"]: row["product_category_name_english"]
        for row in _csv(FIXTURE, "product_category_name_translation.csv")
    }
    prices: dict[str, list[Decimal]] = defaultdict(list)
    for row in _csv(FIXTURE, "order_items.csv"):
        prices[row["product_id"]].append(Decimal(row["price"]))
    assert set(skus) == set(prices)
    for sku, row in skus.items():
        median = Decimal(statistics.median(prices[sku])).quantize(Decimal("0.01"), ROUND_HALF_EVEN)
        assert Decimal(row["unit_price"]) == median
        assert row["unit_cost"] == row["abc_class"] == ""
        product = products[sku]
        portuguese = product["product_category_name"]
        assert row["category"] == english.get(portuguese, portuguese or "unknown")
        if product["product_weight_g"]:
            assert Decimal(row["weight_kg"]) * 1000 == Decimal(product["product_weight_g"])
        else:
            assert row["weight_kg"] == ""
    categories = {row["category"] for row in skus.values()}
    assert {"unknown", "pc_gamer"} <= categories  # both fallbacks are exercised


def test_one_shipment_per_seller(events: list[dict[str, Any]]) -> None:
    items = _csv(FIXTURE, "order_items.csv")
    by_seller: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    for row in items:
        by_seller[(row["order_id"], row["seller_id"])].append(row)
    shipped = [e["data"] for e in events if e["event_type"] == "shipment.shipped"]
    assert shipped
    multi_seller = Counter(data["order_id"] for data in shipped)
    assert max(multi_seller.values()) > 1, "the excerpt should hold a split order"
    for data in shipped:
        rows = by_seller[(data["order_id"], data["node_id"])]
        assert sorted(line["line_id"] for line in data["lines"]) == sorted(
            row["order_item_id"] for row in rows
        )
        freight = sum((Decimal(row["freight_value"]) for row in rows), Decimal(0))
        assert Decimal(str(data["shipping_cost"])) == freight


def test_cancelled_orders_cancel_every_line(events: list[dict[str, Any]]) -> None:
    orders = {row["order_id"]: row for row in _csv(FIXTURE, "orders.csv")}
    lines = Counter(row["order_id"] for row in _csv(FIXTURE, "order_items.csv"))
    cancelled = Counter(
        e["data"]["order_id"] for e in events if e["event_type"] == "order.line_cancelled"
    )
    expected = {o: n for o, n in lines.items() if orders[o]["order_status"] == "canceled"}
    assert expected and cancelled == expected
    shipped = {e["data"]["order_id"] for e in events if e["event_type"].startswith("shipment.")}
    assert not shipped & set(expected)


def test_unavailable_lines_are_cancelled_out_of_stock(tmp_path: Path) -> None:
    # The sample's unavailable orders have no items; relabel a cancelled one that has some.
    src = tmp_path / "src"
    shutil.copytree(FIXTURE, src)
    items = _csv(src, "order_items.csv")
    orders_text = (src / "orders.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    with_items = {row["order_id"] for row in items}
    index = next(
        i
        for i, line in enumerate(orders_text)
        if ",canceled," in line and line.split(",")[0] in with_items
    )
    order_id = orders_text[index].split(",")[0]
    orders_text[index] = orders_text[index].replace(",canceled,", ",unavailable,")
    (src / "orders.csv").write_text("".join(orders_text), encoding="utf-8")

    convert_olist(src, tmp_path / "out")
    reasons = [
        e["data"]["reason"]
        for e in _events(tmp_path / "out")
        if e["event_type"] == "order.line_cancelled" and e["data"]["order_id"] == order_id
    ]
    assert reasons == ["out_of_stock"] * sum(row["order_id"] == order_id for row in items)


def test_malformed_value_skips_only_its_order(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(FIXTURE, src)
    lines = (src / "order_items.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    fields = lines[1].split(",")
    bad_order = fields[0]
    fields[5] = "R$ 10"  # the price column
    lines[1] = ",".join(fields)
    (src / "order_items.csv").write_text("".join(lines), encoding="utf-8")

    report = convert_olist(src, tmp_path / "out")
    assert report.orders_skipped["invalid_value:price"] == 1
    assert report.orders_converted + report.orders_skipped_total == report.orders_read
    assert report.items_converted + report.items_in_skipped_orders == report.items_read
    assert bad_order not in {e["data"].get("order_id") for e in _events(tmp_path / "out")}


def test_missing_csv_raises_a_clear_error(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(FIXTURE, src)
    (src / "sellers.csv").unlink()
    (src / "order_payments.csv").unlink()
    with pytest.raises(ValueError, match="sellers.csv") as raised:
        convert_olist(src, tmp_path / "out")
    assert "order_payments.csv" in str(raised.value)
    assert "orders.csv," not in str(raised.value)  # only the missing ones are named
    assert not (tmp_path / "out").exists(), "nothing is written before the input is checked"


def test_missing_column_raises_a_clear_error(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(FIXTURE, src)
    text = (src / "order_items.csv").read_text(encoding="utf-8")
    (src / "order_items.csv").write_text(
        text.replace("freight_value", "frete", 1), encoding="utf-8"
    )
    with pytest.raises(ValueError, match="order_items.csv lacks column\\(s\\) freight_value"):
        convert_olist(src, tmp_path / "out")


@pytest.mark.slow
def test_full_sample_reproduces_the_published_late_rate(tmp_path: Path) -> None:
    if not (FULL_SAMPLE / "orders.csv").is_file():
        pytest.skip(f"full Olist sample not found at {FULL_SAMPLE} (set OMSI_OLIST_SAMPLE)")
    report = convert_olist(FULL_SAMPLE, tmp_path)
    assert report.orders_converted + report.orders_skipped_total == report.orders_read
    events = _events(tmp_path)
    late, delivered = _late_from_events(events)
    # The sample's README: "6.87% of delivered orders arrived after the promised date".
    assert round(100 * late / delivered, 2) == 6.87
    assert (late, delivered) == (report.delivered_late, report.delivered_orders)

    per_month: dict[str, list[bool]] = defaultdict(list)
    for month, is_late in _deliveries(events).values():
        per_month[month].append(is_late)
    # "(1.7% in January, 14.8% in November)"
    assert round(100 * sum(per_month["2017-01"]) / len(per_month["2017-01"]), 1) == 1.7
    assert round(100 * sum(per_month["2017-11"]) / len(per_month["2017-11"]), 1) == 14.8
