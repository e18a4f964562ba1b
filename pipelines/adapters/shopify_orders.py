"""A Shopify order's contract events, from the Order resource and what it embeds.

`order.placed`, `order.payment_authorized` and `order.line_cancelled` are built here; shipments
come from `shopify_fulfillments`, refunds from `shopify_refunds`. The mapping is described in the
docstring of `pipelines/adapters/shopify.py`.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from pipelines.adapters.landing_files import LandingEvent
from pipelines.adapters.shopify_export import Resource, ShopifyExport
from pipelines.adapters.shopify_fulfillments import shipment_events
from pipelines.adapters.shopify_refunds import refund_events
from pipelines.adapters.shopify_values import Skip, envelope, iso, money, parse_time, sku, slug

CHANNELS = {
    "web": "web",
    "pos": "store",
    "iphone": "app",
    "android": "app",
    "shopify_draft_order": "call_center",
}
CANCEL_REASONS = {
    "customer": "customer_request",
    "inventory": "out_of_stock",
    "fraud": "fraud",
    "declined": "payment_failed",
    "other": "other",
}
# Financial statuses that mean the payment was authorized or captured.
PAID = {"authorized", "paid", "partially_paid", "partially_refunded", "refunded"}


def convert_orders(export: ShopifyExport) -> list[LandingEvent]:
    """Every order's events, in order id order; a skipped order is counted with its reason."""
    skipped: Counter[str] = Counter()
    events: list[LandingEvent] = []
    for order in sorted(export.orders, key=lambda o: str(o.get("id"))):
        export.report.orders_read += 1
        try:
            events.extend(_order_events(export, order))
        except Skip as skip:
            skipped[skip.reason] += 1
            continue
        export.report.orders_converted += 1
    export.report.orders_skipped = dict(sorted(skipped.items()))
    return events


def _order_events(export: ShopifyExport, order: Resource) -> list[LandingEvent]:
    order_id = str(order.get("id") or "")
    if not order_id:
        raise Skip("invalid_value:id")
    items = order.get("line_items") or []
    if not items:
        raise Skip("no_items")
    address = order.get("shipping_address") or {}
    if not address.get("country_code"):
        raise Skip("no_shipping_address")
    placed = parse_time(order.get("created_at"), "created_at")
    currency = order.get("currency")
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
        raise Skip("invalid_value:currency")
    lines = _lines(export, items)
    shipping_lines = order.get("shipping_lines") or ()
    shipping = sum(
        (money(s.get("price"), "shipping_lines.price") for s in shipping_lines), Decimal("0.00")
    )
    service_level = slug(
        next((s.get("code") or s.get("title") for s in shipping_lines), None), "standard"
    )
    events = [_placed(export, order, order_id, placed, lines, shipping)]
    payment = _payment(order, order_id)
    if payment is not None:
        events.append(payment)
    shipments, fulfilled = shipment_events(export, order, order_id, shipping, service_level)
    events += shipments
    events += _cancellations(order, order_id, lines, fulfilled)
    events += refund_events(export, order, order_id)
    return events


def _lines(export: ShopifyExport, items: list[Resource]) -> list[dict[str, Any]]:
    """The order's lines; each sku's price (and weight, once) is kept for the sku rows."""
    lines = []
    for item in items:
        quantity = item.get("quantity")
        if not isinstance(quantity, int) or quantity <= 0:
            raise Skip("invalid_value:line_items.quantity")
        item_sku = sku(item)
        price = money(item.get("price"), "line_items.price")
        lines.append(
            {
                "line_id": str(item["id"]),
                "sku": item_sku,
                "quantity": quantity,
                "unit_price": float(price),
            }
        )
        export.sku_prices.setdefault(item_sku, []).append(price)
        if isinstance(item.get("grams"), int) and item["grams"] > 0:
            export.sku_grams.setdefault(item_sku, item["grams"])
    return lines


def _placed(
    export: ShopifyExport,
    order: Resource,
    order_id: str,
    placed: datetime,
    lines: list[dict[str, Any]],
    shipping: Decimal,
) -> LandingEvent:
    address = order["shipping_address"]
    country = address["country_code"]
    ship_to: dict[str, Any] = {
        "postal_code": address.get("zip") or None,
        "region": address.get("province_code") or address.get("province") or country,
        "country": country,
    }
    for key, name in (("latitude", "lat"), ("longitude", "lon")):
        if isinstance(address.get(key), int | float):
            ship_to[name] = address[key]
    customer = order.get("customer") or {}
    source_name = str(order.get("source_name") or "web")
    data = {
        "order_id": order_id,
        "channel": CHANNELS.get(source_name, "marketplace"),
        "customer_id": str(customer["id"]) if customer.get("id") else f"guest:{order_id}",
        "fulfillment_method": "delivery",
        "ship_to": ship_to,
        "promised_by": iso(_promised_by(export, order, placed)),
        "currency": order["currency"],
        "lines": lines,
        "shipping_charged": float(shipping),
    }
    return envelope(f"shopify:{order_id}:placed", "order.placed", placed, data)


def _promised_by(export: ShopifyExport, order: Resource, placed: datetime) -> datetime:
    if export.promise_attribute:
        for attribute in order.get("note_attributes") or ():
            if attribute.get("name") != export.promise_attribute or not attribute.get("value"):
                continue
            value = str(attribute["value"])
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                day = datetime.fromisoformat(value).date()
                promised = datetime.combine(day, time(23, 59, 59), tzinfo=placed.tzinfo)
            else:
                promised = parse_time(value, f"note_attributes.{export.promise_attribute}")
            export.report.promised_from_attribute += 1
            return promised
    return placed + timedelta(days=export.promise_days)


def _payment(order: Resource, order_id: str) -> LandingEvent | None:
    """`order.payment_authorized` when the financial status says money was taken."""
    if order.get("financial_status") not in PAID or not order.get("processed_at"):
        return None
    payment: dict[str, Any] = {
        "order_id": order_id,
        "amount": float(money(order.get("total_price"), "total_price")),
    }
    gateways = order.get("payment_gateway_names") or []
    if gateways:
        payment["payment_method"] = str(gateways[0])
    return envelope(
        f"shopify:{order_id}:payment",
        "order.payment_authorized",
        parse_time(order["processed_at"], "processed_at"),
        payment,
    )


def _cancellations(
    order: Resource, order_id: str, lines: list[dict[str, Any]], fulfilled: dict[str, int]
) -> list[LandingEvent]:
    """`order.line_cancelled` at `cancelled_at` for the units of each line never fulfilled."""
    if not order.get("cancelled_at"):
        return []
    cancelled_at = parse_time(order["cancelled_at"], "cancelled_at")
    reason = CANCEL_REASONS.get(str(order.get("cancel_reason") or "other"), "other")
    events = []
    for line in lines:
        left = line["quantity"] - fulfilled.get(line["line_id"], 0)
        if left > 0:
            events.append(
                envelope(
                    f"shopify:{order_id}:{line['line_id']}:cancelled",
                    "order.line_cancelled",
                    cancelled_at,
                    {
                        "order_id": order_id,
                        "line_id": line["line_id"],
                        "quantity": left,
                        "reason": reason,
                    },
                )
            )
    return events
