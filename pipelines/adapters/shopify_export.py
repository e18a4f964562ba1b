"""A Shopify export read into memory, with the import's settings and what the conversion gathers.

`ShopifyExport.read(src, ...)` loads the Admin API bodies once; the order events
(`shopify_orders`, `shopify_fulfillments`, `shopify_refunds`) add to it what the reference rows
(`shopify_reference`) are built from: sku prices and weights, carrier transit days.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from pipelines.adapters.shopify_report import ShopifyImportReport
from pipelines.adapters.shopify_values import grouped, load

DEFAULT_PROMISE_DAYS = 5
DEFAULT_NODE_TYPE = "dc"
NODE_TYPES = ("dc", "store", "dropship", "3pl")

Resource = dict[str, Any]


@dataclass
class ShopifyExport:
    orders: list[Resource]
    locations: dict[str, Resource]  # location id -> location
    extra_fulfillments: dict[str, list[Resource]]  # order id -> separately fetched fulfilments
    extra_refunds: dict[str, list[Resource]]  # order id -> separately fetched refunds
    tracking: dict[str, list[Resource]]  # fulfilment id -> its fulfillment events
    promise_days: int
    promise_attribute: str | None
    node_type: str
    report: ShopifyImportReport = field(default_factory=ShopifyImportReport)
    # Gathered while converting orders, for the reference rows.
    sku_prices: dict[str, list[Decimal]] = field(default_factory=dict)
    sku_grams: dict[str, int] = field(default_factory=dict)
    transit: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    nodes_used: set[str] = field(default_factory=set)

    @classmethod
    def read(
        cls, src: Path, *, promise_days: int, promise_attribute: str | None, node_type: str
    ) -> ShopifyExport:
        """Load the export in `src`; raises FileNotFoundError or ValueError saying what is wrong."""
        order_files = sorted(src.glob("orders*.json"))
        if not order_files:
            raise FileNotFoundError(
                f"{src} has no orders.json: save the body of GET /admin/api/<version>/orders.json"
                "?status=any there (and locations.json from GET .../locations.json)"
            )
        if not (src / "locations.json").exists():
            raise FileNotFoundError(
                f"{src} has no locations.json: save the body of GET /admin/api/<version>/"
                "locations.json there"
            )
        if promise_days < 0:
            raise ValueError("promise_days must be 0 or more")
        if node_type not in NODE_TYPES:
            raise ValueError(f"node_type must be one of {', '.join(NODE_TYPES)}")
        orders = [o for path in order_files for o in load(path, "orders")]
        locations = {str(loc["id"]): loc for loc in load(src / "locations.json", "locations")}
        optional = {
            name: load(src / f"{name}.json", name) if (src / f"{name}.json").exists() else []
            for name in ("fulfillments", "refunds", "fulfillment_events")
        }
        export = cls(
            orders=orders,
            locations=locations,
            extra_fulfillments=grouped(optional["fulfillments"], "order_id"),
            extra_refunds=grouped(optional["refunds"], "order_id"),
            tracking=grouped(optional["fulfillment_events"], "fulfillment_id"),
            promise_days=promise_days,
            promise_attribute=promise_attribute,
            node_type=node_type,
        )
        export.report.promise_definition = export.promise_definition()
        return export

    def promise_definition(self) -> str:
        days = f"created_at + {self.promise_days} days"
        if self.promise_attribute:
            return f"note attribute {self.promise_attribute!r}, else {days}"
        return days
