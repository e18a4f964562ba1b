"""Checkout: the day's orders as the storefront records them, before and after sourcing.

Ids, amounts, shipping charges and payments are computed for the whole day at once before the
walk over the orders; the `order.placed` data, which carries the promise the walk makes, after
it. Neither depends on the stock.
"""

from __future__ import annotations

from itertools import repeat
from typing import Any, NamedTuple

import numpy as np

from pipelines.simulator import payloads
from pipelines.simulator.catalogue import Catalogue
from pipelines.simulator.demand import CHANNELS, SERVICES, DayOrders
from pipelines.simulator.emit import DAY, TIME_OF_DAY, EventSink
from pipelines.simulator.network import METROS
from pipelines.simulator.records import EventColumns, OrderTail


class OrderRequest(NamedTuple):
    """One order of the day as demand drew it, with its ids and its payment."""

    placed_t: int
    order_id: str
    metro: int
    channel: str
    is_pickup: bool
    service: str
    skus: list[int]
    qtys: list[int]
    line_ids: list[str]
    pre_cancel: int  # an index into _CANCEL_REASONS
    promise_days: int
    payment: tuple[str, float, str]  # the order.payment_authorized row
    pay_delay: int
    alloc_wait: int


class CheckoutDay(NamedTuple):
    """The day's orders at checkout; ids, lines and channels flat, in the order of `requests`."""

    requests: list[OrderRequest]
    order_ids: list[str]
    line_ids: list[str]  # like DayOrders.sku
    channels: list[str]
    charges: list[float]  # shipping charged


class Checkout:
    """Numbers the orders and writes what the storefront says about them."""

    def __init__(
        self,
        cfg: dict[str, Any],
        cat: Catalogue,
        node_ids: list[str],
        pickup_store: np.ndarray,
        sink: EventSink,
    ) -> None:
        self.ocfg = cfg["orders"]
        self.currency, self.country = cfg["world"]["currency"], cfg["world"]["country"]
        self.price_arr, self.price, self.sku_ids = cat.price, cat.price.tolist(), cat.sku_ids
        self.node_ids, self.pickup_store = node_ids, pickup_store
        self.metro_zip = [m[6] for m in METROS]
        self.metro_state = [m[1] for m in METROS]
        self.metro_lat = np.array([m[2] for m in METROS])
        self.metro_lon = np.array([m[3] for m in METROS])
        self.sink, self.ts = sink, sink.clock.ts
        self.order_seq = 0

    def requests(self, day: int, orders: DayOrders) -> CheckoutDay:
        """The day's orders as requests, with their ids, payments and shipping charges.

        What an order's events say that the stock cannot change is computed here for the whole
        day at once.
        """
        n = orders.n
        first = self.order_seq + 1
        self.order_seq += n
        oids = [f"SO{k:08d}" for k in range(first, first + n)]
        starts = orders.line_start
        line_order = np.repeat(np.arange(n), np.diff(starts))
        line_no = np.arange(len(orders.sku)) - starts[line_order] + 1
        line_ids = [
            f"{oids[o]}-{k}" for o, k in zip(line_order.tolist(), line_no.tolist(), strict=True)
        ]
        subtotal = np.add.reduceat(self.price_arr[orders.sku] * orders.qty, starts[:-1])
        ocfg = self.ocfg
        charge_by = ocfg["shipping_charge"]
        charge = np.select(
            [orders.pickup, orders.service == 0, orders.service == 1],
            [
                0.0,
                np.where(subtotal >= ocfg["free_shipping_over"], 0.0, charge_by["standard"]),
                charge_by["express"],
            ],
            charge_by["next_day"],
        ).tolist()
        amounts = [round(st + ch, 2) for st, ch in zip(subtotal.tolist(), charge, strict=True)]
        payments = [
            (oid, amount, "wallet" if w else "card")
            for oid, amount, w in zip(oids, amounts, orders.wallet.tolist(), strict=True)
        ]
        channels = [CHANNELS[c] for c in orders.channel.tolist()]
        ls = starts.tolist()
        sku, qty = orders.sku.tolist(), orders.qty.tolist()
        columns = zip(
            (orders.placed_sec + day * DAY).tolist(),
            oids,
            orders.metro.tolist(),
            channels,
            orders.pickup.tolist(),
            [SERVICES[v] for v in orders.service.tolist()],
            [sku[a:b] for a, b in zip(ls[:-1], ls[1:], strict=True)],
            [qty[a:b] for a, b in zip(ls[:-1], ls[1:], strict=True)],
            [line_ids[a:b] for a, b in zip(ls[:-1], ls[1:], strict=True)],
            orders.pre_cancel.tolist(),
            orders.promise_days.tolist(),
            payments,
            orders.pay_delay.tolist(),
            orders.alloc_wait.tolist(),
            strict=True,
        )
        # tuple.__new__ from C: no Python frame per order for the record.
        requests = list(map(tuple.__new__, repeat(OrderRequest), columns))
        return CheckoutDay(requests, oids, line_ids, channels, charge)

    def emit(
        self,
        orders: DayOrders,
        day: CheckoutDay,
        tails: list[OrderTail],
        paid: EventColumns,
        allocated: EventColumns,
    ) -> None:
        """The day's placed, payment and allocation events, once the walk has promised each order
        (`tails`, in the order of the requests) and gathered payments and allocations as rows."""
        price, sku_ids, prefixes = self.price, self.sku_ids, self.sink.prefixes
        skus = orders.sku.tolist()
        items = payloads.order_placed_items(
            zip(
                day.line_ids,
                map(sku_ids.__getitem__, skus),
                orders.qty.tolist(),
                map(price.__getitem__, skus),
                strict=True,
            )
        )
        starts = orders.line_start.tolist()
        metros, pickup = orders.metro.tolist(), orders.pickup.tolist()
        zips, states = self.metro_zip, self.metro_state
        pickup_ids = [self.node_ids[s] if s >= 0 else None for s in self.pickup_store.tolist()]
        country, currency = self.country, self.currency
        # One pass builds each order's row (a pass per column cost a tenth more).
        datas = payloads.order_placed([
            (oid, channel, f"C{c:07d}", "pickup" if p else "delivery", f"{zips[m]}{sfx:02d}",
             states[m], country, lat, lon, pickup_ids[m] if p else None,
             prefixes[tail.promised_t // DAY] + TIME_OF_DAY[tail.promised_t % DAY], currency,
             ",".join(items[a:b]), charge)
            for oid, channel, c, p, m, sfx, lat, lon, tail, a, b, charge in zip(
                day.order_ids, day.channels, orders.customer.tolist(), pickup, metros,
                orders.postal_suffix.tolist(),
                np.round(self.metro_lat[orders.metro] + orders.jitter[:, 0], 4).tolist(),
                np.round(self.metro_lon[orders.metro] + orders.jitter[:, 1], 4).tolist(),
                tails, starts[:-1], starts[1:], day.charges, strict=True,
            )
        ])  # fmt: skip
        placed_t = [r.placed_t for r in day.requests]
        emit_many = self.sink.emit_many
        for channel in CHANNELS:  # by channel: the source is the channel
            mine = [i for i, c in enumerate(day.channels) if c == channel]
            emit_many(
                "order.placed", channel, [placed_t[i] for i in mine], [datas[i] for i in mine]
            )
        emit_many(
            "order.payment_authorized",
            "oms",
            paid.times,
            payloads.order_payment_authorized(paid.datas),
        )
        emit_many(
            "order.line_allocated",
            "oms",
            allocated.times,
            payloads.order_line_allocated(allocated.datas),
        )
