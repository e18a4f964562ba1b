"""An Olist export read into memory: its tables indexed for the conversion, and what it reports.

`OlistExport.read(src)` checks and reads the seven CSVs once; the order events
(`olist_orders`) and the reference rows (`olist_reference`) are both built from it.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from pipelines.adapters import olist_source as source
from pipelines.adapters.olist_report import OlistImportReport
from pipelines.adapters.olist_source import InvalidValue, local_time

# Olist names no carrier: every parcel goes by one carrier row (the module docstring of
# `pipelines/adapters/olist.py` says why).
CARRIER = "correios"
SERVICE_LEVEL = "standard"
COUNTRY = "BR"

Row = dict[str, str]


def as_utc(at: datetime) -> datetime:
    return at.astimezone(UTC)


@dataclass
class OlistExport:
    orders: list[Row]
    customers: dict[str, Row]  # customer_id -> row
    sellers: dict[str, Row]  # seller_id -> row, only sellers with a state
    products: dict[str, Row]  # product_id -> row
    english: dict[str, str]  # Portuguese category name -> English
    items: dict[str, list[Row]]  # order_id -> its order_items rows
    payments: dict[str, list[Row]]  # order_id -> its payment rows
    weights_g: dict[str, Decimal]  # product_id -> weight, where known
    report: OlistImportReport = field(default_factory=OlistImportReport)
    # "event_type: why" -> events that could not be written, filled by the conversion.
    events_not_written: Counter[str] = field(default_factory=Counter)

    @classmethod
    def read(cls, src: Path) -> OlistExport:
        """Read the export in `src`; raises ValueError naming a missing CSV or column."""
        source.check_source(src)
        orders = source.read_rows(src, source.ORDERS)
        item_rows = source.read_rows(src, source.ITEMS)
        payment_rows = source.read_rows(src, source.PAYMENTS)
        seller_rows = source.read_rows(src, source.SELLERS)
        product_rows = source.read_rows(src, source.PRODUCTS)
        names = source.read_rows(src, source.CATEGORY_NAMES)
        items: dict[str, list[Row]] = defaultdict(list)
        for row in item_rows:
            items[row["order_id"]].append(row)
        payments: dict[str, list[Row]] = defaultdict(list)
        for row in payment_rows:
            payments[row["order_id"]].append(row)
        products = {r["product_id"]: r for r in product_rows}
        export = cls(
            orders=orders,
            customers={r["customer_id"]: r for r in source.read_rows(src, source.CUSTOMERS)},
            sellers={r["seller_id"]: r for r in seller_rows if r["seller_state"]},
            products=products,
            english={r["product_category_name"]: r["product_category_name_english"] for r in names},
            items=items,
            payments=payments,
            weights_g={
                pid: source.optional_decimal(row, "product_weight_g")
                for pid, row in products.items()
                if row["product_weight_g"]
            },
        )
        order_ids = {row["order_id"] for row in orders}
        report = export.report
        report.items_read = len(item_rows)
        report.items_orphaned = sum(len(v) for k, v in items.items() if k not in order_ids)
        report.payments_read = len(payment_rows)
        report.payments_orphaned = sum(len(v) for k, v in payments.items() if k not in order_ids)
        report.sellers_read = len(seller_rows)
        report.products_read = len(product_rows)
        report.sellers_unusable = len(seller_rows) - len(export.sellers)
        report.transit_days = median_transit_days(orders)
        return export


def median_transit_days(orders: list[Row]) -> int:
    """Median whole days from hand-off to carrier to delivery, over orders with both."""
    days = []
    for row in orders:
        try:
            handed = local_time(row, "order_delivered_carrier_date")
            delivered = local_time(row, "order_delivered_customer_date")
        except InvalidValue:
            continue  # that order is skipped later with its reason
        if handed and delivered and delivered >= handed:
            days.append((as_utc(delivered) - as_utc(handed)).days)
    if not days:
        raise ValueError(
            "orders.csv has no order with both order_delivered_carrier_date and "
            "order_delivered_customer_date, so the carrier's transit_days cannot be measured."
            " Convert an export that includes delivered orders."
        )
    return round(statistics.median(days))
