"""Shipment events of a Shopify order, from its Fulfillment resources and their tracking events.

One `shipment.shipped` per successful fulfilment from a known location, `shipment.delivered` at
its first `delivered` tracking event (else its `updated_at` when its status says delivered), and
`shipment.exception` for the tracking events that mean trouble.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

from pipelines.adapters.landing_files import LandingEvent
from pipelines.adapters.shopify_export import Resource, ShopifyExport
from pipelines.adapters.shopify_values import CENT, envelope, merged, parse_time, slug

EXCEPTION_CODES = {"delayed": "delayed", "failure": "other", "attempted_delivery": "other"}


def shipment_events(
    export: ShopifyExport,
    order: Resource,
    order_id: str,
    shipping: Decimal,
    service_level: str,
) -> tuple[list[LandingEvent], dict[str, int]]:
    """Shipment events of the order's successful fulfilments, and units fulfilled per line."""
    shipped = _successful(export, order, order_id)
    # What the customer paid for shipping, shared among the parcels to the cent.
    share = (shipping / len(shipped)).quantize(CENT, ROUND_DOWN) if shipped else Decimal(0)
    remainder = shipping - share * len(shipped)
    fulfilled: Counter[str] = Counter()
    grams = {str(i["id"]): i.get("grams") for i in order.get("line_items") or ()}
    events: list[LandingEvent] = []
    for n, fulfillment in enumerate(shipped):
        cost = share + (remainder if n == 0 else 0)
        events += _parcel_events(
            export, fulfillment, order_id, service_level, cost, grams, fulfilled
        )
    return events, dict(fulfilled)


def _successful(export: ShopifyExport, order: Resource, order_id: str) -> list[Resource]:
    """The order's fulfilments that shipped from a known location; the others are counted."""
    skipped = export.report.fulfillments_skipped
    shipped = []
    for fulfillment in merged(
        order.get("fulfillments") or [], export.extra_fulfillments.get(order_id, [])
    ):
        export.report.fulfillments_read += 1
        if fulfillment.get("status") != "success":
            reason = f"status_{fulfillment.get('status')}"
            skipped[reason] = skipped.get(reason, 0) + 1
            continue
        if str(fulfillment.get("location_id")) not in export.locations:
            skipped["unknown_location"] = skipped.get("unknown_location", 0) + 1
            continue
        shipped.append(fulfillment)
    return shipped


def _parcel_events(
    export: ShopifyExport,
    fulfillment: Resource,
    order_id: str,
    service_level: str,
    cost: Decimal,
    grams: dict[str, Any],
    fulfilled: Counter[str],
) -> list[LandingEvent]:
    """One fulfilment's shipped, delivered and exception events; adds its units to `fulfilled`."""
    node_id = str(fulfillment["location_id"])
    export.nodes_used.add(node_id)
    shipment_id = f"shopify:fulfillment:{fulfillment['id']}"
    carrier = slug(fulfillment.get("tracking_company"), "unknown")
    shipped_at = parse_time(fulfillment.get("created_at"), "fulfillments.created_at")
    lines = [
        {"line_id": str(li["id"]), "quantity": int(li["quantity"])}
        for li in fulfillment.get("line_items") or ()
    ]
    for line in lines:
        fulfilled[line["line_id"]] += line["quantity"]
    data: dict[str, Any] = {
        "shipment_id": shipment_id,
        "order_id": order_id,
        "node_id": node_id,
        "carrier": carrier,
        "service_level": service_level,
        "lines": lines,
        "shipping_cost": float(cost),
    }
    if fulfillment.get("tracking_number"):
        data["tracking_number"] = str(fulfillment["tracking_number"])
    weights = [grams.get(line["line_id"]) for line in lines]
    if weights and all(isinstance(g, int) and g > 0 for g in weights):
        total = sum(g * line["quantity"] for g, line in zip(weights, lines, strict=True))
        data["weight_kg"] = total / 1000
    events = [envelope(f"{shipment_id}:shipped", "shipment.shipped", shipped_at, data)]
    delivered_at = _delivered_at(export, fulfillment)
    if delivered_at is not None:
        events.append(
            envelope(
                f"{shipment_id}:delivered",
                "shipment.delivered",
                delivered_at,
                {"shipment_id": shipment_id, "order_id": order_id},
            )
        )
        days = (delivered_at.astimezone(UTC) - shipped_at.astimezone(UTC)).days
        export.transit.setdefault((carrier, service_level), []).append(max(days, 0))
    else:
        export.transit.setdefault((carrier, service_level), [])
    return events + _exception_events(export, fulfillment, shipment_id, order_id)


def _exception_events(
    export: ShopifyExport, fulfillment: Resource, shipment_id: str, order_id: str
) -> list[LandingEvent]:
    events = []
    for event in export.tracking.get(str(fulfillment["id"]), []):
        code = EXCEPTION_CODES.get(str(event.get("status")))
        if code is None:
            continue
        exception: dict[str, Any] = {
            "shipment_id": shipment_id,
            "order_id": order_id,
            "code": code,
        }
        if event.get("message"):
            exception["detail"] = str(event["message"])
        events.append(
            envelope(
                f"shopify:fulfillment_event:{event['id']}",
                "shipment.exception",
                parse_time(event.get("happened_at"), "fulfillment_events.happened_at"),
                exception,
            )
        )
    return events


def _delivered_at(export: ShopifyExport, fulfillment: Resource) -> datetime | None:
    delivered = [
        parse_time(e.get("happened_at"), "fulfillment_events.happened_at")
        for e in export.tracking.get(str(fulfillment["id"]), [])
        if e.get("status") == "delivered"
    ]
    if delivered:
        return min(delivered, key=lambda at: at.astimezone(UTC))
    if fulfillment.get("shipment_status") == "delivered" and fulfillment.get("updated_at"):
        return parse_time(fulfillment["updated_at"], "fulfillments.updated_at")
    return None
