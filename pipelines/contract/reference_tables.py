"""The contract's reference tables (docs/event-contract.md, reference data): columns and rules.

Adapters and the simulator write these columns in this order; ingest validates against them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # text | integer | double | date
    required: bool = False
    allowed: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class ReferenceSpec:
    table: str  # where ingest lands it
    key: tuple[str, ...]
    columns: tuple[Column, ...] = field(default_factory=tuple)


# The contract's reference tables (docs/event-contract.md, reference data); optional columns may be
# absent from the file or empty, and then load as NULL, never as zero.
SPECS: dict[str, ReferenceSpec] = {
    "nodes": ReferenceSpec(
        "raw.nodes",
        ("node_id",),
        (
            Column("node_id", "text", required=True),
            Column("node_type", "text", required=True, allowed=("dc", "store", "dropship", "3pl")),
            Column("name", "text", required=True),
            Column("region", "text"),  # a vendor's region is often unknown
            Column("country", "text"),
            Column("lat", "double", low=-90, high=90),
            Column("lon", "double", low=-180, high=180),
            Column("daily_capacity_units", "integer", low=0),
            Column("pick_pack_cost_per_unit", "double", low=0),
            Column("opened_on", "date"),
        ),
    ),
    "skus": ReferenceSpec(
        "raw.skus",
        ("sku",),
        (
            Column("sku", "text", required=True),
            Column("category", "text", required=True),
            Column("unit_price", "double", required=True, low=0),
            Column("unit_cost", "double", low=0),
            Column("weight_kg", "double", low=0),
            Column("abc_class", "text", allowed=("A", "B", "C")),
        ),
    ),
    "carriers": ReferenceSpec(
        "raw.carriers",
        ("carrier", "service_level"),
        (
            Column("carrier", "text", required=True),
            Column("service_level", "text", required=True),
            Column("transit_days", "integer", required=True, low=0),
            Column("base_cost", "double", low=0),
            Column("cost_per_kg", "double", low=0),
        ),
    ),
}


def reference_columns(kind: str) -> tuple[str, ...]:
    """The CSV header of a reference file, in the contract's order."""
    return tuple(c.name for c in SPECS[kind].columns)
