"""Sourcing and promise: what the OMS promises at checkout and which node and carrier it picks.

Both read the system's stock record, never the truth: the OMS only knows what it was told, which
is why a node can be allocated stock it does not have (a `not_found` rejection later).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipelines.feed.policy import FeedScores
from pipelines.simulator.demand import SERVICES
from pipelines.simulator.emit import DAY
from pipelines.simulator.network import Carriers, Network

HOUR = 3600
# The retailer's pickup promise. A store that has the stock has it ready two hours after the
# order in opening hours, else at 10:00 the next morning (or this morning, before opening); a
# store that must have it transferred promises noon three days on.
STORE_OPENS_HOUR, STORE_CLOSES_HOUR = 8, 18
IN_STORE_READY_HOURS = 2
NEXT_READY_HOUR = 10
TRANSFER_PROMISE_DAYS, TRANSFER_PROMISE_HOUR = 3, 12
# A delivery is promised by 21:00 of its day, the end of the carriers' evening rounds.
DELIVERY_PROMISE_HOUR = 21
# Parcel carriers take up to 20 kg a parcel; heavier ones go by freight.
PARCEL_MAX_KG = 20
# A store ships by the metro courier within 80 km, its own metro area.
COURIER_RADIUS_KM = 80
# Every node can pick a few units a day, however small the world.
MIN_NODE_CAPACITY_UNITS = 4.0
# Carriers that are not a node's primary parcel carrier: freight and the local courier are
# chosen by weight and distance instead.
_NOT_PRIMARY = ("heavy_freight", "metro_courier")
_CAPACITY_KEY = {"dc": "dc_capacity", "store": "store_capacity", "3pl": "tpl_capacity"}


def promised_at(placed_t: int, is_pickup: bool, in_store: bool, promise_days: int) -> int:
    """The promise made at checkout, in world seconds."""
    placed_day = placed_t // DAY
    if not is_pickup:
        return (placed_day + promise_days) * DAY + DELIVERY_PROMISE_HOUR * HOUR
    hour = placed_t % DAY // HOUR
    if not in_store:
        return (placed_day + TRANSFER_PROMISE_DAYS) * DAY + TRANSFER_PROMISE_HOUR * HOUR
    if STORE_OPENS_HOUR <= hour < STORE_CLOSES_HOUR:
        return placed_t + IN_STORE_READY_HOURS * HOUR
    if hour >= STORE_CLOSES_HOUR:
        return (placed_day + 1) * DAY + NEXT_READY_HOUR * HOUR
    return placed_day * DAY + NEXT_READY_HOUR * HOUR


@dataclass(frozen=True)
class RoutingPlan:
    """The order in which the walk tries nodes, and the units it holds back per stock record."""

    ranked: list[list[int]]  # delivery candidates by destination metro, first choice first
    transfer_ranked: dict[int, list[int]]  # transfer candidates by pickup store
    buffer: list[list[int]] | None = None  # units held back by node and SKU; None: none


class Sourcing:
    """The network as the OMS's sourcing rules see it, built once per world.

    Nodes are ranked per destination metro by the sourcing score (distance and pick/pack cost,
    cheapest first); each node ships standard with a primary parcel carrier drawn from `rng`,
    faster services with the others. `oms_plan` is the OMS's own routing; `plan_with` the
    routing of an engine that also weighs the feed's node penalties and record buffers.
    """

    def __init__(
        self,
        cfg: dict[str, Any],
        net: Network,
        carriers: Carriers,
        daily_units: float,
        rng: np.random.Generator,
        sku_ids: list[str],
    ) -> None:
        ncfg = cfg["network"]
        # By id, for routing that reads a feed naming nodes and SKUs.
        self.node_index = {n: i for i, n in enumerate(net.node_ids)}
        self.sku_index = {s: i for i, s in enumerate(sku_ids)}
        types = net.node_types
        self.types = types
        self.is_store = [t == "store" for t in types]
        self.proc = [int(ncfg["processing_days"][t]) for t in types]
        self.cutoff_s = int(cfg["demand"]["cutoff_hour"]) * HOUR
        # A node's capacity today is nominal x uniform(low, high): hidden staffing.
        self.cap_range = tuple(ncfg["true_capacity_range"])
        self.cap = [
            max(
                MIN_NODE_CAPACITY_UNITS,
                float(ncfg[_CAPACITY_KEY.get(t, "dropship_capacity")]) * daily_units,
            )
            for t in types
        ]
        pick = np.array([ncfg["pick_pack_cost"][t] for t in types])
        self.pick_rate = pick.tolist()
        score = net.dist / 100.0 * float(ncfg["distance_weight"]) + pick[None, :] * float(
            ncfg["cost_weight"]
        )
        self.score = score
        self.shipping_nodes = shipping_nodes = np.flatnonzero(net.ship_from_store)
        n_metros = len(net.metro_weight)
        self.ranked = [
            shipping_nodes[np.argsort(score[m, shipping_nodes], kind="stable")].tolist()
            for m in range(n_metros)
        ]
        self._rank_stores(net, float(ncfg["pickup_radius_km"]))
        # A store's transfer source is ranked by distance alone, in the same units as `score`.
        self.transfer_cost = net.dist / 100.0 * float(ncfg["distance_weight"])
        self.store_metro = net.store_metro
        self.oms_plan = RoutingPlan(self.ranked, self.transfer_ranked)
        self.dist = net.dist.tolist()
        self._choose_carriers(net, carriers, rng)
        # The carrier of a parcel delivery by service, metro and node, looked up per line.
        self.route_carrier = {
            sv: [
                [self.carrier(n, m, sv, "delivery", 0.0) for n in range(net.n)]
                for m in range(n_metros)
            ]
            for sv in SERVICES
        }

    def _rank_stores(self, net: Network, pickup_radius_km: float) -> None:
        types = np.array(net.node_types)
        stores = np.flatnonzero(types == "store")
        sdist = net.dist[:, stores]
        near = np.argmin(sdist, axis=1)
        ok = sdist[np.arange(len(near)), near] < pickup_radius_km
        # The pickup store of each metro, -1 where no store is near enough.
        self.pickup_store = np.where(ok, stores[near], -1)
        transfer_nodes = np.flatnonzero(np.isin(types, ["dc", "3pl"]))
        self.transfer_ranked = {
            int(s): transfer_nodes[
                np.argsort(net.dist[net.store_metro[s], transfer_nodes], kind="stable")
            ].tolist()
            for s in stores
        }
        dcs = np.flatnonzero(types == "dc")
        # Where mailed returns go back to.
        self.nearest_dc = dcs[np.argmin(net.dist[:, dcs], axis=1)].tolist()

    def _choose_carriers(self, net: Network, c: Carriers, rng: np.random.Generator) -> None:
        self.c_name, self.c_service = c.carrier, c.service
        self.c_base, self.c_kg = c.base_cost.tolist(), c.cost_per_kg.tolist()
        standard = [i for i, s in enumerate(c.service) if s == "standard"]
        parcel = [i for i in standard if c.carrier[i] not in _NOT_PRIMARY]
        self.primary = [parcel[int(rng.integers(len(parcel)))] for _ in range(net.n)]
        self.express = [
            i for i, s in enumerate(c.service) if s == "express" and c.carrier[i] != "metro_courier"
        ]
        self.next_day = [i for i, s in enumerate(c.service) if s == "next_day"]
        self.c_courier = {s: c.find("metro_courier", s) for s in ("standard", "express")}
        self.c_heavy = c.find("heavy_freight", "standard")
        self.c_pickup = c.find("store_pickup", "pickup")
        self.c_transfer = c.find("fleet_transfer", "transfer")

    def plan_with(self, scores: FeedScores) -> RoutingPlan:
        """The routing of an engine reading the feed: each node's routing penalty (currency per
        order, added to its sourcing score) moves it down the ranking, and each record's
        suggested buffer is held back from it (`first_nodes`, `pick_node`). Nodes and records
        the snapshot does not name carry neither."""
        penalty = np.zeros(len(self.node_index))
        for node_id, value in scores.penalty.items():
            if node_id in self.node_index:
                penalty[self.node_index[node_id]] = value
        buffer = np.zeros((len(self.node_index), len(self.sku_index)), dtype=np.int64)
        for (node_id, sku), units in scores.buffer.items():
            n, s = self.node_index.get(node_id), self.sku_index.get(sku)
            if n is not None and s is not None:
                buffer[n, s] = units
        ranked = [
            self.shipping_nodes[
                np.argsort(self.score[m, self.shipping_nodes] + penalty[self.shipping_nodes],
                           kind="stable")
            ].tolist()
            for m in range(len(self.ranked))
        ]  # fmt: skip
        transfer_ranked = {}
        for store, nodes in self.transfer_ranked.items():
            nodes_arr = np.array(nodes, dtype=np.int64)
            cost = self.transfer_cost[self.store_metro[store], nodes_arr] + penalty[nodes_arr]
            transfer_ranked[store] = nodes_arr[np.argsort(cost, kind="stable")].tolist()
        return RoutingPlan(ranked, transfer_ranked, buffer.tolist())

    def carrier(self, n: int, metro: int, service: str, mode: str, weight: float) -> int:
        """The carrier row for a parcel from node `n`; `mode` is in_store, transfer or delivery."""
        if mode == "in_store":
            return self.c_pickup
        if mode == "transfer":
            return self.c_transfer
        if weight > PARCEL_MAX_KG and self.c_heavy >= 0:
            return self.c_heavy
        if self.is_store[n] and self.dist[metro][n] < COURIER_RADIUS_KM and service != "next_day":
            ci = self.c_courier.get(service, -1)
            if ci >= 0:
                return ci
        if service == "express" and self.express:
            return self.express[n % len(self.express)]
        if service == "next_day" and self.next_day:
            return self.next_day[n % len(self.next_day)]
        return self.primary[n]

    def estimated_cost(self, ci: int, unit_weight: float, quantity: int) -> float:
        """The `estimated_ship_cost` of an allocation (the order of the products is the bytes')."""
        return round(self.c_base[ci] + self.c_kg[ci] * unit_weight * quantity, 2)

    def first_nodes(
        self,
        rec: list[list[int]],
        used: list[float],
        candidates: Sequence[int],
        skus: list[int],
        qtys: list[int],
        buffer: list[list[int]] | None = None,
    ) -> list[int]:
        """The node of each line's first allocation: one node for the whole order if the record
        says one can fill it (with capacity left, else regardless of capacity), else line by line.

        With a `buffer`, a node whose record less its buffer fills the whole order comes first,
        then the OMS's own choice of a whole-order node (a split costs more than dipping into a
        buffer), and lines are placed one by one preferring records whose buffer they leave
        alone (pipelines/feed/policy.py: a buffer is a preference, not a refusal).
        """
        if buffer is not None:
            held = self._whole_order_node(rec, used, candidates, skus, qtys, buffer)
            if held >= 0:
                return [held] * len(skus)
        units = sum(qtys)
        cap = self.cap
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
                    return [n] * len(skus)
        return [
            self.pick_node(rec, used, candidates, s, q, (), buffer)
            for s, q in zip(skus, qtys, strict=True)
        ]

    def pick_node(
        self,
        rec: list[list[int]],
        used: list[float],
        candidates: Sequence[int],
        s: int,
        q: int,
        excluded: Sequence[int],
        buffer: list[list[int]] | None = None,
    ) -> int:
        """The first candidate whose record holds the line and that has capacity left, else the
        first that holds it, else -1. With a `buffer`, first the same over records less their
        buffers."""
        cap = self.cap
        if buffer is not None:
            fallback = -1
            for n in candidates:
                if rec[n][s] - buffer[n][s] >= q and n not in excluded:
                    if used[n] + q <= cap[n]:
                        return n
                    if fallback < 0:
                        fallback = n
            if fallback >= 0:
                return fallback
        fallback = -1
        for n in candidates:
            if rec[n][s] >= q and n not in excluded:
                if used[n] + q <= cap[n]:
                    return n
                if fallback < 0:
                    fallback = n
        return fallback

    def _whole_order_node(
        self,
        rec: list[list[int]],
        used: list[float],
        candidates: Sequence[int],
        skus: list[int],
        qtys: list[int],
        buffer: list[list[int]],
    ) -> int:
        """The first node whose record less its buffer holds every line (capacity left first)."""
        units = sum(qtys)
        for respect_cap in (True, False):
            for n in candidates:
                if respect_cap and used[n] + units > self.cap[n]:
                    continue
                rn, bn = rec[n], buffer[n]
                if all(rn[s] - bn[s] >= q for s, q in zip(skus, qtys, strict=True)):
                    return n
        return -1

    def plan_day(self, t: int, n: int) -> int:
        """The day node `n` plans to ship what it was allocated at `t`: after its processing
        days; a same-day node (DC) misses the day after the cutoff."""
        pr = self.proc[n]
        return t // DAY + pr + (pr == 0 and t % DAY >= self.cutoff_s)
