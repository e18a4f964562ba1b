"""What a Shopify import did with every order read: the counts `omsi import-shopify` prints."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class ShopifyImportReport:
    """Accounts for every order read: read = converted + skipped."""

    orders_read: int = 0
    orders_converted: int = 0
    orders_skipped: dict[str, int] = field(default_factory=dict)  # reason -> orders
    fulfillments_read: int = 0
    fulfillments_skipped: dict[str, int] = field(default_factory=dict)
    refunds_read: int = 0
    refunds_without_money: int = 0  # no successful refund transaction: nothing was paid back
    events_written: dict[str, int] = field(default_factory=dict)
    event_files: dict[str, int] = field(default_factory=dict)
    reference_rows: dict[str, int] = field(default_factory=dict)
    promise_definition: str = ""
    promised_from_attribute: int = 0

    @property
    def orders_skipped_total(self) -> int:
        return sum(self.orders_skipped.values())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"orders_skipped_total": self.orders_skipped_total}

    def render(self) -> str:
        def listing(counts: dict[str, int]) -> str:
            return ", ".join(f"{key} {value:,}" for key, value in counts.items()) or "none"

        return "\n".join(
            [
                f"Shopify import: {self.orders_read:,} orders read, {self.orders_converted:,} "
                f"converted, {self.orders_skipped_total:,} skipped "
                f"({listing(self.orders_skipped)})",
                f"  fulfillments: {self.fulfillments_read:,} read, skipped: "
                f"{listing(self.fulfillments_skipped)}",
                f"  refunds: {self.refunds_read:,} read, {self.refunds_without_money:,} without "
                "a successful refund transaction (not written)",
                f"  events: {sum(self.events_written.values()):,} written "
                f"({listing(self.events_written)}) in {len(self.event_files)} monthly files",
                f"  reference rows: {listing(self.reference_rows)}",
                f"  promise: promised_by = {self.promise_definition} "
                f"({self.promised_from_attribute:,} orders from the note attribute)",
            ]
        )
