"""Returns and contacts: what follows an order once its parcels are on their way.

Where-is-my-order contacts, refunds of lost parcels, returns (with their reasons, the way back,
the disposition of each unit and the refund) and the contacts that come with them.
"""

from __future__ import annotations

from typing import Any

from pipelines.simulator import payloads
from pipelines.simulator.catalogue import Catalogue
from pipelines.simulator.costs import CostLedger
from pipelines.simulator.draws import OrderDraws, weighted_choice
from pipelines.simulator.emit import DAY, EventSink
from pipelines.simulator.records import OrderTail, Shipment, StockOp
from pipelines.simulator.sourcing import HOUR, Sourcing

DISPOSITIONS = ("restock", "refurbish", "liquidate", "destroy", "return_to_vendor")
CONTACT_CHANNELS = ("chat", "phone", "email", "store")
# Categories whose returns are mostly about the fit.
FIT_CATEGORIES = ("apparel", "footwear")
# A lost parcel is refunded two days after its promise.
LOST_REFUND_AFTER_S = 2 * DAY
# A where-is-my-order contact about a late order comes 2 to 40 hours after the promise; about an
# order on time, 30% to 90% of the way from placing it to its delivery.
WISMO_LATE_WINDOW = (2 * HOUR, 40 * HOUR)
WISMO_ON_TIME_SHARE = (0.3, 0.9)
# Contacts come before what they are about: a damage report two hours after the delivery, a
# return question ten minutes before the return.
DAMAGED_CONTACT_AFTER_S, RETURN_CONTACT_BEFORE_S = 2 * HOUR, 600
# A store takes a return back within 5 to 30 minutes; the restock is recorded 15 minutes later.
STORE_RECEIPT_WINDOW, RESTOCK_AFTER_S = (300, 1800), 900
# A refund is issued from ten minutes into its first day to an hour into its last.
REFUND_DELAY_S = (600, 3600)


class Aftercare:
    """The after-sale of the day's orders: contacts, returns and refunds."""

    def __init__(
        self,
        cfg: dict[str, Any],
        cat: Catalogue,
        sourcing: Sourcing,
        carried,
        node_ids: list[str],
        sink: EventSink,
        costs: CostLedger,
        stock_ops: dict[int, list[StockOp]],
    ) -> None:
        # Numbers as floats once, so the per-order code reads them without converting.
        self.rcfg, self.scfg = (
            {k: float(v) if isinstance(v, int | float) else v for k, v in section.items()}
            for section in (cfg["returns"], cfg["service"])
        )
        self.contact_weights = [float(self.scfg["channels"][c]) for c in CONTACT_CHANNELS]
        self.disposition_weights = [float(w) for w in self.rcfg["dispositions"]]
        self.price = cat.price.tolist()
        self.return_rate = cat.return_rate.tolist()
        self.is_fit = [cat.categories[c] in FIT_CATEGORIES for c in cat.category.tolist()]
        self.pickup_store, self.nearest_dc = sourcing.pickup_store, sourcing.nearest_dc
        self.carried = carried
        self.node_ids, self.sku_ids = node_ids, cat.sku_ids
        self.sink, self.costs, self.stock_ops = sink, costs, stock_ops
        self.return_seq = 0
        self.contact_seq = 0

    def contact(self, draws: OrderDraws, t: int, oid: str | None, topic: str) -> None:
        self.contact_seq += 1
        channel = weighted_choice(draws.random(), CONTACT_CHANNELS, self.contact_weights)
        if oid is not None:
            self.costs.add(oid, f"contact_{channel}", 1)
        data = payloads.service_contact([(oid, f"CT{self.contact_seq:08d}", channel, topic)])
        self.sink.emit_json(t, "service.contact", "store" if channel == "store" else "crm", data[0])

    def after_order(self, draws: OrderDraws, tail: OrderTail, ships: list[Shipment]) -> None:
        """Lost-parcel refunds, returns, refunds and the contacts that follow."""
        if not ships:
            return
        if len(ships) == 1:
            late, done = ships[0].late, ships[0].done_t
        else:
            late = any(s.late for s in ships)
            done = max(s.done_t for s in ships)
        # Where is my order: about a late order after its promise, else on its way.
        scfg = self.scfg
        if late:
            if draws.random() < scfg["wismo_late"]:
                t = tail.promised_t + draws.randint(*WISMO_LATE_WINDOW)
                self.contact(draws, t, tail.order_id, "where_is_my_order")
        elif draws.random() < scfg["wismo_on_time"]:
            placed_t = tail.placed_t
            t = placed_t + int((done - placed_t) * draws.uniform(*WISMO_ON_TIME_SHARE))
            self.contact(draws, t, tail.order_id, "where_is_my_order")
        returned = self._returned_lines(draws, tail, ships, late)
        if returned:
            self._return(draws, tail, returned, done)

    def _returned_lines(
        self, draws: OrderDraws, tail: OrderTail, ships: list[Shipment], late: bool
    ) -> list[tuple[str, int, int, str]]:
        """(line_id, sku, quantity, reason) of each line that comes back; lost parcels are
        refunded instead."""
        rnd, oid, rcfg = draws.random, tail.order_id, self.rcfg
        returned: list[tuple[str, int, int, str]] = []
        bump = 1.0 + (rcfg["late_return_bump"] if late else 0.0)
        for s in ships:
            if s.lost:
                amount = round(sum(self.price[k] * q for _, k, q in s.lines), 2)
                self.costs.add(oid, "unreturned_refund", 1, amount)
                data = payloads.refund_issued([(oid, None, amount, "lost_in_transit")])
                self.sink.emit_json(
                    tail.promised_t + LOST_REFUND_AFTER_S, "refund.issued", "oms", data[0]
                )
                continue
            if s.damaged and rnd() < self.scfg["damaged_contact"]:
                self.contact(draws, s.done_t + DAMAGED_CONTACT_AFTER_S, oid, "damaged")
            for lid, k, q in s.lines:
                if s.damaged:
                    returned.append((lid, k, q, "damaged"))
                elif rnd() < self.return_rate[k] * bump:
                    if self.is_fit[k] and rnd() < rcfg["fit_reason_share"]:
                        reason = "size_or_fit"
                    elif late and rnd() < rcfg["late_reason_share"]:
                        reason = "late"
                    else:
                        reason = "changed_mind"
                    returned.append((lid, k, q, reason))
        return returned

    def _return(self, draws: OrderDraws, tail: OrderTail, returned, done: int) -> None:
        """The return of `returned`: initiated, received with dispositions, refunded."""
        rnd, rcfg, emit_json = draws.random, self.rcfg, self.sink.emit_json
        oid, metro = tail.order_id, tail.metro
        self.return_seq += 1
        rid = f"RT{self.return_seq:08d}"
        lo, hi = rcfg["days_to_initiate"]
        init_t = done + draws.randint(int(lo) * DAY, int(hi) * DAY)
        store = int(self.pickup_store[metro])
        by_mail = store < 0 or rnd() < rcfg["mail_share"]
        items = payloads.return_initiated_items((lid, q, why) for lid, _, q, why in returned)
        channel = "mail" if by_mail else "store"
        data = payloads.return_initiated([(rid, oid, channel, items)])
        emit_json(init_t, "return.initiated", "web" if by_mail else "store", data[0])
        if rnd() < self.scfg["return_contact"]:
            self.contact(draws, init_t - RETURN_CONTACT_BEFORE_S, oid, "return")
        if by_mail:
            lo, hi = rcfg["mail_transit_days"]
            node = self.nearest_dc[metro]
            recv_t = init_t + draws.randint(int(lo) * DAY, int(hi) * DAY)
        else:
            node = store
            recv_t = init_t + draws.randint(*STORE_RECEIPT_WINDOW)
        source = "wms" if by_mail else "store"
        out_lines = []
        for lid, k, q, why in returned:
            disp = weighted_choice(rnd(), DISPOSITIONS, self.disposition_weights)
            if why == "damaged" and disp == "restock":
                disp = "liquidate"
            out_lines.append((lid, q, disp))
            if disp == "restock" and self.carried[node, k]:
                data = payloads.stock_adjusted(
                    [(self.node_ids[node], self.sku_ids[k], q, "return_restock")]
                )
                emit_json(recv_t + RESTOCK_AFTER_S, "stock.adjusted", source, data[0])
                self.stock_ops.setdefault(recv_t // DAY + 1, []).append(
                    StockOp(node, k, q, "return_restock", recv_t)
                )
        label = rcfg["mail_label_cost"] if by_mail else 0.0
        self.costs.add(oid, "return_shipping", 1, label)
        self.costs.add(oid, "return_handling", sum(q for _, _, q, _ in returned))
        items = payloads.return_received_items(out_lines)
        data = payloads.return_received([(rid, oid, self.node_ids[node], items, label)])
        emit_json(recv_t, "return.received", source, data[0])
        lo, hi = rcfg["refund_days"]
        amount = round(sum(self.price[k] * q for _, k, q, _ in returned), 2)
        wait = draws.randint(int(lo) * DAY + REFUND_DELAY_S[0], int(hi) * DAY + REFUND_DELAY_S[1])
        data = payloads.refund_issued([(oid, rid, amount, "return")])
        emit_json(recv_t + wait, "refund.issued", "oms", data[0])
