"""The named records the order flow hands from one step to the next."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np


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
