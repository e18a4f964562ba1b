"""Picking and shipping: the day's parcels, their fates and their events.

The late-delivery chance of a parcel comes from an explicit logistic model whose inputs are
partly hidden (`late_model.py`: node and carrier effects, daily staffing noise, backlog,
disruptions), and the outcome is one Bernoulli draw on top: a carrier's random miss that no
feature can see. That probability is written to the truth folder. The model and every draw run
as numpy arrays over the day's parcels; only writing the events is per parcel.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from pipelines.simulator import payloads
from pipelines.simulator.catalogue import Catalogue
from pipelines.simulator.costs import CostLedger
from pipelines.simulator.draws import PARCEL_SLOTS, stream
from pipelines.simulator.emit import DAY, EventSink
from pipelines.simulator.late_model import AtAllocation, LateModel, shelf_ready
from pipelines.simulator.records import EventColumns, Parcel, ParcelFates, Shipment
from pipelines.simulator.sourcing import HOUR, PARCEL_MAX_KG, Sourcing

# How a parcel reaches the customer: from the pickup store's shelf, moved to it, or delivered.
IN_STORE, TRANSFER, DELIVERY = 0, 1, 2
# Of late parcels, the share that arrives the day after the promise; of the rest, the share that
# arrives a day later still (the others two days later).
LATE_BY_ONE_DAY, LATE_BY_TWO_DAYS = 0.55, 0.65
# A carrier's delay notice comes 30% to 80% of the way from shipping to delivery.
NOTICE_FROM, NOTICE_SPAN = 0.3, 0.5
# A label's base rate grows by its own size every 3,000 km from the node to the customer.
KM_PER_BASE_RATE = 3000.0
# When things happen within their day, in seconds: carriers deliver from 08:00 until just before
# the 21:00 promise; the fleet reaches stores in the morning, before a noon promise (late ones
# all day); nodes pack from 09:00 to 15:00 and hand over within half an hour to three hours.
DELIVERY_WINDOW = (8 * HOUR, 21 * HOUR - 60)
TRANSFER_WINDOW, TRANSFER_LATE_WINDOW = (7 * HOUR, 11 * HOUR), (7 * HOUR, 18 * HOUR)
PACKING_WINDOW = (9 * HOUR, 15 * HOUR)
PACK_TO_SHIP = (1800, 3 * HOUR)
# A store's own pick is ready from 15 minutes after allocation; a late one up to 20 hours after
# the promise; customers collect within three days of the notice.
STORE_PICK_S, LATE_READY_WINDOW, COLLECT_WINDOW = 900, (HOUR, 20 * HOUR), (HOUR, 3 * DAY)
# Parcels are packed at least 20 minutes after allocation (a store shelf pick: 5 minutes), the
# sale is recorded a minute after packing, a delay recovered in the network is reported six hours
# after handover, damage 15 minutes after delivery, a lost parcel a day after its promise.
PACK_AFTER_ALLOC_S, SHELF_PACK_AFTER_ALLOC_S, SHELF_PACK_BEFORE_READY_S = 1200, 300, 600
SALE_AFTER_PACK_S, RECOVERED_NOTICE_S, DAMAGE_NOTICE_S = 60, 6 * HOUR, 900
_DRAW_ROWS = 11  # rows of uniform draws per parcel, one per random step below


def parcel_draws(seed: int, day: int, counts: np.ndarray, slots: int) -> np.ndarray:
    """The uniform draws of the day's parcels, one column per parcel: the k-th parcel of the
    day's i-th order (of `counts[i]`) reads slot k of order i, so a parcel's carrier luck is its
    slot's, however the orders before it were routed. `slots` bounds an order's parcels (its
    lines) and must not depend on routing, or the block would be laid out differently."""
    block = stream(seed, PARCEL_SLOTS, day).random((len(counts), max(slots, 1), _DRAW_ROWS))
    order = np.repeat(np.arange(len(counts)), counts)
    slot = np.arange(len(order)) - np.repeat(np.cumsum(counts) - counts, counts)
    return block[order, slot].T


class Held(NamedTuple):
    """Shipped units that stay reserved at their node until a later day."""

    cells: np.ndarray  # flat node/SKU cells: node * SKUs + sku
    quantities: np.ndarray
    until: np.ndarray  # the day each is released


class _Routes(NamedTuple):
    """Per parcel: carrier row, mode, weight, transit days, planned ship day, node, region of
    the destination metro, carrier group."""

    carrier: list[int]
    mode: list[int]
    weight: list[float]
    transit: list[int]
    plan_day: list[int]
    node: list[int]
    region: list[int]
    group: list[int]


class _Chance(NamedTuple):
    p_late: np.ndarray
    p_late_at_allocation: np.ndarray
    slack: np.ndarray
    weather: np.ndarray
    carrier_disruption: np.ndarray
    node_effect: np.ndarray
    carrier_effect: np.ndarray
    ready_plan: np.ndarray  # when a shelf pick is planned to be ready
    ship_day: np.ndarray


class _Times(NamedTuple):
    done: list[int]
    packed: list[int]
    shipped: list[int]
    collected: list[int]  # -1: never collected
    notice: list[int]


class Shipping:
    """Turns the day's parcels into their fates, their events and their costs."""

    def __init__(
        self,
        sourcing: Sourcing,
        late_model: LateModel,
        cat: Catalogue,
        node_ids: list[str],
        sink: EventSink,
        costs: CostLedger,
        collected_share: float,
    ) -> None:
        self.src, self.model = sourcing, late_model
        self.weight = cat.weight.tolist()
        self.node_ids, self.sku_ids = node_ids, cat.sku_ids
        self.sink, self.costs = sink, costs
        self.collected_share = collected_share
        self.nominal_cap = np.array(sourcing.cap)
        self.ship_seq = 0

    def ship_day(
        self, parcels: list[Parcel], counts: np.ndarray, u: np.ndarray, day_noise: list[float]
    ) -> tuple[list[Shipment], ParcelFates | None, Held | None]:
        """The day's parcels, `counts[i]` of them the i-th order's: their late chance, the draws
        `u` (`parcel_draws`), and their events.

        Returns each parcel's shipment, the fates for the truth, and what stays reserved.
        """
        if not parcels:
            return [], None, None
        routes = self._route(parcels)
        chance = self._late_chance(parcels, counts, routes, day_noise)
        late = u[0] < chance.p_late
        times, lost, notice, recovered, damaged = self._times(parcels, routes, chance, late, u)
        sids = self._shipment_ids(len(parcels))
        ships, held = self._write(
            parcels, routes, sids, late, chance.weather, times, (lost, notice, recovered, damaged)
        )
        fates = ParcelFates(
            parcels=parcels,
            shipment_ids=sids,
            carriers=routes.carrier,
            p_late=chance.p_late,
            p_late_at_allocation=chance.p_late_at_allocation,
            late=late,
            slack=chance.slack.astype(float),
            backlog_days=np.array([x.backlog_days for x in parcels], dtype=np.int64),
            weather=chance.weather,
            carrier_disruption=chance.carrier_disruption,
            node_effect=chance.node_effect,
            carrier_effect=chance.carrier_effect,
        )
        return ships, fates, held

    def _shipment_ids(self, k: int) -> list[str]:
        first = self.ship_seq + 1
        self.ship_seq += k
        return [f"SH{seq:08d}" for seq in range(first, first + k)]

    def _route(self, parcels: list[Parcel]) -> _Routes:
        src, model, weights = self.src, self.model, self.weight
        route, extra_days = src.route_carrier, model.extra_days
        no_heavy, proc, cutoff_s = src.c_heavy < 0, src.proc, src.cutoff_s
        routes = _Routes(*([] for _ in _Routes._fields))
        ci_l, mode_l, weight_l, transit_l, plan_l, node_l, region_l, group_l = routes
        for _, n, glines, t_alloc, metro, service, _, store_node, _, _ in parcels:
            if len(glines) == 1:
                _, s, q = glines[0]
                weight = weights[s] * q
            else:
                weight = sum(weights[s] * q for _, s, q in glines)
            if store_node >= 0 and n == store_node:
                mode, ci = IN_STORE, src.c_pickup
            elif store_node >= 0:
                mode, ci = TRANSFER, src.c_transfer
            elif weight <= PARCEL_MAX_KG or no_heavy:
                mode, ci = DELIVERY, route[service][metro][n]
            else:
                mode, ci = DELIVERY, src.carrier(n, metro, service, "delivery", weight)
            ci_l.append(ci)
            mode_l.append(mode)
            weight_l.append(weight)
            transit_l.append(
                model.c_transit[ci] + (0 if mode == TRANSFER else extra_days[metro][n])
            )
            pr = proc[n]  # the planned ship day, as Sourcing.plan_day (inline: once per parcel)
            plan_l.append(t_alloc // DAY + pr + (pr == 0 and t_alloc % DAY >= cutoff_s))
            node_l.append(n)
            region_l.append(model.metro_region[metro])
            group_l.append(model.c_group[ci])
        return routes

    def _late_chance(
        self, parcels: list[Parcel], counts: np.ndarray, routes: _Routes, day_noise: list[float]
    ) -> _Chance:
        """The logistic late model over the day's parcels: with every hidden cause as it turned
        out, and as their allocation could know it (`LateModel.p_late_at_allocation`)."""
        m = self.model
        t_alloc = np.array([x.allocated_t for x in parcels], dtype=np.int64)
        promised_t = np.array([x.promised_t for x in parcels], dtype=np.int64)
        delay = np.array([x.backlog_days for x in parcels], dtype=np.int64)
        ci, mode = np.array(routes.carrier), np.array(routes.mode)
        node = np.array(routes.node)
        in_store = mode == IN_STORE
        node_eff = m.node_effect[node] + np.array(day_noise)[node]
        c_eff = m.c_effect[ci]
        promised_day = promised_t // DAY
        # Pickup from the store's own shelf: ready within the hour unless the store is behind.
        ready_plan = shelf_ready(t_alloc, delay)
        z_store = m.shelf_logit(node_eff, delay)
        p_store = np.where(ready_plan > promised_t, 1.0, 1.0 / (1.0 + np.exp(-z_store)))
        # Shipped parcels: the node's plan, its backlog, the carrier's transit and disruptions.
        plan_day = np.array(routes.plan_day, dtype=np.int64)
        ship_day = plan_day + delay
        transit = np.array(routes.transit, dtype=np.int64)
        slack_ship = promised_day - (ship_day + transit)
        in_time = ship_day < promised_day
        region, group = np.array(routes.region), np.array(routes.group)
        # Disrupted days up to the promise less those before shipping (two cells per parcel:
        # gathering each parcel's whole row of days cost more than the rest of the model).
        wc, cc, end = m.weather_cum, m.carrier_cum, promised_day + 1
        weather = in_time & ~in_store & (wc[region, end] - wc[region, ship_day] > 0)
        carrier_dis = in_time & ~in_store & (cc[group, end] - cc[group, ship_day] > 0)
        z = m.shipped_logit(slack_ship, node_eff, c_eff, delay, weather, carrier_dis, ship_day)
        p_ship = np.where(in_time, 1.0 / (1.0 + np.exp(-z)), 1.0)
        queue = np.array([x.queue_units for x in parcels])
        # An order's parcels are consecutive; the first allocated is its first allocation.
        shipped = counts[counts > 0]
        first_t = np.minimum.reduceat(t_alloc, np.cumsum(shipped) - shipped)
        known = AtAllocation(
            in_store,
            t_alloc,
            promised_t,
            plan_day,
            transit,
            m.node_effect[node],
            c_eff,
            region,
            group,
            queue / self.nominal_cap[node],
            np.repeat(first_t // DAY, shipped),
        )
        return _Chance(
            p_late=np.where(in_store, p_store, p_ship),
            p_late_at_allocation=m.p_late_at_allocation(known, self.src.cap_range),
            slack=np.where(in_store, (promised_t - ready_plan) / DAY, slack_ship),
            weather=weather,
            carrier_disruption=carrier_dis,
            node_effect=node_eff,
            carrier_effect=c_eff,
            ready_plan=ready_plan,
            ship_day=ship_day,
        )

    def _times(self, parcels: list[Parcel], routes: _Routes, chance: _Chance, late, u):
        """When each parcel is packed, shipped, done and collected, and its carrier trouble.

        Row 0 of `u` drew `late`; rows are shared only by exclusive branches.
        """
        dcfg = self.model.cfg

        def randint(row: int, lo, hi) -> np.ndarray:
            return lo + (u[row] * (hi - lo + 1)).astype(np.int64)

        t_alloc = np.array([x.allocated_t for x in parcels], dtype=np.int64)
        promised_t = np.array([x.promised_t for x in parcels], dtype=np.int64)
        mode = np.array(routes.mode)
        in_store, transfer, delivery = mode == IN_STORE, mode == TRANSFER, mode == DELIVERY
        promised_day, ready_plan = promised_t // DAY, chance.ready_plan
        ship_day, transit = chance.ship_day, np.array(routes.transit, dtype=np.int64)
        # When it is done: delivered, or ready at the store.
        store_done = np.where(
            late,
            np.maximum(promised_t + randint(1, *LATE_READY_WINDOW), ready_plan),
            randint(
                1,
                t_alloc + STORE_PICK_S,
                np.maximum(t_alloc + STORE_PICK_S + 1, np.minimum(ready_plan, promised_t)),
            ),
        )
        extra = np.where(u[2] < LATE_BY_ONE_DAY, 0, np.where(u[3] < LATE_BY_TWO_DAYS, 1, 2))
        done_day = np.where(
            late,
            np.maximum(promised_day + 1, ship_day + 1) + extra,
            np.minimum(
                np.maximum(ship_day + transit + randint(2, -1, 0), ship_day + 1), promised_day
            ),
        )
        hour = np.where(
            transfer,
            np.where(late, randint(4, *TRANSFER_LATE_WINDOW), randint(4, *TRANSFER_WINDOW)),
            randint(4, *DELIVERY_WINDOW),
        )
        done_t = np.where(in_store, store_done, done_day * DAY + hour)
        packed_t = np.where(
            in_store,
            np.maximum(store_done - SHELF_PACK_BEFORE_READY_S, t_alloc + SHELF_PACK_AFTER_ALLOC_S),
            np.maximum(ship_day * DAY + randint(5, *PACKING_WINDOW), t_alloc + PACK_AFTER_ALLOC_S),
        )
        shipped_t = packed_t + randint(6, *PACK_TO_SHIP)
        collected_t = np.where(
            u[7] < self.collected_share, done_t + randint(8, *COLLECT_WINDOW), -1
        )
        # Carrier trouble on delivered parcels: lost, a delay or weather notice, damage.
        lost = delivery & late & (u[7] < dcfg["lost_rate"])
        notice = delivery & late & (u[8] < dcfg["exception_share_late"])
        notice_t = shipped_t + (
            (np.maximum(done_t, shipped_t + DAY) - shipped_t) * (NOTICE_FROM + NOTICE_SPAN * u[9])
        ).astype(np.int64)
        recovered = delivery & ~late & (u[8] < dcfg["exception_share_on_time"])
        damaged = delivery & ~lost & (u[10] < dcfg["damaged_rate"])
        times = _Times(
            done_t.tolist(),
            packed_t.tolist(),
            shipped_t.tolist(),
            collected_t.tolist(),
            notice_t.tolist(),
        )
        return times, lost, notice, recovered, damaged

    def _write(self, parcels, routes: _Routes, sids, late, weather, times: _Times, trouble):
        """Each parcel's events and costs; returns the shipments and what stays reserved."""
        src, add_cost = self.src, self.costs.add
        node_ids = self.node_ids
        c_name, c_service, c_base, c_kg = src.c_name, src.c_service, src.c_base, src.c_kg
        dist, pick_rate = src.dist, src.pick_rate
        # The events, gathered by type as (times, rows) and emitted together after the loop.
        ev = _DayEvents(*(EventColumns([], []) for _ in _DayEvents._fields))
        packed_t, packed_rows = ev.packed
        shipped_t, shipped_rows = ev.shipped
        ready_t, ready_rows = ev.ready
        collected_t, collected_rows = ev.collected
        delivered_t, delivered_rows = ev.delivered
        ships = []
        first_seq = self.ship_seq - len(parcels) + 1
        for i, (
            (oid, n, glines, _, metro, _, prom_t, store_node, _, _),
            sid,
            c,
            md,
            weight,
            late_i,
            done,
            packed,
            shipped,
            collected,
            trouble_i,
            weather_i,
        ) in enumerate(
            zip(
                parcels,
                sids,
                routes.carrier,
                routes.mode,
                routes.weight,
                late.tolist(),
                times.done,
                times.packed,
                times.shipped,
                times.collected,
                zip(*(a.tolist() for a in trouble), strict=True),
                weather.tolist(),
                strict=True,
            )
        ):
            node_id = node_ids[n]
            items = payloads.shipment_items(glines)
            packed_t.append(packed)
            packed_rows.append((sid, oid, node_id, items))
            units = sum(q for _, _, q in glines)
            add_cost(oid, "pick_pack", units, units * pick_rate[n])
            add_cost(oid, "packaging", 1)
            if md != IN_STORE:
                cost = round(
                    c_base[c] * (1 + dist[metro][n] / KM_PER_BASE_RATE) + c_kg[c] * weight, 2
                )
                add_cost(oid, "outbound_shipping", 1, cost)
                tracking = f"1Z{first_seq + i:010d}"
                shipped_t.append(shipped)
                shipped_rows.append(
                    (sid, oid, node_id, c_name[c], c_service[c], tracking, items, cost,
                     round(weight, 2))
                )  # fmt: skip
            if md != DELIVERY:
                at_store = (oid, node_ids[store_node])
                ready_t.append(done)
                ready_rows.append(at_store)
                if collected >= 0:
                    collected_t.append(collected)
                    collected_rows.append(at_store)
            else:
                if True in trouble_i:
                    _exceptions(ev.exception, sid, oid, prom_t, times, i, trouble_i, weather_i)
                if not trouble_i[0]:  # not lost
                    delivered_t.append(done)
                    delivered_rows.append((sid, oid))
            ships.append(_new_tuple(Shipment, (late_i, done, glines, trouble_i[0], trouble_i[3])))
        held = self._sold(parcels, times.packed, ev.sold)
        self._emit(ev)
        return ships, held

    def _sold(self, parcels: list[Parcel], packed_t: list[int], sold: EventColumns) -> Held:
        """Each packed line is a sale of its node's stock (gathered into `sold`), and stays
        reserved there until the day after it is packed."""
        node_ids, sku_ids, n_skus = self.node_ids, self.sku_ids, len(self.sku_ids)
        cells, qtys, until = [], [], []
        sold_t, sold_rows = sold
        for x, packed in zip(parcels, packed_t, strict=True):
            n, node_id, release = x.node, node_ids[x.node], packed // DAY + 1
            for _, s, q in x.lines:
                sold_t.append(packed + SALE_AFTER_PACK_S)
                sold_rows.append((node_id, sku_ids[s], -q, "sale"))
                cells.append(n * n_skus + s)
                qtys.append(q)
                until.append(release)
        return Held(np.array(cells), np.array(qtys), np.array(until))

    def _emit(self, ev: _DayEvents) -> None:
        """The gathered events, exceptions first, in the order event ids were given before."""
        emit_many = self.sink.emit_many
        for (event_type, source, build), (times, rows) in zip(_DAY_EVENT_TYPES, ev, strict=True):
            emit_many(event_type, source, times, build(rows))


class _DayEvents(NamedTuple):
    exception: EventColumns
    packed: EventColumns
    sold: EventColumns
    shipped: EventColumns
    ready: EventColumns
    collected: EventColumns
    delivered: EventColumns


# The type, source and payload of each of _DayEvents, in its order.
_DAY_EVENT_TYPES = (
    ("shipment.exception", "tms", payloads.shipment_exception),
    ("shipment.packed", "wms", payloads.shipment_packed),
    ("stock.adjusted", "wms", payloads.stock_adjusted),
    ("shipment.shipped", "tms", payloads.shipment_shipped),
    ("pickup.ready", "store", payloads.pickup_ready),
    ("pickup.collected", "store", payloads.pickup_collected),
    ("shipment.delivered", "tms", payloads.shipment_delivered),
)
# A shipment is built once per parcel: tuple.__new__ skips the NamedTuple constructor's frame.
_new_tuple = tuple.__new__


def _exceptions(out: EventColumns, sid, oid, prom_t, times: _Times, i, trouble, weather) -> None:
    """A delivered parcel's carrier exceptions, if any: a notice (or, lost without one, a `lost`
    a day after the promise, or a delay recovered in the network), then damage."""
    lost, notice, recovered, damaged = trouble
    if notice:
        code = "lost" if lost else ("weather" if weather else "delayed")
        out.times.append(times.notice[i])
        out.datas.append((sid, oid, code, None))
    elif lost:
        out.times.append(prom_t + DAY)
        out.datas.append((sid, oid, "lost", None))
    elif recovered:
        out.times.append(times.shipped[i] + RECOVERED_NOTICE_S)
        out.datas.append((sid, oid, "delayed", "recovered in network"))
    if damaged and not lost:
        out.times.append(times.done[i] + DAMAGE_NOTICE_S)
        out.datas.append((sid, oid, "damaged", "customer reported damage"))
