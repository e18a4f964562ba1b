"""Read an Olist marketplace export: which files and columns it must have, and how values parse.

Values are read as text (stdlib csv) so zip prefixes keep their leading zeros and money stays
exact (Decimal) until it is written. A malformed value raises `InvalidValue` naming its column,
which the converter turns into a per-order skip reason instead of aborting the whole import.
"""

from __future__ import annotations

import csv
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo

# Olist stamps every time in Brazilian local time without an offset; the marketplace runs on
# Sao Paulo time (Brasilia time, with daylight saving time until 2019).
SAO_PAULO = ZoneInfo("America/Sao_Paulo")

ORDERS = "orders.csv"
ITEMS = "order_items.csv"
CUSTOMERS = "customers.csv"
SELLERS = "sellers.csv"
PRODUCTS = "products.csv"
PAYMENTS = "order_payments.csv"
CATEGORY_NAMES = "product_category_name_translation.csv"

# Only the columns the mapping reads; the export may carry more.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    ORDERS: (
        "order_id",
        "customer_id",
        "order_status",
        "order_purchase_timestamp",
        "order_approved_at",
        "order_delivered_carrier_date",
        "order_delivered_customer_date",
        "order_estimated_delivery_date",
    ),
    ITEMS: (
        "order_id",
        "order_item_id",
        "product_id",
        "seller_id",
        "shipping_limit_date",
        "price",
        "freight_value",
    ),
    CUSTOMERS: (
        "customer_id",
        "customer_unique_id",
        "customer_zip_code_prefix",
        "customer_state",
    ),
    SELLERS: ("seller_id", "seller_city", "seller_state"),
    PRODUCTS: ("product_id", "product_category_name", "product_weight_g"),
    PAYMENTS: ("order_id", "payment_sequential", "payment_type", "payment_value"),
    CATEGORY_NAMES: ("product_category_name", "product_category_name_english"),
}


class InvalidValue(ValueError):
    """A value in the export that cannot be mapped; `column` becomes the skip reason."""

    def __init__(self, column: str, value: str, why: str) -> None:
        super().__init__(f"{column}={value!r}: {why}")
        self.column = column


def check_source(src: Path) -> None:
    """Fail early, naming every missing CSV, before any output is written."""
    if not src.is_dir():
        raise ValueError(
            f"Olist source folder not found: {src}. Pass the folder that holds the Olist CSVs "
            f"({', '.join(REQUIRED_COLUMNS)})."
        )
    missing = [name for name in REQUIRED_COLUMNS if not (src / name).is_file()]
    if missing:
        raise ValueError(
            f"Olist source {src} lacks required file(s): {', '.join(missing)}. "
            "Export all seven Olist tables into that folder (names as in the Kaggle release)."
        )


def read_rows(src: Path, name: str) -> list[dict[str, str]]:
    """All rows of one export file as text, after checking its header has the needed columns."""
    path = src / name
    # utf-8-sig: the Kaggle release of the translation table starts with a byte-order mark.
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        missing = [column for column in REQUIRED_COLUMNS[name] if column not in header]
        if missing:
            raise ValueError(
                f"{path} lacks column(s) {', '.join(missing)}; found {', '.join(header) or 'none'}."
                " Re-export the file with its original Olist header."
            )
        return [{key: (value or "").strip() for key, value in row.items() if key} for row in reader]


def local_time(row: dict[str, str], column: str) -> datetime | None:
    """The column's Sao Paulo wall-clock time as an aware datetime; None when empty.

    In the hour repeated when daylight saving time ends, the first (summer-time) reading is
    taken (fold=0); a wall time skipped when it starts maps to the same instant as the next
    valid one, so no value is rejected for falling in a DST gap.
    """
    value = row[column]
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as error:
        raise InvalidValue(column, value, "not a date or date-time") from error
    if parsed.tzinfo is not None:
        raise InvalidValue(column, value, "Olist times are local wall-clock times without offset")
    return parsed.replace(tzinfo=SAO_PAULO)


def money(row: dict[str, str], column: str) -> Decimal:
    """A non-negative amount in BRL, exact."""
    value = row[column]
    try:
        amount = Decimal(value)
    except InvalidOperation as error:
        raise InvalidValue(column, value, "not a number") from error
    if not amount.is_finite() or amount < 0:
        raise InvalidValue(column, value, "must be a finite amount >= 0")
    return amount


def positive_int(row: dict[str, str], column: str) -> int:
    value = row[column]
    try:
        number = int(value)
    except ValueError as error:
        raise InvalidValue(column, value, "not an integer") from error
    if number < 1:
        raise InvalidValue(column, value, "must be >= 1")
    return number


def optional_decimal(row: dict[str, str], column: str) -> Decimal | None:
    """A non-negative measurement, or None when empty or unusable (it is optional downstream)."""
    value = row[column]
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    return number if number.is_finite() and number >= 0 else None


def zip_prefix(value: str) -> str:
    """Olist zip prefixes are 5 digits; exports that went through a spreadsheet lost the zeros."""
    return value.zfill(5) if value.isdigit() else value
