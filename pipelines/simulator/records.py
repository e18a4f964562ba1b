"""The named records the order flow hands from one step to the next, and the state the walk over
one day's orders changes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from pipelines.simulator.draws import OrderDraws
from pipelines.simulator.sourcing import RoutingPlan


class ParcelLine(NamedTuple):
    line_id: str
    sku: int  # index into the catalogue
    quantity: int


class Parcel(NamedTuple):
    """A group of an order's lines allocated to one node together: one shipment."""

    order_id: str
    node: int
    lines: list[ParcelLine]
    allocated_t: int
    metro: int  # the destination
    service: str
    promised_t: int
    store_node: int  # the pickup store, -1 for a delivery
    backlog_days: int  # days the node's backlog holds the parcel back
    queue_units: float  # the node's open units as it was allocated (0: allocated for a later day)


class OrderTail(NamedTuple):
    """What the order truth and the after-sale need of an order, and where its parcels are."""

    order_id: str
    placed_t: int
    promised_t: int
    metro: int
    is_pickup: bool
    channel: str
    first_parcel: int  # the order's parcels are the day's parcels[first_parcel:end_parcel]
    end_parcel: int


class Shipment(NamedTuple):
    """What the rest of an order (returns, refunds, contacts) needs to know of a shipment."""

    late: bool
    done_t: int  # delivered, or ready for pickup
    lines: list[ParcelLine]
    lost: bool
    damaged: bool


class StockOp(NamedTuple):
    """A stock change that takes effect at the start of a later day."""

    node: int
    sku: int
    quantity: int
    reason: str  # "sale" (a backordered line leaves) or "return_restock"
    t: int  # when the event is dated


class OrderDrivers:
    """The hidden truth of what happened to an order while it was sourced.

    Class attributes are the defaults and an instance stores only what changed: one is made per
    order, and a class without `__init__` is made without a Python frame.
    """

    rejected: bool = False
    reallocated: bool = False
    backordered: bool = False
    cancel_reason: str = ""


class EventColumns(NamedTuple):
    """Events of one type gathered for `EventSink.emit_many`: their times and their data."""

    times: list[int]
    datas: list[str]


@dataclass(slots=True)
class ParcelFates:
    """The day's parcels as the late-delivery model drew them, one array entry per parcel."""

    parcels: list[Parcel]
    shipment_ids: list[str]
    carriers: list[int]
    p_late: np.ndarray
    p_late_at_allocation: np.ndarray  # with what was unsettled at allocation integrated out
    late: np.ndarray
    slack: np.ndarray
    backlog_days: np.ndarray
    weather: np.ndarray
    carrier_disruption: np.ndarray
    node_effect: np.ndarray
    carrier_effect: np.ndarray


@dataclass(slots=True)
class DayState:
    """What the walk over one day's orders changes, and what it gathers for after the walk."""

    day: int
    plan: RoutingPlan
    walk: OrderDraws  # the draws of the day's orders as they are walked
    rec: list[list[int]]  # the system's stock record by node and SKU, as lists for speed
    tru: list[list[int]]  # the true stock
    true_cap: list[float]  # each node's capacity today (hidden staffing)
    day_noise: list[float]  # each node's hidden reliability today (logit)
    used: list[float]  # units allocated to each node today
    parcels: list[Parcel] = field(default_factory=list)
    tails: list[OrderTail] = field(default_factory=list)
    drivers: list[OrderDrivers] = field(default_factory=list)
    paid: EventColumns = field(default_factory=lambda: EventColumns([], []))
    allocated: EventColumns = field(default_factory=lambda: EventColumns([], []))
    order: int = -1  # the index of the order being walked
    touched: list[int] = field(default_factory=list)  # cells (node * SKUs + sku) rec/tru changed

    def draws(self) -> OrderDraws:
        """The draws of the order being walked: made when it first draws (most never do)."""
        return self.walk.of(self.order)


@dataclass(slots=True)
class LineSourcing:
    """An order's sourcing while its lines are allocated: a rejected in-store pick turns the
    rest of the order into a transfer, so mode and candidates carry from line to line."""

    mode: str  # in_store, transfer or delivery
    candidates: list[int]
    groups: dict[tuple[int, int], list[ParcelLine]]  # lines by (node, parcel key)
    group_t: dict[tuple[int, int], int]  # when each group was allocated
