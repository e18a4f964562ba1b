"""`refund.issued` events of a Shopify order, from its Refund resources."""

from __future__ import annotations

from typing import Any

from pipelines.adapters.landing_files import LandingEvent
from pipelines.adapters.shopify_export import Resource, ShopifyExport
from pipelines.adapters.shopify_values import envelope, merged, money, parse_time


def refund_events(export: ShopifyExport, order: Resource, order_id: str) -> list[LandingEvent]:
    """One event per refund that paid money back (its successful `refund` transactions)."""
    events = []
    for refund in merged(order.get("refunds") or [], export.extra_refunds.get(order_id, [])):
        export.report.refunds_read += 1
        paid_back = [
            money(t.get("amount"), "refunds.transactions.amount")
            for t in refund.get("transactions") or ()
            if t.get("kind") == "refund" and t.get("status") == "success"
        ]
        if not paid_back:
            export.report.refunds_without_money += 1
            continue
        data: dict[str, Any] = {"order_id": order_id, "amount": float(sum(paid_back))}
        if refund.get("note"):
            data["reason"] = str(refund["note"])
        at = parse_time(
            refund.get("processed_at") or refund.get("created_at"), "refunds.created_at"
        )
        events.append(envelope(f"shopify:refund:{refund['id']}", "refund.issued", at, data))
    return events
