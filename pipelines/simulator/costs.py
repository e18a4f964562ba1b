"""What each order cost the simulated retailer, as the simulator paid it: the cost ledger.

One row per cost-bearing fact (units picked at a node, a parcel packed or shipped, a payment,
a service contact, a return received, a refund with nothing returned), written to
`truth/order_costs.parquet`. The amounts are what the simulator charged itself (shipping and
return labels, refunds, pick/pack at the node's own rate); the components a cost model prices
(packaging, payment fees, contact time, return handling) are given as quantities, so a test can
price them with the same model the marts use and compare to the cent.
"""

from __future__ import annotations

from typing import Any

# component -> what `quantity` and `amount` hold
COMPONENTS = {
    "pick_pack": ("units packed at the node", "units x the node's pick/pack rate"),
    "packaging": ("parcels packed", "0 (priced by the cost model)"),
    "outbound_shipping": ("parcels shipped", "the label's shipping_cost"),
    "payment": ("payments authorized", "the authorized amount"),
    "contact_chat": ("chat contacts", "0 (priced by the cost model)"),
    "contact_phone": ("phone contacts", "0 (priced by the cost model)"),
    "contact_email": ("email contacts", "0 (priced by the cost model)"),
    "contact_store": ("store contacts", "0 (priced by the cost model)"),
    "return_shipping": ("returns received", "the return label's cost"),
    "return_handling": ("units received back", "0 (priced by the cost model)"),
    "unreturned_refund": ("refunds with no return", "the refunded amount"),
}


class CostLedger:
    """Cost rows gathered during a day, handed to the truth writer as columns."""

    def __init__(self) -> None:
        # One tuple per row: a single append on the path every order takes several times.
        self._rows: list[tuple[str, str, int, float]] = []

    def add(self, order_id: str, component: str, quantity: int, amount: float = 0.0) -> None:
        self._rows.append((order_id, component, quantity, amount))

    def take(self) -> dict[str, Any]:
        """The rows so far as columns; the ledger starts empty again."""
        rows, self._rows = self._rows, []
        order_ids, components, quantities, amounts = (
            (list(column) for column in zip(*rows, strict=True)) if rows else ([], [], [], [])
        )
        return {
            "order_id": order_ids,
            "component": components,
            "quantity": quantities,
            "amount": amounts,
        }
