"""Stock per node/SKU: the system record, the physical truth, and how they drift apart.

`rec` is the system's available record and `truth` the physical available units; both exclude
units reserved for allocated orders that have not shipped yet (`reserved`), so on-hand figures
(snapshots, counts) are `rec + reserved` and `truth + reserved`. Unrecorded shrink, damage and
mis-scans move only `truth`; cycle counts expose the gap and correct `rec`.
"""

from __future__ import annotations

from itertools import repeat
from typing import Any

import numpy as np

from pipelines.simulator import payloads
from pipelines.simulator.catalogue import ABC, Catalogue
from pipelines.simulator.draws import DRIFT, RECEIPTS, SHRINK, WALK_INS, stream
from pipelines.simulator.emit import DAY, EventSink
from pipelines.simulator.network import Network
from pipelines.simulator.truth import TruthTable


def tolerance_units(system_qty: np.ndarray, abc: np.ndarray, tol: dict[str, float]) -> np.ndarray:
    """Allowed |counted - system| of a count: floor(tolerance x system), exact below that."""
    pct = np.array([tol[c] for c in ABC])[abc]
    return np.floor(pct * system_qty + 1e-9).astype(np.int64)


class Inventory:
    def __init__(
        self,
        cfg: dict[str, Any],
        net: Network,
        cat: Catalogue,
        carried: np.ndarray,
        daily_units: float,
        rng: np.random.Generator,
    ) -> None:
        inv = cfg["inventory"]
        self.cfg = inv
        self.net, self.cat, self.carried = net, cat, carried
        types = np.array(net.node_types)
        is_store = types == "store"
        n_dc = max(1, int((types == "dc").sum()))
        n_store = max(1, int(is_store.sum()))
        pop = cat.popularity[None, :]
        # Expected daily demand per cell: where the OMS will mostly source each SKU.
        share = np.select(
            [types == "dc", types == "store", types == "3pl", types == "dropship"],
            [1.1 / n_dc, 0.25 / n_store, 0.12, 1.0],
        )[:, None]
        online = share * pop * daily_units
        walk_in = np.where(is_store[:, None], online * float(inv["walk_in_ratio"]), 0.0)
        self.walk_in_rate = np.where(carried, walk_in, 0.0)
        rate = np.where(carried, online + walk_in, 0.0)
        cover = np.array(
            [inv[f"{'tpl' if t == '3pl' else t}_cover_days"] for t in net.node_types], dtype=float
        )[:, None]
        lead = np.array([inv["lead_time_days"][t] for t in net.node_types], dtype=np.int64)
        self.lead = lead
        floor = np.where(is_store, float(inv["min_store_stock"]), 2.0)[:, None]
        self.target = np.where(carried, np.ceil(np.maximum(rate * cover, floor)), 0).astype(
            np.int64
        )
        self.rop = np.where(carried, np.ceil(rate * (lead[:, None] + 2) + floor * 0.5), -1).astype(
            np.int64
        )
        start = np.ceil(self.target * rng.uniform(0.55, 1.0, self.target.shape)).astype(np.int64)
        self.rec = np.where(carried, start, 0)
        self.truth = self.rec.copy()
        self.reserved = np.zeros_like(self.rec)
        self.pending = np.zeros_like(self.rec)
        self.arrival = np.full(self.rec.shape, -1, dtype=np.int64)
        # Unrecorded drift: rate per cell and day, more at stores, fast movers and dear items.
        base = np.array([inv["drift_rate"][t] for t in net.node_types])[:, None]
        vel = np.log1p(rate * 4.0)
        price = np.log(cat.price / np.median(cat.price))[None, :]
        self.drift_rate = np.where(
            carried,
            base
            * (1 + float(inv["drift_velocity_factor"]) * vel)
            * np.clip(1 + float(inv["drift_price_factor"]) * price, 0.3, None),
            0.0,
        )
        interval = np.array([inv["count_interval_days"][c] for c in ABC], dtype=float)[cat.abc]
        factor = np.where(is_store, float(inv["store_count_interval_factor"]), 1.0)[:, None]
        self.interval = np.maximum(1, np.round(interval[None, :] * factor)).astype(np.int64)
        self.last_count = -rng.integers(0, self.interval)
        self.unrecorded = np.zeros_like(self.rec)
        warm = np.minimum(-self.last_count, int(inv["warm_up_days"])) + 1
        self._drift(rng, warm)
        self.count_serial = 0
        self.tol = inv["ira_tolerance"]

    # -- daily processes ---------------------------------------------------------------------

    def _drift(self, rng: np.random.Generator, days: np.ndarray | int) -> None:
        events = rng.poisson(self.drift_rate * days)
        if not events.any():
            return
        losses = rng.binomial(events, float(self.cfg["drift_shrink_share"]))
        delta = events - 2 * losses
        new = np.maximum(self.truth + delta, 0)
        self.unrecorded += np.abs(new - self.truth)
        self.truth = new

    def start_of_day(self, day: int, sink: EventSink, seed: int) -> None:
        """Receipts, drift, recorded shrink and damage, walk-in sales; emits their events.

        Every draw is made for every node/SKU cell from the day's stream of its kind, and a cell
        reads its own: which cells are hit depends on the stock, which routing changes, and the
        draws of one cell must not move when another cell's stock does.
        """
        t0 = day * DAY
        node_ids, sku_ids = self.net.node_ids, self.cat.sku_ids
        shape = self.rec.shape
        arriving = np.argwhere(self.arrival == day)
        if len(arriving):
            a, b = arriving[:, 0], arriving[:, 1]
            u = stream(seed, RECEIPTS, day).random((2, *shape))[:, a, b]
            qty = self.pending[a, b]
            # A mis-received line is one unit over or under, each half the time.
            rate = float(self.cfg["receipt_error_rate"])
            err = np.where(u[0] < rate, np.where(u[0] < rate / 2, -1, 1), 0)
            self.rec[a, b] += qty
            truth_add = np.maximum(qty + err, 0)
            self.truth[a, b] += truth_add
            self.unrecorded[a, b] += np.abs(truth_add - qty)
            self.pending[a, b] = 0
            self.arrival[a, b] = -1
            secs = 6 * 3600 + (u[1] * 8 * 3600).astype(np.int64)
            sink.emit_many(
                "stock.adjusted",
                "wms",
                (t0 + secs).tolist(),
                payloads.stock_adjusted(
                    zip(
                        map(node_ids.__getitem__, a.tolist()),
                        map(sku_ids.__getitem__, b.tolist()),
                        qty.tolist(),
                        repeat("receipt"),
                    )
                ),
            )
        self._drift(stream(seed, DRIFT, day), 1)
        shrink = stream(seed, SHRINK, day).random((2, *shape))
        for u, reason, key in (
            (shrink[0], "shrink", "recorded_shrink_rate"),
            (shrink[1], "damage", "recorded_damage_rate"),
        ):
            p = float(self.cfg[key])
            hit = np.argwhere(self.carried & (self.truth > 0) & (u < p))
            # Given a hit, u / p is uniform again: the time of day without another draw.
            secs = 8 * 3600 + (u[hit[:, 0], hit[:, 1]] / p * 12 * 3600).astype(np.int64)
            for (n, s), sec in zip(hit.tolist(), secs.tolist(), strict=True):
                self.truth[n, s] -= 1
                if self.rec[n, s] > 0:
                    self.rec[n, s] -= 1
                    sink.emit_json(
                        t0 + sec,
                        "stock.adjusted",
                        "wms",
                        payloads.stock_adjusted([(node_ids[n], sku_ids[s], -1, reason)])[0],
                    )
        sold = stream(seed, WALK_INS, day).poisson(self.walk_in_rate)
        sold = np.minimum(sold, self.truth)
        cells = np.argwhere(sold > 0)
        if len(cells):
            q = sold[cells[:, 0], cells[:, 1]]
            self.truth[cells[:, 0], cells[:, 1]] -= q
            recorded = np.minimum(q, self.rec[cells[:, 0], cells[:, 1]])
            self.rec[cells[:, 0], cells[:, 1]] -= recorded
            some = recorded > 0
            sales = payloads.stock_adjusted(
                zip(
                    map(node_ids.__getitem__, cells[some, 0].tolist()),
                    map(sku_ids.__getitem__, cells[some, 1].tolist()),
                    (-recorded[some]).tolist(),
                    repeat("sale"),
                )
            )
            sink.emit_many("stock.adjusted", "pos", [t0 + 21 * 3600] * len(sales), sales)

    def snapshot(self, day: int, sink: EventSink, truth: TruthTable, date_str: str) -> None:
        node_ids, sku_ids = self.net.node_ids, self.cat.sku_ids
        cells = np.argwhere(self.carried)
        n, s = cells[:, 0], cells[:, 1]
        on_hand = (self.rec + self.reserved)[n, s]
        reserved = self.reserved[n, s]
        transit = self.pending[n, s]
        t = day * DAY
        sink.emit_same_time(
            t,
            "stock.snapshot",
            "oms",
            payloads.stock_snapshot(
                zip(
                    map(node_ids.__getitem__, n.tolist()),
                    map(sku_ids.__getitem__, s.tolist()),
                    on_hand.tolist(),
                    reserved.tolist(),
                    transit.tolist(),
                    strict=True,
                )
            ),
        )
        truth.add(
            {
                "date": [date_str] * len(n),
                "node_id": [node_ids[i] for i in n.tolist()],
                "sku": [sku_ids[i] for i in s.tolist()],
                "system_on_hand": on_hand,
                "true_on_hand": (self.truth + self.reserved)[n, s],
                "reserved": reserved,
            }
        )

    def cycle_counts(
        self, day: int, sink: EventSink, truth: TruthTable, date_str: str, rng: np.random.Generator
    ) -> None:
        due = self.carried & (day - self.last_count >= self.interval)
        cells = np.argwhere(due)
        if not len(cells):
            return
        n, s = cells[:, 0], cells[:, 1]
        system = (self.rec + self.reserved)[n, s]
        counted = (self.truth + self.reserved)[n, s]
        error = counted - system
        tol = tolerance_units(system, self.cat.abc[s], self.tol)
        secs = rng.integers(5 * 3600, 11 * 3600, len(n))
        node_ids, sku_ids = self.net.node_ids, self.cat.sku_ids
        first = self.count_serial + 1
        self.count_serial += len(n)
        ids = [f"CC-{k:08d}" for k in range(first, first + len(n))]
        a_ids = [node_ids[a] for a in n.tolist()]
        b_ids = [sku_ids[b] for b in s.tolist()]
        datas = payloads.stock_counted(
            zip(a_ids, b_ids, ids, system.tolist(), counted.tolist(), strict=True)
        )
        for a, b, data, e, sec in zip(
            a_ids, b_ids, datas, error.tolist(), secs.tolist(), strict=True
        ):
            t = day * DAY + sec
            sink.emit_json(t, "stock.counted", "wms", data)
            if e:
                sink.emit_json(
                    t + 600,
                    "stock.adjusted",
                    "wms",
                    payloads.stock_adjusted([(a, b, e, "correction")])[0],
                )
        types = np.array(self.net.node_types)
        truth.add(
            {
                "count_id": ids,
                "date": [date_str] * len(n),
                "node_id": a_ids,
                "node_type": types[n].tolist(),
                "sku": b_ids,
                "abc_class": [ABC[i] for i in self.cat.abc[s].tolist()],
                "system_quantity": system,
                "counted_quantity": counted,
                "true_error": error,
                "tolerance_units": tol,
                "is_accurate": np.abs(error) <= tol,
                "days_since_last_count": day - self.last_count[n, s],
                "unrecorded_units": self.unrecorded[n, s].copy(),
            }
        )
        self.rec[n, s] = self.truth[n, s]
        self.last_count[n, s] = day
        self.unrecorded[n, s] = 0

    def replenish(self, day: int) -> None:
        """Reorder from the system record: phantom stock hides a real need (no reorder)."""
        need = self.carried & (self.arrival < 0) & (self.rec <= self.rop)
        cells = np.argwhere(need)
        if not len(cells):
            return
        n, s = cells[:, 0], cells[:, 1]
        self.pending[n, s] = np.maximum(self.target[n, s] - self.rec[n, s], 1)
        self.arrival[n, s] = day + self.lead[n]

    def due_within(self, n: int, s: int, day: int, days: int) -> int:
        """Day a receipt arrives at node n for SKU s if within `days`, else -1."""
        a = int(self.arrival[n, s])
        return a if 0 <= a - day <= days else -1
