"""The reference CSVs of an Olist import: sellers as nodes, sold products as skus, one carrier.

The mapping is described in the docstring of `pipelines/adapters/olist.py`.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal

from pipelines.adapters.brazil_states import state_centroid
from pipelines.adapters.olist_export import CARRIER, COUNTRY, SERVICE_LEVEL, OlistExport
from pipelines.adapters.olist_source import InvalidValue, money

CENT = Decimal("0.01")


def _text(value: Decimal) -> str:
    """Plain decimal text for CSV: no exponent, no trailing zeros."""
    return format(value.normalize(), "f")


def node_rows(export: OlistExport) -> list[dict[str, str]]:
    sold_by = {row["seller_id"] for rows in export.items.values() for row in rows}
    export.report.sellers_without_items = sum(1 for s in export.sellers if s not in sold_by)
    rows = []
    for seller_id in sorted(export.sellers):
        seller = export.sellers[seller_id]
        centroid = state_centroid(seller["seller_state"])
        lat, lon = (f"{c:.2f}" for c in centroid) if centroid else ("", "")
        rows.append(
            {
                "node_id": seller_id,
                "node_type": "dropship",
                "name": seller["seller_city"],
                "region": seller["seller_state"],
                "country": COUNTRY,
                "lat": lat,
                "lon": lon,
            }
        )
    return rows


def sku_rows(export: OlistExport) -> list[dict[str, str]]:
    prices: dict[str, list[Decimal]] = defaultdict(list)
    for rows in export.items.values():
        for row in rows:
            try:
                price = money(row, "price")
            except InvalidValue:
                continue  # its order is skipped and reported; the sku may still sell
            prices[row["product_id"]].append(price)
    prices.pop("", None)
    export.report.products_unsold = sum(1 for p in export.products if p not in prices)
    export.report.skus_without_product_row = sum(1 for p in prices if p not in export.products)
    rows = []
    for sku in sorted(prices):
        product = export.products.get(sku, {})
        portuguese = product.get("product_category_name", "")
        category = export.english.get(portuguese) or portuguese or "unknown"
        median = Decimal(statistics.median(prices[sku])).quantize(CENT, ROUND_HALF_EVEN)
        grams = export.weights_g.get(sku)
        rows.append(
            {
                "sku": sku,
                "category": category,
                "unit_price": _text(median),
                "weight_kg": _text(grams / 1000) if grams is not None else "",
            }
        )
    return rows


def carrier_rows(export: OlistExport) -> list[dict[str, str]]:
    return [
        {
            "carrier": CARRIER,
            "service_level": SERVICE_LEVEL,
            "transit_days": str(export.report.transit_days),
        }
    ]
