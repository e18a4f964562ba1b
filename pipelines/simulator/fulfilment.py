"""The order flow of one day: sourcing from the system record, picking against the truth,
shipping, delivery or pickup, exceptions, returns, refunds and service contacts.

Orders are walked in time order in plain Python because sourcing is stateful (each allocation
changes the stock the next order sees). What does not feed back into the stock is done for the
whole day at once: the texts of the orders before the walk, the parcels' fates as numpy arrays
after it, then each order's returns, refunds and contacts. Everything an order causes later is
emitted at once, dated in the future, and the sink files it under the day it occurs. The
late-delivery chance of a shipment is an explicit logistic model whose inputs are partly hidden (node and carrier effects,
daily staffing noise, backlog, disruptions), and the outcome is one Bernoulli draw on top: a
carrier's random miss that no feature can see. That probability is written to the truth folder.
"""

from __future__ import annotations

import random
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa

from pipelines.simulator.catalogue import Catalogue
from pipelines.simulator.costs import CostLedger
from pipelines.simulator.demand import CHANNELS, SERVICES, DayOrders
from pipelines.simulator.emit import DAY, TIME_OF_DAY, EventSink, adjusted_data
from pipelines.simulator.inventory import Inventory
from pipelines.simulator.network import METROS, Carriers, Network

HOUR = 3600
_CANCEL_REASONS = ("", "payment_failed", "fraud", "customer_request")
_DISPOSITIONS = ("restock", "refurbish", "liquidate", "destroy", "return_to_vendor")
_CONTACT_CHANNELS = ("chat", "phone", "email", "store")
# How a parcel reaches the customer: from the pickup store's shelf, moved to it, or delivered.
_IN_STORE, _TRANSFER, _DELIVERY = 0, 1, 2


class Shipment(NamedTuple):
    """What the rest of an order (returns, refunds, contacts) needs to know of a shipment."""

    late: bool
    done_t: int  # delivered, or ready for pickup
    lines: list[tuple[str, int, int]]  # (line_id, sku, quantity)
    lost: bool
    damaged: bool


# A shipment is built once per parcel: tuple.__new__ skips the NamedTuple constructor's frame.
_new_tuple = tuple.__new__


class DayRandom(random.Random):
    """The day's stream of Python draws, with a `randint` that costs one `random()` call.

    `random.Random.randint` goes through `randrange`, its argument checks and `_randbelow`; the
    order loop calls it several times per order, so those frames were a noticeable share of the
    run. Scaling one uniform draw is uniform to well within what the world needs (ranges here are
    at most a few days of seconds against 2**53 steps).
    """

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))


class Fulfilment:
    def __init__(
        self,
        cfg: dict[str, Any],
        net: Network,
        cat: Catalogue,
        carriers: Carriers,
        inv: Inventory,
        sink: EventSink,
        daily_units: float,
        horizon_days: int,
        peak_flag: np.ndarray,
        rng: np.random.Generator,
    ) -> None:
        self.cfg = cfg
        self.net, self.cat, self.carriers, self.inv, self.sink = net, cat, carriers, inv, sink
        ncfg, dcfg = cfg["network"], cfg["delivery"]
        types = net.node_types
        self.types = types
        self.node_ids = net.node_ids
        self.sku_ids = cat.sku_ids
        self.price_arr = cat.price
        self.price = cat.price.tolist()
        self.weight = cat.weight.tolist()
        self.return_rate = cat.return_rate.tolist()
        self.category = [cat.categories[c] for c in cat.category.tolist()]
        self.proc = [int(ncfg["processing_days"][t]) for t in types]
        key = {"dc": "dc_capacity", "store": "store_capacity", "3pl": "tpl_capacity"}
        self.cap = [
            max(4.0, float(ncfg[key.get(t, "dropship_capacity")]) * daily_units) for t in types
        ]
        self.cap_range = tuple(ncfg["true_capacity_range"])
        self.node_effect = rng.normal(0.0, float(dcfg["node_effect_sd"]), net.n)
        self.node_effect[np.array(types) == "store"] += 0.25
        self.node_effect[np.array(types) == "dropship"] += 0.35
        self.node_effect_arr = self.node_effect
        self.node_effect = self.node_effect.tolist()
        self.backlog = [0.0] * net.n
        # Sourcing preference per metro: distance and pick-pack cost, cheapest first.
        pick = np.array([ncfg["pick_pack_cost"][t] for t in types])
        self.pick_rate = pick.tolist()
        self.costs = CostLedger()
        score = net.dist / 100.0 * float(ncfg["distance_weight"]) + pick[None, :] * float(
            ncfg["cost_weight"]
        )
        shipping_nodes = np.flatnonzero(net.ship_from_store)
        self.ranked = [
            shipping_nodes[np.argsort(score[m, shipping_nodes], kind="stable")].tolist()
            for m in range(len(net.metro_weight))
        ]
        stores = np.flatnonzero(np.array(types) == "store")
        sdist = net.dist[:, stores]
        near = np.argmin(sdist, axis=1)
        ok = sdist[np.arange(len(near)), near] < 60.0
        self.pickup_store = np.where(ok, stores[near], -1)
        transfer_nodes = np.flatnonzero(np.isin(np.array(types), ["dc", "3pl"]))
        self.transfer_ranked = {
            int(s): transfer_nodes[
                np.argsort(net.dist[net.store_metro[s], transfer_nodes], kind="stable")
            ].tolist()
            for s in stores
        }
        dcs = np.flatnonzero(np.array(types) == "dc")
        self.nearest_dc = dcs[np.argmin(net.dist[:, dcs], axis=1)].tolist()
        self.dist = net.dist.tolist()
        t1, t2 = dcfg["distance_extra_days_km"]
        self.extra_days = ((net.dist >= t1).astype(int) + (net.dist >= t2)).tolist()
        self.metro_region = []
        regions = sorted(set(net.regions))
        self.regions = regions
        self.metro_region = [regions.index(m[4]) for m in METROS]
        self.metro_zip = [m[6] for m in METROS]
        self.metro_state = [m[1] for m in METROS]
        self.metro_lat = np.array([m[2] for m in METROS])
        self.metro_lon = np.array([m[3] for m in METROS])
        # Carriers: each node ships standard with a primary carrier, faster services with others.
        c = carriers
        self.c_name, self.c_service = c.carrier, c.service
        self.c_transit = c.transit.tolist()
        self.c_base, self.c_kg, self.c_effect = (
            c.base_cost.tolist(),
            c.cost_per_kg.tolist(),
            c.effect,
        )
        standard = [i for i, s in enumerate(c.service) if s == "standard"]
        parcel = [i for i in standard if c.carrier[i] not in ("heavy_freight", "metro_courier")]
        self.primary = [parcel[int(rng.integers(len(parcel)))] for _ in range(net.n)]
        self.express = [i for i, s in enumerate(c.service) if s == "express"]
        self.express = [i for i in self.express if c.carrier[i] != "metro_courier"]
        self.next_day = [i for i, s in enumerate(c.service) if s == "next_day"]
        self.c_courier = {s: c.find("metro_courier", s) for s in ("standard", "express")}
        self.c_heavy = c.find("heavy_freight", "standard")
        self.c_pickup = c.find("store_pickup", "pickup")
        self.c_transfer = c.find("fleet_transfer", "transfer")
        # The carrier of a parcel delivery by service, metro and node, looked up per line.
        self.route_carrier = {
            sv: [
                [self._carrier(n, m, sv, "delivery", 0.0) for n in range(net.n)]
                for m in range(len(net.metro_weight))
            ]
            for sv in SERVICES
        }
        # Disruptions: weather-like days per region and bad days per carrier (hidden causes).
        lo, hi = dcfg["disruption_days"]
        self.weather_cum = self._disruption_days(
            len(regions), horizon_days, float(dcfg["weather_daily_rate"]), lo, hi, rng
        )
        self.weather_spans = [(regions[g], a, b) for g, a, b in self._spans]
        carrier_names = sorted(set(c.carrier))
        self.carrier_names = carrier_names
        self.c_group = [carrier_names.index(n) for n in c.carrier]
        self.carrier_cum = self._disruption_days(
            len(carrier_names),
            horizon_days,
            float(dcfg["carrier_disruption_daily_rate"]),
            lo,
            hi,
            rng,
        )
        self.carrier_spans = [(carrier_names[g], a, b) for g, a, b in self._spans]
        self.peak_arr = np.concatenate([peak_flag, np.zeros(horizon_days, dtype=bool)])
        self.peak = self.peak_arr.tolist()
        # Numbers as floats once, so the per-order code reads them without converting.
        self.dcfg, self.rcfg, self.scfg = (
            {k: float(v) if isinstance(v, int | float) else v for k, v in section.items()}
            for section in (dcfg, cfg["returns"], cfg["service"])
        )
        self.ocfg = cfg["orders"]
        self.remorse_s = int(self.ocfg["remorse_minutes"]) * 60
        self.is_store = [t == "store" for t in types]
        self.order_seq = 0
        self.ship_seq = 0
        self.return_seq = 0
        self.contact_seq = 0
        # Reserved units to release by day: (flat node/SKU cells, quantities) per shipping day.
        self.releases: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
        self.stock_ops: dict[int, list[tuple[int, int, int, str, int]]] = {}
        self.currency = cfg["world"]["currency"]
        self.ts = sink.clock.ts
        self.carriers_of = [np.flatnonzero(col).tolist() for col in inv.carried.T]
        # Day prefixes of every day an event can fall on, so hot paths index them directly.
        sink.clock.day_prefix(horizon_days + 1)
        self.prefixes = sink.clock.prefixes
        self.country = cfg["world"]["country"]

    def _disruption_days(self, groups, days, rate, lo, hi, rng) -> np.ndarray:
        flags = np.zeros((groups, days + 1), dtype=np.int64)
        starts = rng.random((groups, days)) < rate
        self._spans = []
        for g, d in np.argwhere(starts).tolist():
            length = int(rng.integers(lo, hi + 1))
            flags[g, d : d + length] = 1
            self._spans.append((g, d, d + length - 1))
        # Disrupted days before each day, per group: a span of days is hit when the count grows.
        return np.concatenate([np.zeros((groups, 1), dtype=np.int64), np.cumsum(flags, 1)], 1)

    # -- state applied at the start of a day --------------------------------------------------

    def start_of_day(self, day: int) -> None:
        inv = self.inv
        for cells, qtys in self.releases.pop(day, []):
            inv.reserved -= self._cell_totals(cells, qtys)
        for n, s, q, reason, t in self.stock_ops.pop(day, []):
            if reason == "return_restock":
                inv.rec[n, s] += q
                inv.truth[n, s] += q
            else:
                taken = min(q, int(inv.truth[n, s]))
                inv.truth[n, s] -= taken
                inv.rec[n, s] = max(0, int(inv.rec[n, s]) - q)
                self.sink.emit(
                    t,
                    "stock.adjusted",
                    "wms",
                    {
                        "node_id": self.node_ids[n],
                        "sku": self.sku_ids[s],
                        "delta": -q,
                        "reason": "sale",
                    },
                )

    # -- the day's orders ----------------------------------------------------------------------

    def run_day(
        self,
        day: int,
        orders: DayOrders,
        prng: DayRandom,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Walk the day's orders; returns their order and shipment truth as columns."""
        inv = self.inv
        self.rec = inv.rec.tolist()
        self.tru = inv.truth.tolist()
        self.reserved_today: np.ndarray | None = None
        lo, hi = self.cap_range
        self.true_cap = [c * prng.uniform(lo, hi) for c in self.cap]
        sd = self.dcfg["node_day_noise_sd"]
        self.day_noise = [prng.gauss(0.0, sd) for _ in self.cap]
        self.used = [0.0] * len(self.cap)
        self.day = day
        self.prng = prng
        ls = orders.line_start.tolist()
        sku = orders.sku.tolist()
        qty = orders.qty.tolist()
        oids, line_ids, placed_heads, placed_tails, payments, amounts = self._order_texts(orders)
        self.parcels: list[tuple] = []
        self.order_tails: list[tuple] = []
        self.order_drivers: list[dict] = []
        # The day's placed, payment and allocation events (times, data), emitted after the loop.
        self.placed_ev: dict[str, tuple[list[int], list[str]]] = {c: ([], []) for c in CHANNELS}
        self.paid_ev: tuple[list[int], list[str]] = ([], [])
        self.allocated_ev: tuple[list[int], list[str]] = ([], [])
        order = self._order
        for (
            placed,
            oid,
            metro,
            channel,
            pickup,
            service,
            a,
            b,
            pre,
            promise,
            head,
            tail,
            payment,
            amount,
            pay_delay,
            alloc_wait,
        ) in zip(
            (orders.placed_sec + day * DAY).tolist(),
            oids,
            orders.metro.tolist(),
            [CHANNELS[c] for c in orders.channel.tolist()],
            orders.pickup.tolist(),
            [SERVICES[v] for v in orders.service.tolist()],
            ls[:-1],
            ls[1:],
            orders.pre_cancel.tolist(),
            orders.promise_days.tolist(),
            placed_heads,
            placed_tails,
            payments,
            amounts,
            orders.pay_delay.tolist(),
            orders.alloc_wait.tolist(),
            strict=True,
        ):
            order(
                placed,
                oid,
                metro,
                channel,
                pickup,
                service,
                sku[a:b],
                qty[a:b],
                line_ids[a:b],
                pre,
                promise,
                head,
                tail,
                payment,
                amount,
                pay_delay,
                alloc_wait,
            )
        for channel, placed_ev in self.placed_ev.items():
            self.sink.emit_many("order.placed", channel, *placed_ev)
        self.sink.emit_many("order.payment_authorized", "oms", *self.paid_ev)
        self.sink.emit_many("order.line_allocated", "oms", *self.allocated_ev)
        ships, fate = self._ship_day(self.parcels)
        after = self._after
        for (oid, placed_t, promised_t, metro, _, _, a, b), drivers in zip(
            self.order_tails, self.order_drivers, strict=True
        ):
            after(oid, placed_t, promised_t, metro, ships[a:b], drivers)
        inv.rec = np.array(self.rec, dtype=np.int64)
        inv.truth = np.array(self.tru, dtype=np.int64)
        if self.reserved_today is not None:
            inv.reserved += self.reserved_today
        for n, used in enumerate(self.used):
            self.backlog[n] = max(0.0, self.backlog[n] + used - self.true_cap[n])
        return self._order_truth(fate), self._shipment_truth(fate)

    def _order_texts(self, orders: DayOrders):
        """What an order's events say that the stock cannot change, for the whole day at once.

        Returns order ids, line ids (flat, like `orders.sku`), `order.placed` data split around
        its `promised_by` value (a pickup promise depends on the store's stock at the time) and
        `order.payment_authorized` data with its amounts.
        """
        n = orders.n
        first = self.order_seq + 1
        self.order_seq += n
        oids = [f"SO{k:08d}" for k in range(first, first + n)]
        starts = orders.line_start
        counts = np.diff(starts)
        line_order = np.repeat(np.arange(n), counts)
        line_no = np.arange(len(orders.sku)) - starts[line_order] + 1
        line_ids = [
            f"{oids[o]}-{k}" for o, k in zip(line_order.tolist(), line_no.tolist(), strict=True)
        ]
        price, sku_ids = self.price, self.sku_ids
        # Prices and coordinates are rounded, so repr() writes them as orjson would.
        line_objs = [
            f'{{"line_id":"{lid}","sku":"{sku_ids[s]}","quantity":{q},"unit_price":{price[s]!r}}}'
            for lid, s, q in zip(line_ids, orders.sku.tolist(), orders.qty.tolist(), strict=True)
        ]
        subtotal = np.add.reduceat(self.price_arr[orders.sku] * orders.qty, starts[:-1])
        charge = np.select(
            [orders.pickup, orders.service == 0, orders.service == 1],
            [0.0, np.where(subtotal >= 50, 0.0, 5.99), 12.99],
            24.99,
        ).tolist()
        metros = orders.metro
        to_lat = np.round(self.metro_lat[metros] + orders.jitter[:, 0], 4).tolist()
        to_lon = np.round(self.metro_lon[metros] + orders.jitter[:, 1], 4).tolist()
        zips, states, country = self.metro_zip, self.metro_state, self.country
        store_ids = [
            f'"{self.node_ids[s]}"' if s >= 0 else "null" for s in self.pickup_store.tolist()
        ]
        heads = [
            f'{{"order_id":"{oid}","channel":"{CHANNELS[c]}","customer_id":"C{cust:07d}",'
            f'"fulfillment_method":"{"pickup" if pk else "delivery"}",'
            f'"ship_to":{{"postal_code":"{zips[m]}{sfx:02d}","region":"{states[m]}",'
            f'"country":"{country}","lat":{la!r},"lon":{lo!r}}},'
            f'"pickup_node_id":{store_ids[m] if pk else "null"},"promised_by":"'
            for oid, c, cust, pk, m, sfx, la, lo in zip(
                oids,
                orders.channel.tolist(),
                orders.customer.tolist(),
                orders.pickup.tolist(),
                metros.tolist(),
                orders.postal_suffix.tolist(),
                to_lat,
                to_lon,
                strict=True,
            )
        ]
        starts_l = starts.tolist()
        tails = [
            f'","currency":"{self.currency}","lines":[{",".join(line_objs[a:b])}],'
            f'"shipping_charged":{ch!r}}}'
            for a, b, ch in zip(starts_l[:-1], starts_l[1:], charge, strict=True)
        ]
        amounts = [round(st + ch, 2) for st, ch in zip(subtotal.tolist(), charge, strict=True)]
        payments = [
            f'{{"order_id":"{oid}","amount":{amount!r},'
            f'"payment_method":"{"wallet" if w else "card"}"}}'
            for oid, amount, w in zip(oids, amounts, orders.wallet.tolist(), strict=True)
        ]
        return oids, line_ids, heads, tails, payments, amounts

    def _order(
        self,
        placed_t,
        oid,
        metro,
        channel,
        is_pickup,
        service,
        skus,
        qtys,
        lines,
        pre,
        pdays,
        placed_head,
        placed_tail,
        payment,
        amount,
        pay_delay,
        alloc_wait,
    ):
        emit = self.sink.emit
        prng = self.prng
        rnd = prng.random
        store_node = int(self.pickup_store[metro]) if is_pickup else -1
        rec = self.rec
        # Promise at checkout, from the system record the storefront sees.
        in_store = is_pickup and all(
            rec[store_node][s] >= q for s, q in zip(skus, qtys, strict=True)
        )
        placed_day = placed_t // DAY
        if is_pickup:
            hour = placed_t % DAY // HOUR
            if not in_store:
                promised_t = (placed_day + 3) * DAY + 12 * HOUR
            elif 8 <= hour < 18:
                promised_t = placed_t + 2 * HOUR
            elif hour >= 18:
                promised_t = (placed_day + 1) * DAY + 10 * HOUR
            else:
                promised_t = placed_day * DAY + 10 * HOUR
        else:
            promised_t = (placed_day + pdays) * DAY + 21 * HOUR
        placed_times, placed_datas = self.placed_ev[channel]
        placed_times.append(placed_t)
        placed_datas.append(
            f"{placed_head}{self.prefixes[promised_t // DAY]}{TIME_OF_DAY[promised_t % DAY]}"
            f"{placed_tail}"
        )
        drivers = {"rejected": False, "realloc": False, "backorder": False, "cancel": ""}
        if pre != 1:
            self.paid_ev[0].append(placed_t + pay_delay)
            self.paid_ev[1].append(payment)
            self.costs.add(oid, "payment", 1, amount)
        if pre:
            reason = _CANCEL_REASONS[pre]
            if pre == 1:
                t = placed_t + 300
            elif pre == 2:
                t = placed_t + HOUR + prng.randint(0, 3 * HOUR)
            else:
                t = placed_t + prng.randint(120, int(self.ocfg["remorse_minutes"]) * 60 - 60)
                if rnd() < self.scfg["cancel_contact"]:
                    self._contact(t - 90, oid, "cancel")
            for lid, q in zip(lines, qtys, strict=True):
                emit(
                    t,
                    "order.line_cancelled",
                    "oms",
                    {"order_id": oid, "line_id": lid, "quantity": q, "reason": reason},
                )
            drivers["cancel"] = reason
            self.order_tails.append((oid, placed_t, promised_t, metro, is_pickup, channel, 0, 0))
            self.order_drivers.append(drivers)
            return
        alloc_t = placed_t + self.remorse_s + alloc_wait
        if is_pickup and in_store:
            candidates = [store_node]
            mode = "in_store"
        elif is_pickup:
            candidates = self.transfer_ranked[store_node]
            mode = "transfer"
        else:
            candidates = self.ranked[metro]
            mode = "delivery"
        units = sum(qtys)
        used, cap = self.used, self.cap
        chosen = None
        s0, q0 = skus[0], qtys[0]
        rest = list(zip(skus[1:], qtys[1:], strict=True)) if len(skus) > 1 else ()
        for respect_cap in (True, False):
            for n in candidates:
                rn = rec[n]
                # The first line rules most nodes out, so test it before the rest.
                if rn[s0] < q0 or (respect_cap and used[n] + units > cap[n]):
                    continue
                for s, q in rest:
                    if rn[s] < q:
                        break
                else:
                    chosen = n
                    break
            if chosen is not None:
                break
        if chosen is not None:
            first = [chosen] * len(skus)
        else:
            first = [self._pick_node(candidates, s, q, ()) for s, q in zip(skus, qtys, strict=True)]
        # Allocate, pick against the truth, re-allocate after rejections.
        groups: dict[tuple[int, int], list[tuple[str, int, int]]] = {}
        group_t: dict[tuple[int, int], int] = {}
        tru, proc = self.tru, self.proc
        weights, node_ids, prefixes = self.weight, self.node_ids, self.prefixes
        c_base, c_kg, c_name, c_service = self.c_base, self.c_kg, self.c_name, self.c_service
        alloc_times, alloc_datas = self.allocated_ev
        routes = self.route_carrier[service][metro]
        is_store, no_heavy = self.is_store, self.c_heavy < 0
        for k, (lid, s, q) in enumerate(zip(lines, skus, qtys, strict=True)):
            n = first[k]
            t = alloc_t
            attempt = 1
            excluded: list[int] = []
            while True:
                if n < 0:
                    self._no_stock(oid, lid, s, q, t, drivers, groups, group_t, mode, metro)
                    break
                rec[n][s] -= q
                used[n] += q
                w = weights[s] * q
                if mode == "delivery" and (w <= 20 or no_heavy):
                    ci = routes[n]
                else:
                    ci = self._carrier(n, metro, service, mode, w)
                # The node ships after its processing days; a same-day node (DC) misses the
                # day after 16:00. Inline: this runs for every line.
                plan_day = t // DAY + proc[n] + (proc[n] == 0 and t % DAY >= 16 * HOUR)
                cost = round(c_base[ci] + c_kg[ci] * weights[s] * q, 2)
                alloc_times.append(t)
                alloc_datas.append(
                    f'{{"order_id":"{oid}","line_id":"{lid}","node_id":"{node_ids[n]}",'
                    f'"quantity":{q},"carrier":"{c_name[ci]}",'
                    f'"service_level":"{c_service[ci]}",'
                    f'"planned_ship_by":"{prefixes[plan_day]}20:00:00Z",'
                    f'"estimated_ship_cost":{cost!r},"attempt":{attempt}}}'
                )
                short = tru[n][s] < q
                # A store two days behind turns half its picks away.
                busy = (
                    is_store[n]
                    and int((self.backlog[n] + used[n]) / self.true_cap[n]) >= 2
                    and rnd() < 0.5
                )
                if not short and not busy:
                    tru[n][s] -= q
                    key = (n, 0 if attempt == 1 else k + 1)
                    groups.setdefault(key, []).append((lid, s, q))
                    group_t.setdefault(key, t)
                    break
                # The picker comes back empty-handed (or the store is swamped).
                pick_t = max(plan_day * DAY + prng.randint(8 * HOUR, 12 * HOUR), t + 900)
                if mode == "in_store":
                    pick_t = t + prng.randint(600, 2400)
                rec[n][s] += q
                used[n] -= q
                emit(
                    pick_t,
                    "order.line_rejected",
                    "wms" if self.types[n] != "store" else "store",
                    {
                        "order_id": oid,
                        "line_id": lid,
                        "node_id": self.node_ids[n],
                        "quantity": q,
                        "reason": "not_found" if short else "no_capacity",
                    },
                )
                drivers["rejected"] = True
                if short:
                    delta = tru[n][s] - rec[n][s]
                    if delta:
                        rec[n][s] = tru[n][s]
                        emit(
                            pick_t + 120,
                            "stock.adjusted",
                            "wms",
                            {
                                "node_id": self.node_ids[n],
                                "sku": self.sku_ids[s],
                                "delta": delta,
                                "reason": "correction",
                            },
                        )
                excluded.append(n)
                attempt += 1
                t = pick_t + prng.randint(120, 900)
                if attempt > 3:
                    n = -1
                    continue
                if mode == "in_store":
                    mode = "transfer"
                    candidates = self.transfer_ranked[store_node]
                n = self._pick_node(candidates, s, q, excluded)
                if n >= 0:
                    drivers["realloc"] = True
        # Each group is a parcel; its fate is drawn for the whole day at once (_ship_day). The
        # capacity backlog it meets is the node's as this order leaves it.
        parcels = self.parcels
        first = len(parcels)
        backlog, true_cap, today = self.backlog, self.true_cap, self.day
        for key, glines in groups.items():
            n, t_alloc = key[0], group_t[key]
            delay = (
                0 if t_alloc // DAY > today else min(int((backlog[n] + used[n]) / true_cap[n]), 5)
            )
            parcels.append((oid, n, glines, t_alloc, metro, service, promised_t, store_node, delay))
        self.order_tails.append(
            (oid, placed_t, promised_t, metro, is_pickup, channel, first, len(parcels))
        )
        self.order_drivers.append(drivers)

    def _pick_node(self, candidates, s, q, excluded) -> int:
        rec, used, cap = self.rec, self.used, self.cap
        fallback = -1
        for n in candidates:
            if rec[n][s] >= q and n not in excluded:
                if used[n] + q <= cap[n]:
                    return n
                if fallback < 0:
                    fallback = n
        return fallback

    def _carrier(self, n: int, metro: int, service: str, mode: str, weight: float) -> int:
        if mode == "in_store":
            return self.c_pickup
        if mode == "transfer":
            return self.c_transfer
        if weight > 20 and self.c_heavy >= 0:
            return self.c_heavy
        if self.types[n] == "store" and self.dist[metro][n] < 80 and service != "next_day":
            ci = self.c_courier.get(service, -1)
            if ci >= 0:
                return ci
        if service == "express" and self.express:
            return self.express[n % len(self.express)]
        if service == "next_day" and self.next_day:
            return self.next_day[n % len(self.next_day)]
        return self.primary[n]

    def _no_stock(self, oid, lid, s, q, t, drivers, groups, group_t, mode, metro) -> None:
        """No node has it in the record: backorder when a receipt is near, else cancel."""
        emit = self.sink.emit
        inv = self.inv
        best, best_day = -1, -1
        horizon = int(self.ocfg["backorder_max_days"])
        for n in self.carriers_of[s]:
            a = inv.due_within(n, s, t // DAY, horizon)
            if a >= 0 and (best < 0 or a < best_day):
                best, best_day = n, a
        waits = best >= 0 and self.prng.random() >= float(self.ocfg["backorder_cancel_share"])
        if best >= 0:
            emit(
                t + 60,
                "order.line_backordered",
                "oms",
                {
                    "order_id": oid,
                    "line_id": lid,
                    "quantity": q,
                    "expected_at": self.sink.clock.ts(best_day * DAY + 12 * HOUR),
                },
            )
            drivers["backorder"] = True
        if waits:
            t_alloc = best_day * DAY + 13 * HOUR
            ci = self._carrier(
                best,
                metro,
                "standard",
                "delivery" if mode == "delivery" else "transfer",
                self.weight[s] * q,
            )
            emit(
                t_alloc,
                "order.line_allocated",
                "oms",
                {
                    "order_id": oid,
                    "line_id": lid,
                    "node_id": self.node_ids[best],
                    "quantity": q,
                    "carrier": self.c_name[ci],
                    "service_level": self.c_service[ci],
                    "planned_ship_by": self.sink.clock.ts((best_day + 1) * DAY + 20 * HOUR),
                    "estimated_ship_cost": round(
                        self.c_base[ci] + self.c_kg[ci] * self.weight[s] * q, 2
                    ),
                    "attempt": 2,
                },
            )
            key = (best, -1 - len(groups))
            groups[key] = [(lid, s, q)]
            group_t[key] = t_alloc
            # The receipt is consumed on arrival; the sale is recorded then.
            self.stock_ops.setdefault(best_day + 1, []).append(
                (best, s, q, "sale", (best_day + 1) * DAY + 11 * HOUR)
            )
            return
        cancel_t = t + (7200 if best >= 0 else 600)
        emit(
            cancel_t,
            "order.line_cancelled",
            "oms",
            {"order_id": oid, "line_id": lid, "quantity": q, "reason": "out_of_stock"},
        )
        drivers["cancel"] = "out_of_stock"

    def _ship_day(self, parcels: list[tuple]) -> tuple[list[Shipment], dict[str, Any]]:
        """The day's parcels: their late chance, the draws, and their events.

        The late-delivery model and every draw run as numpy arrays over the day's parcels; only
        writing the events is per parcel.
        """
        k = len(parcels)
        if not k:
            return [], {}
        dcfg, weights, route = self.dcfg, self.weight, self.route_carrier
        no_heavy, proc, extra_days = self.c_heavy < 0, self.proc, self.extra_days
        # Per parcel: carrier, mode, weight, transit days, planned ship day, node, region of
        # the destination metro, carrier group.
        ci_l, mode_l, weight_l, transit_l, plan_l, node_l, region_l, group_l = (
            [] for _ in range(8)
        )
        for _, n, glines, t_alloc, metro, service, _, store_node, _ in parcels:
            if len(glines) == 1:
                _, s, q = glines[0]
                weight = weights[s] * q
            else:
                weight = sum(weights[s] * q for _, s, q in glines)
            if store_node >= 0 and n == store_node:
                mode, ci = _IN_STORE, self.c_pickup
            elif store_node >= 0:
                mode, ci = _TRANSFER, self.c_transfer
            elif weight <= 20 or no_heavy:
                mode, ci = _DELIVERY, route[service][metro][n]
            else:
                mode, ci = _DELIVERY, self._carrier(n, metro, service, "delivery", weight)
            pr = proc[n]  # the planned ship day, as for the allocation event
            ci_l.append(ci)
            mode_l.append(mode)
            weight_l.append(weight)
            transit_l.append(
                self.c_transit[ci] + (0 if mode == _TRANSFER else extra_days[metro][n])
            )
            plan_l.append(t_alloc // DAY + pr + (pr == 0 and t_alloc % DAY >= 16 * HOUR))
            node_l.append(n)
            region_l.append(self.metro_region[metro])
            group_l.append(self.c_group[ci])
        t_alloc = np.array([x[3] for x in parcels], dtype=np.int64)
        promised_t = np.array([x[6] for x in parcels], dtype=np.int64)
        delay = np.array([x[8] for x in parcels], dtype=np.int64)
        ci = np.array(ci_l)
        mode = np.array(mode_l)
        node = np.array(node_l)
        in_store, transfer, delivery = mode == _IN_STORE, mode == _TRANSFER, mode == _DELIVERY
        node_eff = self.node_effect_arr[node] + np.array(self.day_noise)[node]
        c_eff = self.c_effect[ci]
        promised_day = promised_t // DAY
        rng = np.random.default_rng(self.prng.getrandbits(64))
        u = rng.random((11, k))  # a row per draw; rows shared only by exclusive branches

        def randint(row: int, lo, hi) -> np.ndarray:
            return lo + (u[row] * (hi - lo + 1)).astype(np.int64)

        # Pickup from the store's own shelf: ready within the hour unless the store is behind.
        ready_plan = t_alloc + HOUR + delay * DAY
        z_store = dcfg["base_logit"] + 0.6 + node_eff + dcfg["backlog_logit"] * delay
        p_store = np.where(ready_plan > promised_t, 1.0, 1.0 / (1.0 + np.exp(-z_store)))
        # Shipped parcels: the node's plan, its backlog, the carrier's transit and disruptions.
        ship_day = np.array(plan_l, dtype=np.int64) + delay
        transit = np.array(transit_l, dtype=np.int64)
        slack_ship = promised_day - (ship_day + transit)
        in_time = ship_day < promised_day
        wc = self.weather_cum[np.array(region_l)]
        cc = self.carrier_cum[np.array(group_l)]
        rows = np.arange(k)
        weather = in_time & ~in_store & (wc[rows, promised_day + 1] - wc[rows, ship_day] > 0)
        carrier_dis = in_time & ~in_store & (cc[rows, promised_day + 1] - cc[rows, ship_day] > 0)
        z = (
            dcfg["base_logit"]
            - dcfg["slack_weight"] * slack_ship
            + node_eff
            + c_eff
            + dcfg["backlog_logit"] * delay
            + dcfg["weather_logit"] * weather
            + dcfg["carrier_disruption_logit"] * carrier_dis
            + dcfg["peak_logit"] * self.peak_arr[ship_day]
        )
        p_ship = np.where(in_time, 1.0 / (1.0 + np.exp(-z)), 1.0)
        p = np.where(in_store, p_store, p_ship)
        slack = np.where(in_store, (promised_t - ready_plan) / DAY, slack_ship)
        late = u[0] < p
        # When it is done: delivered, or ready at the store.
        store_done = np.where(
            late,
            np.maximum(promised_t + randint(1, HOUR, 20 * HOUR), ready_plan),
            randint(
                1, t_alloc + 900, np.maximum(t_alloc + 901, np.minimum(ready_plan, promised_t))
            ),
        )
        extra = np.where(u[2] < 0.55, 0, np.where(u[3] < 0.65, 1, 2))
        done_day = np.where(
            late,
            np.maximum(promised_day + 1, ship_day + 1) + extra,
            np.minimum(
                np.maximum(ship_day + transit + randint(2, -1, 0), ship_day + 1), promised_day
            ),
        )
        hour = np.where(
            transfer,
            np.where(late, randint(4, 7 * HOUR, 18 * HOUR), randint(4, 7 * HOUR, 11 * HOUR)),
            randint(4, 8 * HOUR, 21 * HOUR - 60),
        )
        done_t = np.where(in_store, store_done, done_day * DAY + hour)
        packed_t = np.where(
            in_store,
            np.maximum(store_done - 600, t_alloc + 300),
            np.maximum(ship_day * DAY + randint(5, 9 * HOUR, 15 * HOUR), t_alloc + 1200),
        )
        shipped_t = packed_t + randint(6, 1800, 3 * HOUR)
        collected_t = np.where(u[7] < 0.97, done_t + randint(8, HOUR, 3 * DAY), -1)
        # Carrier trouble on delivered parcels: lost, a delay or weather notice, damage.
        lost = delivery & late & (u[7] < dcfg["lost_rate"])
        notice = delivery & late & (u[8] < dcfg["exception_share_late"])
        notice_t = shipped_t + (
            (np.maximum(done_t, shipped_t + DAY) - shipped_t) * (0.3 + 0.5 * u[9])
        ).astype(np.int64)
        recovered = delivery & ~late & (u[8] < dcfg["exception_share_on_time"])
        damaged = delivery & ~lost & (u[10] < dcfg["damaged_rate"])
        ships = []
        emit = self.sink.emit
        node_ids, sku_ids, c_name, c_service = (
            self.node_ids,
            self.sku_ids,
            self.c_name,
            self.c_service,
        )
        # Each shipped line is reserved at its node until the day after it is packed.
        held_cell, held_qty, held_until, n_skus = [], [], [], len(sku_ids)
        sids = []
        # The common events, gathered by type and emitted together after the loop.
        packed_ev, sold_ev, shipped_ev, ready_ev, collected_ev, delivered_ev = (
            ([], []) for _ in range(6)
        )
        c_base, c_kg, dist = self.c_base, self.c_kg, self.dist
        add_cost, pick_rate = self.costs.add, self.pick_rate
        for (
            (oid, n, glines, _, metro, _, prom_t, store_node, _),
            c,
            md,
            weight,
            late_i,
            weather_i,
            done,
            packed,
            shipped,
            collected,
            lost_i,
            notice_i,
            notice_at,
            recovered_i,
            damaged_i,
        ) in zip(
            parcels,
            ci_l,
            mode_l,
            weight_l,
            late.tolist(),
            weather.tolist(),
            done_t.tolist(),
            packed_t.tolist(),
            shipped_t.tolist(),
            collected_t.tolist(),
            lost.tolist(),
            notice.tolist(),
            notice_t.tolist(),
            recovered.tolist(),
            damaged.tolist(),
            strict=True,
        ):
            self.ship_seq += 1
            sid = f"SH{self.ship_seq:08d}"
            sids.append(sid)
            node_id = node_ids[n]
            if len(glines) == 1:
                line_objs = f'{{"line_id":"{glines[0][0]}","quantity":{glines[0][2]}}}'
            else:
                line_objs = ",".join(
                    f'{{"line_id":"{lid}","quantity":{q}}}' for lid, _, q in glines
                )
            packed_ev[0].append(packed)
            units = sum(q for _, _, q in glines)
            add_cost(oid, "pick_pack", units, units * pick_rate[n])
            add_cost(oid, "packaging", 1)
            packed_ev[1].append(
                f'{{"shipment_id":"{sid}","order_id":"{oid}","node_id":"{node_id}",'
                f'"lines":[{line_objs}]}}'
            )
            for _, s, q in glines:
                sold_ev[0].append(packed + 60)
                sold_ev[1].append(
                    f'{{"node_id":"{node_id}","sku":"{sku_ids[s]}","delta":{-q},"reason":"sale"}}'
                )
                held_cell.append(n * n_skus + s)
                held_qty.append(q)
                held_until.append(packed // DAY + 1)
            if md != _IN_STORE:
                cost = round(c_base[c] * (1 + dist[metro][n] / 3000.0) + c_kg[c] * weight, 2)
                # Money and weights are rounded to cents and grams, so repr() writes them as
                # orjson would.
                add_cost(oid, "outbound_shipping", 1, cost)
                shipped_ev[0].append(shipped)
                shipped_ev[1].append(
                    f'{{"shipment_id":"{sid}","order_id":"{oid}","node_id":"{node_id}",'
                    f'"carrier":"{c_name[c]}","service_level":"{c_service[c]}",'
                    f'"tracking_number":"1Z{self.ship_seq:010d}","lines":[{line_objs}],'
                    f'"shipping_cost":{cost!r},"weight_kg":{round(weight, 2)!r}}}'
                )
            if md != _DELIVERY:
                at_store = f'{{"order_id":"{oid}","node_id":"{node_ids[store_node]}"}}'
                ready_ev[0].append(done)
                ready_ev[1].append(at_store)
                if collected >= 0:
                    collected_ev[0].append(collected)
                    collected_ev[1].append(at_store)
            else:
                if notice_i:
                    code = "lost" if lost_i else ("weather" if weather_i else "delayed")
                    emit(
                        notice_at,
                        "shipment.exception",
                        "tms",
                        {"shipment_id": sid, "order_id": oid, "code": code, "detail": None},
                    )
                elif lost_i:
                    emit(
                        prom_t + DAY,
                        "shipment.exception",
                        "tms",
                        {"shipment_id": sid, "order_id": oid, "code": "lost", "detail": None},
                    )
                elif recovered_i:
                    emit(
                        shipped + 6 * HOUR,
                        "shipment.exception",
                        "tms",
                        {
                            "shipment_id": sid,
                            "order_id": oid,
                            "code": "delayed",
                            "detail": "recovered in network",
                        },
                    )
                if not lost_i:
                    delivered_ev[0].append(done)
                    delivered_ev[1].append(f'{{"shipment_id":"{sid}","order_id":"{oid}"}}')
                    if damaged_i:
                        emit(
                            done + 900,
                            "shipment.exception",
                            "tms",
                            {
                                "shipment_id": sid,
                                "order_id": oid,
                                "code": "damaged",
                                "detail": "customer reported damage",
                            },
                        )
            ships.append(_new_tuple(Shipment, (late_i, done, glines, lost_i, damaged_i)))
        cell, qty, until = np.array(held_cell), np.array(held_qty), np.array(held_until)
        self.reserved_today = self._cell_totals(cell, qty)
        for d in np.unique(until).tolist():
            due = until == d
            self.releases.setdefault(d, []).append((cell[due], qty[due]))
        emit_many = self.sink.emit_many
        emit_many("shipment.packed", "wms", *packed_ev)
        emit_many("stock.adjusted", "wms", *sold_ev)
        emit_many("shipment.shipped", "tms", *shipped_ev)
        emit_many("pickup.ready", "store", *ready_ev)
        emit_many("pickup.collected", "store", *collected_ev)
        emit_many("shipment.delivered", "tms", *delivered_ev)
        fate = {
            "parcels": parcels,
            "sid": sids,
            "ci": ci_l,
            "p": p,
            "late": late,
            "slack": slack.astype(float),
            "delay": delay,
            "weather": weather,
            "carrier_dis": carrier_dis,
            "node_eff": node_eff,
            "c_eff": c_eff,
        }
        return ships, fate

    def _cell_totals(self, cells: np.ndarray, qtys: np.ndarray) -> np.ndarray:
        """Quantities summed per node/SKU cell (flat index node * SKUs + sku), as a stock matrix."""
        shape = self.inv.reserved.shape
        totals = np.bincount(cells, weights=qtys, minlength=shape[0] * shape[1])
        return totals.astype(np.int64).reshape(shape)

    def _shipment_truth(self, fate: dict[str, Any]) -> dict[str, Any]:
        if not fate:
            return {}
        parcels, ci = fate["parcels"], fate["ci"]
        c_name, c_service, node_ids = self.c_name, self.c_service, self.node_ids
        return {
            "shipment_id": fate["sid"],
            "order_id": [x[0] for x in parcels],
            "node_id": [node_ids[x[1]] for x in parcels],
            "carrier": [c_name[c] for c in ci],
            "service_level": [c_service[c] for c in ci],
            "p_late": fate["p"],
            "is_late": fate["late"],
            "ship_day_delay": fate["delay"],
        }

    def _order_truth(self, fate: dict[str, Any]) -> dict[str, Any]:
        """One row per order; the shipment drivers are aggregated over its parcels."""
        tails, drivers = self.order_tails, self.order_drivers
        if not tails:
            return {}
        first = np.array([x[6] for x in tails], dtype=np.int64)
        count = np.array([x[7] for x in tails], dtype=np.int64) - first
        shipped = count > 0
        cols: dict[str, Any] = {
            "order_id": [x[0] for x in tails],
            "placed_at": [self.ts(x[1]) for x in tails],
            "fulfillment_method": ["pickup" if x[4] else "delivery" for x in tails],
            "channel": [x[5] for x in tails],
            "is_allocated": shipped,
            "shipments": count,
        }
        # Aggregated over an order's parcels; an order without parcels has none: null.
        starts, missing, n = first[shipped], ~shipped, len(tails)

        def per_order(name: str, ufunc: np.ufunc, dtype: type) -> pa.Array:
            out = np.zeros(n, dtype=dtype)
            if len(starts):
                out[shipped] = ufunc.reduceat(fate[name], starts)
            return pa.array(out, mask=missing)

        # 1 - prod(1 - p): the chance that at least one parcel is late.
        on_time = np.ones(n)
        if len(starts):
            on_time[shipped] = np.multiply.reduceat(1.0 - fate["p"], starts)
        cols["p_late"] = pa.array(1.0 - on_time, mask=missing)
        cols["is_late"] = per_order("late", np.logical_or, bool)
        cols["slack_days"] = per_order("slack", np.minimum, float)
        cols["backlog_days"] = per_order("delay", np.maximum, np.int64)
        cols["weather"] = per_order("weather", np.logical_or, bool)
        cols["carrier_disruption"] = per_order("carrier_dis", np.logical_or, bool)
        cols["node_effect"] = per_order("node_eff", np.maximum, float)
        cols["carrier_effect"] = per_order("c_eff", np.maximum, float)
        cols["peak"] = np.full(n, self.peak[self.day])
        cols["rejected"] = [d["rejected"] for d in drivers]
        cols["reallocated"] = [d["realloc"] for d in drivers]
        cols["backordered"] = [d["backorder"] for d in drivers]
        cols["cancel_reason"] = [d["cancel"] or None for d in drivers]
        return cols

    def _contact(self, t: int, oid: str | None, topic: str) -> None:
        self.contact_seq += 1
        r = self.prng.random()
        ch = self.scfg["channels"]
        acc = 0.0
        channel = _CONTACT_CHANNELS[-1]
        for name in _CONTACT_CHANNELS:
            acc += float(ch[name])
            if r < acc:
                channel = name
                break
        if oid is not None:
            self.costs.add(oid, f"contact_{channel}", 1)
        self.sink.emit(
            t,
            "service.contact",
            channel if channel in ("store",) else "crm",
            {
                "order_id": oid,
                "contact_id": f"CT{self.contact_seq:08d}",
                "channel": channel,
                "topic": topic,
            },
        )

    def _after(self, oid, placed_t, promised_t, metro, ships, drivers) -> None:
        """Lost-parcel refunds, returns, refunds and the contacts that follow."""
        if not ships:
            return
        prng, rnd, emit = self.prng, self.prng.random, self.sink.emit
        if len(ships) == 1:
            late, done = ships[0].late, ships[0].done_t
        else:
            late = any(s.late for s in ships)
            done = max(s.done_t for s in ships)
        scfg, rcfg = self.scfg, self.rcfg
        if late:
            if rnd() < scfg["wismo_late"]:
                self._contact(
                    promised_t + prng.randint(2 * HOUR, 40 * HOUR), oid, "where_is_my_order"
                )
        elif rnd() < scfg["wismo_on_time"]:
            self._contact(
                placed_t + int((done - placed_t) * prng.uniform(0.3, 0.9)), oid, "where_is_my_order"
            )
        returned: list[tuple[str, int, int, str]] = []
        bump = 1.0 + (rcfg["late_return_bump"] if late else 0.0)
        for s in ships:
            if s.lost:
                amount = sum(self.price[k] * q for _, k, q in s.lines)
                self.costs.add(oid, "unreturned_refund", 1, round(amount, 2))
                emit(
                    promised_t + 2 * DAY,
                    "refund.issued",
                    "oms",
                    {
                        "order_id": oid,
                        "return_id": None,
                        "amount": round(amount, 2),
                        "reason": "lost_in_transit",
                    },
                )
                continue
            if s.damaged and rnd() < scfg["damaged_contact"]:
                self._contact(s.done_t + 2 * HOUR, oid, "damaged")
            for lid, k, q in s.lines:
                if s.damaged:
                    returned.append((lid, k, q, "damaged"))
                elif rnd() < self.return_rate[k] * bump:
                    if self.category[k] in ("apparel", "footwear") and rnd() < 0.7:
                        reason = "size_or_fit"
                    else:
                        reason = "late" if late and rnd() < 0.3 else "changed_mind"
                    returned.append((lid, k, q, reason))
        if not returned:
            return
        self.return_seq += 1
        rid = f"RT{self.return_seq:08d}"
        lo, hi = rcfg["days_to_initiate"]
        init_t = done + prng.randint(int(lo) * DAY, int(hi) * DAY)
        store = int(self.pickup_store[metro])
        by_mail = store < 0 or rnd() < rcfg["mail_share"]
        # Ids and reasons are plain ASCII: templates write what orjson would.
        emit_json = self.sink.emit_json
        line_objs = ",".join(
            f'{{"line_id":"{lid}","quantity":{q},"reason":"{why}"}}' for lid, _, q, why in returned
        )
        emit_json(
            init_t,
            "return.initiated",
            "web" if by_mail else "store",
            f'{{"return_id":"{rid}","order_id":"{oid}",'
            f'"channel":"{"mail" if by_mail else "store"}","lines":[{line_objs}]}}',
        )
        if rnd() < scfg["return_contact"]:
            self._contact(init_t - 600, oid, "return")
        if by_mail:
            lo, hi = rcfg["mail_transit_days"]
            node = self.nearest_dc[metro]
            recv_t = init_t + prng.randint(int(lo) * DAY, int(hi) * DAY)
        else:
            node = store
            recv_t = init_t + prng.randint(300, 1800)
        disp_p = rcfg["dispositions"]
        out_lines = []
        carried = self.inv.carried
        for lid, k, q, why in returned:
            r = rnd()
            acc, disp = 0.0, _DISPOSITIONS[-1]
            for name, pr in zip(_DISPOSITIONS, disp_p, strict=True):
                acc += float(pr)
                if r < acc:
                    disp = name
                    break
            if why == "damaged" and disp == "restock":
                disp = "liquidate"
            out_lines.append(f'{{"line_id":"{lid}","quantity":{q},"disposition":"{disp}"}}')
            if disp == "restock" and carried[node, k]:
                emit_json(
                    recv_t + 900,
                    "stock.adjusted",
                    "wms" if by_mail else "store",
                    adjusted_data(self.node_ids[node], self.sku_ids[k], q, "return_restock"),
                )
                self.stock_ops.setdefault(recv_t // DAY + 1, []).append(
                    (node, k, q, "return_restock", recv_t)
                )
        self.costs.add(oid, "return_shipping", 1, 7.5 if by_mail else 0.0)
        self.costs.add(oid, "return_handling", sum(q for _, _, q, _ in returned))
        emit_json(
            recv_t,
            "return.received",
            "wms" if by_mail else "store",
            f'{{"return_id":"{rid}","order_id":"{oid}","node_id":"{self.node_ids[node]}",'
            f'"lines":[{",".join(out_lines)}],'
            f'"return_shipping_cost":{7.5 if by_mail else 0.0!r}}}',
        )
        lo, hi = rcfg["refund_days"]
        amount = sum(self.price[k] * q for _, k, q, _ in returned)
        emit_json(
            recv_t + prng.randint(int(lo) * DAY + 600, int(hi) * DAY + 3600),
            "refund.issued",
            "oms",
            f'{{"order_id":"{oid}","return_id":"{rid}","amount":{round(amount, 2)!r},'
            f'"reason":"return"}}',
        )
