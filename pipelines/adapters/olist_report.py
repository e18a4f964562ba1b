"""What an Olist import did with every source row: the counts `omsi import-olist` prints."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

PROMISE_DEFINITION = "order_estimated_delivery_date at local midnight (delivery after it is late)"


@dataclass
class OlistImportReport:
    """Accounts for every source row: read = converted + skipped (+ orphaned for child rows)."""

    orders_read: int = 0
    orders_converted: int = 0
    orders_skipped: dict[str, int] = field(default_factory=dict)  # reason -> orders
    orders_by_status: dict[str, int] = field(default_factory=dict)
    items_read: int = 0
    items_converted: int = 0
    items_in_skipped_orders: int = 0
    items_orphaned: int = 0  # their order_id is not in orders.csv
    payments_read: int = 0
    payments_orphaned: int = 0
    events_written: dict[str, int] = field(default_factory=dict)  # event_type -> events
    events_not_written: dict[str, int] = field(default_factory=dict)  # "type: why" -> events
    event_files: dict[str, int] = field(default_factory=dict)  # file name -> lines
    reference_rows: dict[str, int] = field(default_factory=dict)  # file name -> rows
    products_read: int = 0
    products_unsold: int = 0
    skus_without_product_row: int = 0
    sellers_read: int = 0
    sellers_without_items: int = 0
    sellers_unusable: int = 0  # no state: cannot be a node with a region
    transit_days: int = 0
    promise_definition: str = PROMISE_DEFINITION
    delivered_orders: int = 0
    delivered_late: int = 0

    @property
    def orders_skipped_total(self) -> int:
        return sum(self.orders_skipped.values())

    @property
    def late_rate(self) -> float | None:
        """Share of delivered orders that arrived after promised_by, from the written events."""
        return self.delivered_late / self.delivered_orders if self.delivered_orders else None

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "orders_skipped_total": self.orders_skipped_total,
            "late_rate": self.late_rate,
        }

    def render(self) -> str:
        def listing(counts: dict[str, int]) -> str:
            return ", ".join(f"{key} {value:,}" for key, value in counts.items()) or "none"

        late = f"{self.late_rate:.2%}" if self.late_rate is not None else "n/a"
        return "\n".join(
            [
                f"Olist import: {self.orders_read:,} orders read, {self.orders_converted:,} "
                f"converted, {self.orders_skipped_total:,} skipped "
                f"({listing(self.orders_skipped)})",
                f"  orders by status: {listing(self.orders_by_status)}",
                f"  order items: {self.items_read:,} read, {self.items_converted:,} converted, "
                f"{self.items_in_skipped_orders:,} in skipped orders, "
                f"{self.items_orphaned:,} without an order",
                f"  events: {sum(self.events_written.values()):,} written "
                f"({listing(self.events_written)}) in {len(self.event_files)} monthly files",
                f"  events not written: {listing(self.events_not_written)}",
                f"  reference rows: {listing(self.reference_rows)}; "
                f"products never sold {self.products_unsold:,}, "
                f"sellers without items {self.sellers_without_items:,}; "
                f"carrier transit_days {self.transit_days}",
                f"  promise: {self.delivered_late:,} of {self.delivered_orders:,} delivered "
                f"orders late ({late}); promised_by = {self.promise_definition}",
            ]
        )
