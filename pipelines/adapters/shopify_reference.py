"""The reference CSVs of a Shopify import: locations as nodes, sold skus, carriers seen."""

from __future__ import annotations

import statistics
from decimal import Decimal

from pipelines.adapters.shopify_export import ShopifyExport
from pipelines.adapters.shopify_values import CENT


def node_rows(export: ShopifyExport) -> list[dict[str, str]]:
    rows = []
    for node_id in sorted(export.locations):
        location = export.locations[node_id]
        rows.append(
            {
                "node_id": node_id,
                "node_type": export.node_type,
                "name": str(location.get("name") or node_id),
                # Empty when the country has no provinces: the contract reads it as unknown.
                "region": str(location.get("province_code") or ""),
                "country": str(location.get("country_code") or ""),
            }
        )
    return rows


def sku_rows(export: ShopifyExport) -> list[dict[str, str]]:
    """Each sku sold, at its median price; no category (line items carry no product type)."""
    rows = []
    for sku in sorted(export.sku_prices):
        price = Decimal(statistics.median(export.sku_prices[sku])).quantize(CENT)
        row = {"sku": sku, "category": "unknown", "unit_price": format(price, "f")}
        if sku in export.sku_grams:
            row["weight_kg"] = format(Decimal(export.sku_grams[sku]) / 1000, "f")
        rows.append(row)
    return rows


def carrier_rows(export: ShopifyExport) -> list[dict[str, str]]:
    """Each (carrier, service) seen, with its median transit days, else the promise days."""
    return [
        {
            "carrier": carrier,
            "service_level": service_level,
            "transit_days": str(round(statistics.median(days)) if days else export.promise_days),
        }
        for (carrier, service_level), days in sorted(export.transit.items())
    ]
