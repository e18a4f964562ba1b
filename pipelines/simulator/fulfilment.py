"""The order flow of one day: each order is promised, sourced from the system record and picked
against the truth; then the day's parcels ship, and each order's after-sale follows.

Orders are walked in time order in plain Python because sourcing is stateful (each allocation
changes the stock the next order sees). What does not feed back into the stock is done for the
whole day at once: the ids and amounts of the orders before the walk, their `order.placed` data
after it, the parcels' fates as numpy arrays (`shipping.py`), then each order's returns, refunds
and contacts (`aftercare.py`). Everything an order causes later is emitted at once, dated in the
future, and the sink files it under the day it occurs. Event ids follow the order of emission,
so the order in which this module emits is part of the world's bytes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pipelines.simulator import payloads
from pipelines.simulator.aftercare import Aftercare
from pipelines.simulator.catalogue import Catalogue
from pipelines.simulator.checkout import Checkout, OrderRequest
from pipelines.simulator.costs import CostLedger
from pipelines.simulator.demand import DayOrders
from pipelines.simulator.draws import AFTERCARE, NODE_DAYS, ORDER_WALK, OrderDraws, stream
from pipelines.simulator.emit import DAY, EventSink
from pipelines.simulator.inventory import Inventory
from pipelines.simulator.late_model import MAX_BACKLOG_DAYS, LateModel, draw_node_effects
from pipelines.simulator.network import Carriers, Network
from pipelines.simulator.records import (
    DayState,
    LineSourcing,
    OrderDrivers,
    OrderTail,
    Parcel,
    ParcelLine,
    StockOp,
)
from pipelines.simulator.shipping import Shipping, parcel_draws
from pipelines.simulator.sourcing import HOUR, PARCEL_MAX_KG, RoutingPlan, Sourcing, promised_at
from pipelines.simulator.truth import order_truth, shipment_truth

__all__ = ["Fulfilment"]

# Cancellations before sourcing, by DayOrders.pre_cancel: a failed payment five minutes after
# placing, fraud screening one to four hours after, the customer within the remorse window (not
# in its first two minutes nor its last minute).
_CANCEL_REASONS = ("", "payment_failed", "fraud", "customer_request")
PAYMENT_FAILED_AFTER_S = 300
FRAUD_WINDOW = (HOUR, 4 * HOUR)
REMORSE_MARGIN_S = (120, 60)
CANCEL_CONTACT_BEFORE_S = 90
# A line is tried at three nodes at most; then it is treated as out of stock.
MAX_ATTEMPTS = 3
# A store this many days behind turns a share of its picks away (network.swamped_store_reject).
SWAMPED_BACKLOG_DAYS = 2
# A picker looks for the goods between 08:00 and 12:00 of the planned day, at least 15 minutes
# after the allocation; at a store's own shelf 10 to 40 minutes after it. A stock correction
# follows two minutes later, a re-allocation 2 to 15 minutes later.
PICK_WINDOW, PICK_AFTER_ALLOC_S, SHELF_PICK_WINDOW = (8 * HOUR, 12 * HOUR), 900, (600, 2400)
CORRECTION_AFTER_S, REALLOCATE_WINDOW = 120, (120, 900)
# A backordered line: announced a minute after the last rejection, expected at noon of the
# receipt day, allocated at 13:00 that day, planned to ship by 20:00 the next day, when the sale
# is recorded at 11:00. A line with nothing due is cancelled ten minutes on, one whose customer
# would not wait two hours on.
BACKORDER_AFTER_S, BACKORDER_EXPECTED_HOUR, BACKORDER_ALLOCATED_HOUR = 60, 12, 13
BACKORDER_SALE_HOUR = 11
# An allocation is planned to leave by 20:00 of its ship day.
PLANNED_SHIP_HOUR = 20
PLANNED_SHIP_BY = f"{PLANNED_SHIP_HOUR}:00:00Z"
OUT_OF_STOCK_CANCEL_S, BACKORDER_CANCEL_S = 600, 7200


# Records built per order, parcel and line: tuple.__new__ skips the NamedTuple constructor's frame.
_new = tuple.__new__


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
        seed: int,
    ) -> None:
        self.cfg, self.seed = cfg, seed
        self.inv, self.sink = inv, sink
        self.node_ids, self.sku_ids = net.node_ids, cat.sku_ids
        self.n_skus = len(cat.sku_ids)
        self.costs = CostLedger()
        # The world's draws from `rng`, in this order: node effects, primary carriers, disruptions.
        node_effect = draw_node_effects(cfg, net, rng)
        self.sourcing = src = Sourcing(cfg, net, carriers, daily_units, rng, cat.sku_ids)
        self.late_model = LateModel(cfg, net, carriers, node_effect, horizon_days, peak_flag, rng)
        # Stock changes applied at the start of a later day, by that day.
        self.stock_ops: dict[int, list[StockOp]] = {}
        # Reserved units to release by day: (flat node/SKU cells, quantities) per release day.
        self.releases: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
        self.shipping = Shipping(
            src,
            self.late_model,
            cat,
            self.node_ids,
            sink,
            self.costs,
            float(cfg["delivery"]["pickup_collected_share"]),
        )
        self.aftercare = Aftercare(
            cfg, cat, src, inv.carried, self.node_ids, sink, self.costs, self.stock_ops
        )
        self.checkout = Checkout(cfg, cat, self.node_ids, src.pickup_store, sink)
        self.backlog = [0.0] * net.n
        self.weight = cat.weight.tolist()
        ocfg = cfg["orders"]
        self.remorse_s = int(ocfg["remorse_minutes"]) * 60
        self.backorder_days = int(ocfg["backorder_max_days"])
        self.backorder_cancel_share = float(ocfg["backorder_cancel_share"])
        self.swamped_reject = float(cfg["network"]["swamped_store_reject"])
        self.cancel_contact = float(cfg["service"]["cancel_contact"])
        self.country = cfg["world"]["country"]
        self.carriers_of = [np.flatnonzero(col).tolist() for col in inv.carried.T]
        # Day prefixes of every day an event can fall on, so hot paths index them directly.
        sink.clock.day_prefix(horizon_days + 1)
        self.prefixes = sink.clock.prefixes
        # What allocating a line reads, unpacked once per order rather than looked up.
        self._line_tables = (
            src.proc,
            src.cutoff_s,
            self.weight,
            self.node_ids,
            self.prefixes,
            src.c_name,
            src.c_service,
            src.c_base,
            src.c_kg,
        )
        self.ts = sink.clock.ts

    # What the engine writes into the reference and truth files.

    @property
    def pickup_store(self) -> np.ndarray:
        return self.sourcing.pickup_store

    @property
    def cap(self) -> list[float]:
        return self.sourcing.cap

    @property
    def node_effect(self) -> list[float]:
        return self.late_model.node_effect.tolist()

    @property
    def weather_spans(self) -> list[tuple[str, int, int]]:
        return self.late_model.weather_spans

    @property
    def carrier_spans(self) -> list[tuple[str, int, int]]:
        return self.late_model.carrier_spans

    # -- state applied at the start of a day --------------------------------------------------

    def start_of_day(self, day: int) -> None:
        inv = self.inv
        for cells, qtys in self.releases.pop(day, []):
            self._reserve(cells, -qtys)
        for n, s, q, reason, t in self.stock_ops.pop(day, []):
            if reason == "return_restock":
                inv.rec[n, s] += q
                inv.truth[n, s] += q
            else:
                taken = min(q, int(inv.truth[n, s]))
                inv.truth[n, s] -= taken
                inv.rec[n, s] = max(0, int(inv.rec[n, s]) - q)
                data = payloads.stock_adjusted([(self.node_ids[n], self.sku_ids[s], -q, "sale")])
                self.sink.emit_json(t, "stock.adjusted", "wms", data[0])

    # -- the day's orders ----------------------------------------------------------------------

    def run_day(
        self, day: int, orders: DayOrders, plan: RoutingPlan | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Walk the day's orders, routed by `plan` (default: the OMS's own); returns their order
        and shipment truth as columns."""
        inv, src, seed = self.inv, self.sourcing, self.seed
        lo, hi = src.cap_range
        nodes = stream(seed, NODE_DAYS, day)
        state = DayState(
            day=day,
            plan=plan or src.oms_plan,
            walk=OrderDraws(seed, ORDER_WALK, day, orders.n),
            rec=inv.rec.tolist(),
            tru=inv.truth.tolist(),
            true_cap=(np.array(src.cap) * nodes.uniform(lo, hi, len(src.cap))).tolist(),
            day_noise=nodes.normal(
                0.0, self.late_model.cfg["node_day_noise_sd"], len(src.cap)
            ).tolist(),
            used=[0.0] * len(src.cap),
        )
        checkout = self.checkout.requests(day, orders)
        order = self._order
        for k, request in enumerate(checkout.requests):
            state.order = k
            order(state, request)
        self.checkout.emit(orders, checkout, state.tails, state.paid, state.allocated)
        counts = np.array([t.end_parcel - t.first_parcel for t in state.tails], dtype=np.int64)
        u = parcel_draws(seed, day, counts, int(np.diff(orders.line_start).max(initial=0)))
        ships, fates, held = self.shipping.ship_day(state.parcels, counts, u, state.day_noise)
        after, draws = self.aftercare.after_order, OrderDraws(seed, AFTERCARE, day, orders.n)
        for k, tail in enumerate(state.tails):
            after(draws.of(k), tail, ships[tail.first_parcel : tail.end_parcel])
        self._write_back(state)
        if held is not None:
            self._reserve(held.cells, held.quantities)
            for d in np.unique(held.until).tolist():
                due = held.until == d
                self.releases.setdefault(d, []).append((held.cells[due], held.quantities[due]))
        for n, used in enumerate(state.used):
            self.backlog[n] = max(0.0, self.backlog[n] + used - state.true_cap[n])
        peak = bool(self.late_model.peak[day])
        orders_truth = order_truth(state.tails, state.drivers, fates, self.ts, peak)
        ships_truth = shipment_truth(
            fates, state.tails, state.drivers, src.c_name, src.c_service, self.node_ids
        )
        return orders_truth, ships_truth

    def _order(self, state: DayState, o: OrderRequest) -> None:
        """Promise, cancel or source one order, and leave its parcels for the day's shipping."""
        src = self.sourcing
        placed_t, oid, metro, is_pickup = o.placed_t, o.order_id, o.metro, o.is_pickup
        rec = state.rec
        store_node = int(src.pickup_store[metro]) if is_pickup else -1
        # Promise at checkout, from the system record the storefront sees.
        in_store = is_pickup and all(
            rec[store_node][s] >= q for s, q in zip(o.skus, o.qtys, strict=True)
        )
        promised_t = promised_at(placed_t, is_pickup, in_store, o.promise_days)
        drivers = OrderDrivers()
        pre = o.pre_cancel
        if pre != 1:
            paid_times, paid_rows = state.paid
            paid_times.append(placed_t + o.pay_delay)
            paid_rows.append(o.payment)
            self.costs.add(oid, "payment", 1, o.payment[1])
        if pre:
            self._cancel_before_sourcing(state, o, drivers)
            state.tails.append(
                _new(OrderTail, (oid, placed_t, promised_t, metro, is_pickup, o.channel, 0, 0))
            )
            state.drivers.append(drivers)
            return
        plan = state.plan
        if is_pickup and in_store:
            sourcing = LineSourcing("in_store", [store_node], {}, {})
        elif is_pickup:
            sourcing = LineSourcing("transfer", plan.transfer_ranked[store_node], {}, {})
        else:
            sourcing = LineSourcing("delivery", plan.ranked[metro], {}, {})
        first = src.first_nodes(rec, state.used, sourcing.candidates, o.skus, o.qtys, plan.buffer)
        self._allocate(state, o, sourcing, first, store_node, drivers)
        # Each group is a parcel; its fate is drawn for the whole day at once (shipping.py). The
        # capacity backlog it meets is the node's as this order leaves it.
        parcels = state.parcels
        start = len(parcels)
        backlog, true_cap, used, today = self.backlog, state.true_cap, state.used, state.day
        service = o.service
        for key, glines in sourcing.groups.items():
            n, t_alloc = key[0], sourcing.group_t[key]
            queue = 0.0 if t_alloc // DAY > today else backlog[n] + used[n]
            delay = min(int(queue / true_cap[n]), MAX_BACKLOG_DAYS)
            parcels.append(
                _new(
                    Parcel,
                    (oid, n, glines, t_alloc, metro, service, promised_t, store_node, delay, queue),
                )
            )
        tail = (oid, placed_t, promised_t, metro, is_pickup, o.channel, start, len(parcels))
        state.tails.append(_new(OrderTail, tail))
        state.drivers.append(drivers)

    def _cancel_before_sourcing(
        self, state: DayState, o: OrderRequest, drivers: OrderDrivers
    ) -> None:
        draws, pre, placed_t = state.draws(), o.pre_cancel, o.placed_t
        reason = _CANCEL_REASONS[pre]
        if pre == 1:
            t = placed_t + PAYMENT_FAILED_AFTER_S
        elif pre == 2:
            t = placed_t + FRAUD_WINDOW[0] + draws.randint(0, FRAUD_WINDOW[1] - FRAUD_WINDOW[0])
        else:
            first, last = REMORSE_MARGIN_S[0], self.remorse_s - REMORSE_MARGIN_S[1]
            t = placed_t + draws.randint(first, last)
            if draws.random() < self.cancel_contact:
                self.aftercare.contact(draws, t - CANCEL_CONTACT_BEFORE_S, o.order_id, "cancel")
        emit_json = self.sink.emit_json
        rows = [(o.order_id, lid, q, reason) for lid, q in zip(o.line_ids, o.qtys, strict=True)]
        for data in payloads.order_line_cancelled(rows):
            emit_json(t, "order.line_cancelled", "oms", data)
        drivers.cancel_reason = reason

    def _allocate(
        self,
        state: DayState,
        o: OrderRequest,
        sourcing: LineSourcing,
        first: list[int],
        store_node: int,
        drivers: OrderDrivers,
    ) -> None:
        """Allocate each line, pick it against the truth, re-allocate after a rejection."""
        src = self.sourcing
        oid, metro, service = o.order_id, o.metro, o.service
        alloc_t = o.placed_t + self.remorse_s + o.alloc_wait
        rec, tru, used = state.rec, state.tru, state.used
        touched, n_skus = state.touched, self.n_skus
        proc, cutoff_s, weights, node_ids, prefixes, c_name, c_service, c_base, c_kg = (
            self._line_tables
        )
        alloc_times, alloc_rows = state.allocated
        routes = src.route_carrier[service][metro]
        is_store, no_heavy = src.is_store, src.c_heavy < 0
        backlog, true_cap = self.backlog, state.true_cap
        groups, group_t = sourcing.groups, sourcing.group_t
        for k, (lid, s, q) in enumerate(zip(o.line_ids, o.skus, o.qtys, strict=True)):
            n = first[k]
            t = alloc_t
            attempt = 1
            excluded: list[int] = []
            while True:
                if n < 0:
                    self._no_stock(state, o, sourcing, lid, s, q, t, drivers)
                    break
                rec[n][s] -= q
                touched.append(n * n_skus + s)  # every change to the cell follows this one
                used[n] += q
                w = weights[s] * q
                if sourcing.mode == "delivery" and (w <= PARCEL_MAX_KG or no_heavy):
                    ci = routes[n]
                else:
                    ci = src.carrier(n, metro, service, sourcing.mode, w)
                # As Sourcing.plan_day; inline, because this runs for every line.
                plan_day = t // DAY + proc[n] + (proc[n] == 0 and t % DAY >= cutoff_s)
                cost = round(c_base[ci] + c_kg[ci] * weights[s] * q, 2)  # estimated_cost, inline
                alloc_times.append(t)
                alloc_rows.append(
                    (oid, lid, node_ids[n], q, c_name[ci], c_service[ci],
                     prefixes[plan_day] + PLANNED_SHIP_BY, cost, attempt)
                )  # fmt: skip
                short = tru[n][s] < q
                busy = (
                    is_store[n]
                    and int((backlog[n] + used[n]) / true_cap[n]) >= SWAMPED_BACKLOG_DAYS
                    and state.draws().random() < self.swamped_reject
                )
                if not short and not busy:
                    tru[n][s] -= q
                    key = (n, 0 if attempt == 1 else k + 1)
                    groups.setdefault(key, []).append(_new(ParcelLine, (lid, s, q)))
                    group_t.setdefault(key, t)
                    break
                t = self._reject(state, oid, lid, s, q, n, t, plan_day, short, sourcing)
                drivers.rejected = True
                excluded.append(n)
                attempt += 1
                if attempt > MAX_ATTEMPTS:
                    n = -1
                    continue
                if sourcing.mode == "in_store":
                    sourcing.mode = "transfer"
                    sourcing.candidates = state.plan.transfer_ranked[store_node]
                n = src.pick_node(rec, used, sourcing.candidates, s, q, excluded, state.plan.buffer)
                if n >= 0:
                    drivers.reallocated = True

    def _reject(
        self,
        state: DayState,
        oid: str,
        lid: str,
        s: int,
        q: int,
        n: int,
        t: int,
        plan_day: int,
        short: bool,
        sourcing: LineSourcing,
    ) -> int:
        """The picker comes back empty-handed (or the store is swamped): the line goes back to
        the OMS, a short record is corrected. Returns when the line can be allocated again."""
        draws, rec, tru = state.draws(), state.rec, state.tru
        pick_t = max(plan_day * DAY + draws.randint(*PICK_WINDOW), t + PICK_AFTER_ALLOC_S)
        if sourcing.mode == "in_store":
            pick_t = t + draws.randint(*SHELF_PICK_WINDOW)
        rec[n][s] += q
        state.used[n] -= q
        node_id = self.node_ids[n]
        reason = "not_found" if short else "no_capacity"
        data = payloads.order_line_rejected([(oid, lid, node_id, q, reason)])
        source = "store" if self.sourcing.is_store[n] else "wms"
        self.sink.emit_json(pick_t, "order.line_rejected", source, data[0])
        if short:
            delta = tru[n][s] - rec[n][s]
            if delta:
                rec[n][s] = tru[n][s]
                data = payloads.stock_adjusted([(node_id, self.sku_ids[s], delta, "correction")])
                self.sink.emit_json(pick_t + CORRECTION_AFTER_S, "stock.adjusted", "wms", data[0])
        return pick_t + draws.randint(*REALLOCATE_WINDOW)

    def _no_stock(
        self,
        state: DayState,
        o: OrderRequest,
        sourcing: LineSourcing,
        lid: str,
        s: int,
        q: int,
        t: int,
        drivers: OrderDrivers,
    ) -> None:
        """No node has it in the record: backorder when a receipt is near, else cancel."""
        emit_json, inv, oid = self.sink.emit_json, self.inv, o.order_id
        best, best_day = -1, -1
        for n in self.carriers_of[s]:
            a = inv.due_within(n, s, t // DAY, self.backorder_days)
            if a >= 0 and (best < 0 or a < best_day):
                best, best_day = n, a
        waits = best >= 0 and state.draws().random() >= self.backorder_cancel_share
        if best >= 0:
            expected = self.ts(best_day * DAY + BACKORDER_EXPECTED_HOUR * HOUR)
            data = payloads.order_line_backordered([(oid, lid, q, expected)])
            emit_json(t + BACKORDER_AFTER_S, "order.line_backordered", "oms", data[0])
            drivers.backordered = True
        if not waits:
            cancel_t = t + (BACKORDER_CANCEL_S if best >= 0 else OUT_OF_STOCK_CANCEL_S)
            data = payloads.order_line_cancelled([(oid, lid, q, "out_of_stock")])
            emit_json(cancel_t, "order.line_cancelled", "oms", data[0])
            drivers.cancel_reason = "out_of_stock"
            return
        src = self.sourcing
        t_alloc = best_day * DAY + BACKORDER_ALLOCATED_HOUR * HOUR
        mode = "delivery" if sourcing.mode == "delivery" else "transfer"
        ci = src.carrier(best, o.metro, "standard", mode, self.weight[s] * q)
        row = (
            oid, lid, self.node_ids[best], q, src.c_name[ci], src.c_service[ci],
            self.ts((best_day + 1) * DAY + PLANNED_SHIP_HOUR * HOUR),
            src.estimated_cost(ci, self.weight[s], q), 2,
        )  # fmt: skip
        emit_json(t_alloc, "order.line_allocated", "oms", payloads.order_line_allocated([row])[0])
        key = (best, -1 - len(sourcing.groups))
        sourcing.groups[key] = [ParcelLine(lid, s, q)]
        sourcing.group_t[key] = t_alloc
        # The receipt is consumed on arrival; the sale is recorded then.
        sale_day = best_day + 1
        self.stock_ops.setdefault(sale_day, []).append(
            StockOp(best, s, q, "sale", sale_day * DAY + BACKORDER_SALE_HOUR * HOUR)
        )

    def _write_back(self, state: DayState) -> None:
        """The stock the walk changed, from its lists back into the inventory's arrays: only the
        cells it touched (converting every cell back was a noticeable share of a day)."""
        if not state.touched:
            return
        nodes, skus = np.divmod(np.unique(np.array(state.touched, dtype=np.int64)), self.n_skus)
        cells = list(zip(nodes.tolist(), skus.tolist(), strict=True))
        rec, tru = state.rec, state.tru
        self.inv.rec[nodes, skus] = [rec[n][s] for n, s in cells]
        self.inv.truth[nodes, skus] = [tru[n][s] for n, s in cells]

    def _reserve(self, cells: np.ndarray, qtys: np.ndarray) -> None:
        """Add quantities to the reserved stock of their node/SKU cells (flat index node * SKUs
        + sku; a cell may repeat). In place: a whole stock matrix summed per call cost more
        than the few cells a day holds or releases. On the flat view: `np.add.at` with a pair
        of index arrays takes some twenty times as long as with one."""
        if len(cells):
            flat = self.inv.reserved.view()
            flat.shape = (-1,)  # raises rather than copies if the matrix is not contiguous
            np.add.at(flat, cells, qtys)
