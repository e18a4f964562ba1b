"""An Olist order's contract events, from orders.csv with its items and payments.

The mapping (which Olist fact stands for which event, and why) is described in the docstring of
`pipelines/adapters/olist.py`; this module is its code.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pipelines.adapters import olist_source as source
from pipelines.adapters.brazil_states import state_centroid
from pipelines.adapters.landing_files import LandingEvent
from pipelines.adapters.olist_export import CARRIER, COUNTRY, SERVICE_LEVEL, OlistExport, as_utc
from pipelines.adapters.olist_source import InvalidValue, local_time, money

EVENT_SOURCE = "olist"
CURRENCY = "BRL"
CANCEL_REASONS = {"canceled": "other", "unavailable": "out_of_stock"}


@dataclass(frozen=True)
class _Item:
    line_id: str
    order_item_id: int
    sku: str
    seller_id: str
    ship_by: datetime | None
    price: Decimal
    freight: Decimal


class _Skip(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _number(value: Decimal) -> float:
    """A JSON number for an exact Decimal; the float's repr is the shortest exact text."""
    return float(value)


def _envelope(event_id: str, event_type: str, at: datetime, data: dict[str, Any]) -> LandingEvent:
    return LandingEvent.enveloped(EVENT_SOURCE, event_id, event_type, at, data)


def _latest(*times: datetime | None) -> datetime:
    known = [t for t in times if t is not None]
    # Aware datetimes sharing a tzinfo compare by wall clock, which is wrong in the repeated DST
    # hour; comparing in UTC is not.
    return max(known, key=lambda t: t.astimezone(UTC))


def convert_orders(export: OlistExport) -> list[LandingEvent]:
    """Every order's events; a skipped order is counted on the report with its reason."""
    report = export.report
    converted: list[LandingEvent] = []
    statuses: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    for order in export.orders:
        status = order["order_status"].lower()
        statuses[status] += 1
        try:
            events = _order_events(export, order, status)
        except _Skip as skip:
            skipped[skip.reason] += 1
            report.items_in_skipped_orders += len(export.items.get(order["order_id"], ()))
            continue
        except InvalidValue as error:
            skipped[f"invalid_value:{error.column}"] += 1
            report.items_in_skipped_orders += len(export.items.get(order["order_id"], ()))
            continue
        converted.extend(events)
        report.orders_converted += 1
        report.items_converted += len(export.items[order["order_id"]])
    report.orders_read = len(export.orders)
    report.orders_by_status = dict(statuses.most_common())
    report.orders_skipped = dict(sorted(skipped.items()))
    report.events_not_written = dict(sorted(export.events_not_written.items()))
    return converted


def _parse_items(export: OlistExport, order_id: str) -> list[_Item]:
    items = []
    for row in export.items.get(order_id, ()):
        if row["seller_id"] not in export.sellers:
            raise _Skip("unknown_seller")
        item_id = source.positive_int(row, "order_item_id")
        items.append(
            _Item(
                line_id=str(item_id),
                order_item_id=item_id,
                sku=row["product_id"],
                seller_id=row["seller_id"],
                ship_by=local_time(row, "shipping_limit_date"),
                price=money(row, "price"),
                freight=money(row, "freight_value"),
            )
        )
    if not items:
        raise _Skip("no_items")
    if any(not item.sku for item in items):
        raise InvalidValue("product_id", "", "empty")
    return sorted(items, key=lambda item: item.order_item_id)


def _order_events(export: OlistExport, order: dict[str, str], status: str) -> list[LandingEvent]:
    order_id = order["order_id"]
    if not order_id:
        raise InvalidValue("order_id", "", "empty")
    items = _parse_items(export, order_id)
    customer = export.customers.get(order["customer_id"])
    if customer is None:
        raise _Skip("unknown_customer")
    placed_at = local_time(order, "order_purchase_timestamp")
    promised_by = local_time(order, "order_estimated_delivery_date")
    if placed_at is None:
        raise InvalidValue("order_purchase_timestamp", "", "empty")
    if promised_by is None:
        raise InvalidValue("order_estimated_delivery_date", "", "empty")
    approved_at = local_time(order, "order_approved_at")
    handed_at = local_time(order, "order_delivered_carrier_date")
    delivered_at = local_time(order, "order_delivered_customer_date")
    payment = _payment(export, order_id)

    events = [_placed(order_id, customer, placed_at, promised_by, items)]
    if approved_at is None:
        export.events_not_written["order.payment_authorized: no order_approved_at"] += 1
    elif payment is None:
        export.events_not_written["order.payment_authorized: no payment rows"] += 1
    else:
        amount, method = payment
        data: dict[str, Any] = {"order_id": order_id, "amount": _number(amount)}
        if method:
            data["payment_method"] = method
        events.append(
            _envelope(
                f"olist:{order_id}:payment_authorized",
                "order.payment_authorized",
                approved_at,
                data,
            )
        )
    events += _allocations(export, order_id, items, approved_at or placed_at)

    if status in CANCEL_REASONS:
        cancelled_at = _latest(placed_at, approved_at, handed_at, delivered_at)
        events += [
            _envelope(
                f"olist:{order_id}:{item.line_id}:cancelled",
                "order.line_cancelled",
                cancelled_at,
                {
                    "order_id": order_id,
                    "line_id": item.line_id,
                    "quantity": 1,
                    "reason": CANCEL_REASONS[status],
                },
            )
            for item in items
        ]
        if handed_at or delivered_at:
            export.events_not_written["shipment.*: order cancelled (orders)"] += 1
        return events

    shipments = _shipments(export, order_id, items, handed_at, delivered_at)
    events += shipments
    if delivered_at is not None:
        export.report.delivered_orders += 1
        export.report.delivered_late += as_utc(delivered_at) > as_utc(promised_by)
    return events


def _placed(
    order_id: str,
    customer: dict[str, str],
    placed_at: datetime,
    promised_by: datetime,
    items: list[_Item],
) -> LandingEvent:
    postal_code = source.zip_prefix(customer["customer_zip_code_prefix"])
    region = customer["customer_state"]
    if not postal_code:
        raise InvalidValue("customer_zip_code_prefix", "", "empty")
    if not region:
        raise InvalidValue("customer_state", "", "empty")
    if not customer["customer_unique_id"]:
        raise InvalidValue("customer_unique_id", "", "empty")
    ship_to: dict[str, Any] = {"postal_code": postal_code, "region": region, "country": COUNTRY}
    centroid = state_centroid(region)
    if centroid is not None:
        ship_to["lat"], ship_to["lon"] = centroid
    data = {
        "order_id": order_id,
        "channel": "marketplace",
        "customer_id": customer["customer_unique_id"],
        "fulfillment_method": "delivery",
        "ship_to": ship_to,
        "promised_by": promised_by.isoformat(),
        "currency": CURRENCY,
        "lines": [
            {
                "line_id": item.line_id,
                "sku": item.sku,
                "quantity": 1,
                "unit_price": _number(item.price),
            }
            for item in items
        ],
        "shipping_charged": _number(sum((item.freight for item in items), Decimal(0))),
    }
    return _envelope(f"olist:{order_id}:placed", "order.placed", placed_at, data)


def _payment(export: OlistExport, order_id: str) -> tuple[Decimal, str] | None:
    rows = export.payments.get(order_id)
    if not rows:
        return None
    parsed = [
        (money(row, "payment_value"), source.positive_int(row, "payment_sequential"), row)
        for row in rows
    ]
    total = sum((value for value, _, _ in parsed), Decimal(0))
    largest = min(parsed, key=lambda p: (-p[0], p[1]))
    return total, largest[2]["payment_type"]


def _allocations(
    export: OlistExport, order_id: str, items: list[_Item], allocated_at: datetime
) -> list[LandingEvent]:
    events = []
    for item in items:
        if item.ship_by is None:
            export.events_not_written["order.line_allocated: no shipping_limit_date"] += 1
            continue
        data = {
            "order_id": order_id,
            "line_id": item.line_id,
            "node_id": item.seller_id,
            "quantity": 1,
            "carrier": CARRIER,
            "service_level": SERVICE_LEVEL,
            "planned_ship_by": item.ship_by.isoformat(),
            "estimated_ship_cost": _number(item.freight),
            "attempt": 1,
        }
        event_id = f"olist:{order_id}:{item.line_id}:allocated"
        events.append(_envelope(event_id, "order.line_allocated", allocated_at, data))
    return events


def _shipments(
    export: OlistExport,
    order_id: str,
    items: list[_Item],
    handed_at: datetime | None,
    delivered_at: datetime | None,
) -> list[LandingEvent]:
    by_seller: dict[str, list[_Item]] = {}
    for item in items:  # in line order, so shipments follow the first line they carry
        by_seller.setdefault(item.seller_id, []).append(item)
    events = []
    for seller_id, lines in by_seller.items():
        shipment_id = f"{order_id}:{seller_id}"
        if handed_at is None:
            export.events_not_written["shipment.shipped: no order_delivered_carrier_date"] += 1
        else:
            data: dict[str, Any] = {
                "shipment_id": shipment_id,
                "order_id": order_id,
                "node_id": seller_id,
                "carrier": CARRIER,
                "service_level": SERVICE_LEVEL,
                "lines": [{"line_id": item.line_id, "quantity": 1} for item in lines],
                "shipping_cost": _number(sum((item.freight for item in lines), Decimal(0))),
            }
            weights = [export.weights_g.get(item.sku) for item in lines]
            if all(weight is not None for weight in weights):
                grams = sum((w for w in weights if w is not None), Decimal(0))
                data["weight_kg"] = _number(grams / 1000)
            event_id = f"olist:{order_id}:{seller_id}:shipped"
            events.append(_envelope(event_id, "shipment.shipped", handed_at, data))
        if delivered_at is None:
            export.events_not_written["shipment.delivered: no order_delivered_customer_date"] += 1
        else:
            events.append(
                _envelope(
                    f"olist:{order_id}:{seller_id}:delivered",
                    "shipment.delivered",
                    delivered_at,
                    {"shipment_id": shipment_id, "order_id": order_id},
                )
            )
    return events
