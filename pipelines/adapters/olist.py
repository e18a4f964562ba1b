"""Convert the Olist marketplace export into contract v1 events and reference CSVs.

`convert_olist(src, out)` reads the seven Olist CSVs in `src` and writes
`out/events/<YYYY-MM>.jsonl` and `out/reference/{nodes,skus,carriers}.csv`, which the ingest
lands without quarantine. The
same input always gives the same bytes: event ids are derived from Olist keys
(`olist:<order_id>:placed`, `olist:<order_id>:<line_id>:allocated`, ...), files are split by the
local month of `occurred_at` and ordered by instant, then event_id.

Mapping decisions (Olist has no OMS; these say what each of its facts stands for):

Reference data
- Every seller is a fulfilment node of type `dropship`: marketplace sellers pick, pack and hand
  to the carrier themselves. name = seller city, region = seller state, country = BR, lat/lon =
  the state's centroid (`brazil_states`, no geolocation table is shipped). Capacity, pick/pack
  cost and opening date are unknown and left empty, never zero.
- Every product that was sold is a sku: category = English name from the translation table,
  else the Portuguese name (e.g. `pc_gamer` has no translation), else `unknown`; unit_price = the
  median item price of that product (BRL, rounded half-even to cents); weight_kg =
  product_weight_g / 1000 when given. unit_cost and abc_class are unknown. Products never sold
  are left out and counted in the report.
- One carrier row, `correios` / `standard`: Olist does not name its carriers. transit_days = the
  median of whole days from hand-off to carrier (order_delivered_carrier_date) to delivery
  (order_delivered_customer_date), over orders with both, ignoring the few where delivery
  precedes hand-off (data errors). It is 7 days on the 10,000-order 2017 sample.

Time
- Olist stamps local wall-clock time without offset. Times are read as America/Sao_Paulo and
  written as RFC 3339 with the offset in force: -02:00 in summer time (in 2017 until 18 Feb and
  from 15 Oct), -03:00 otherwise. Sellers and customers in other zones (e.g. Amazonas) are stamped
  in Sao Paulo time too, so one zone is the faithful reading.
- promised_by = order_estimated_delivery_date at its stamped local midnight, not the end of that
  day. Measured on the full sample: with midnight, 663 of 9,648 delivered orders are late
  (6.87%; January 1.73%, November 14.76%), matching the README's 6.87% / 1.7% / 14.8%; with the
  end of the day it would be 574 (5.95%). So a parcel delivered on the promised date counts late,
  as in Olist's own figure.

Events per order
- `order.placed` at order_purchase_timestamp: channel marketplace, fulfillment_method delivery,
  customer_id = customer_unique_id (stable across a customer's orders; customer_id is per order),
  ship_to = customer zip prefix as 5-digit text (restored leading zeros), state, BR and the state
  centroid; currency BRL; one line per order_items row (line_id = order_item_id, sku =
  product_id, quantity 1, unit_price = price); shipping_charged = sum of freight_value. An order
  without items cannot be placed (the contract needs >= 1 line) and is skipped with reason
  `no_items`: in the 2017 sample these are all 98 `unavailable` orders, 11 `canceled` and the 2
  `created` ones, so no `out_of_stock` cancellation can be produced from this sample.
- `order.payment_authorized` at order_approved_at: amount = sum of payment_value, payment_method
  = type of the largest payment (lowest payment_sequential on a tie). Not written without an
  approval time.
- `order.line_allocated` per item at approval (purchase time when never approved): node = the
  seller, attempt 1, planned_ship_by = shipping_limit_date, carrier/service of the carrier row,
  estimated_ship_cost = freight_value.
- One shipment per (order, seller), shipment_id `<order_id>:<seller_id>`: `shipment.shipped` at
  order_delivered_carrier_date with that seller's lines, shipping_cost = their freight and
  weight_kg when every product weight is known; `shipment.delivered` at
  order_delivered_customer_date. Olist stamps these per order, so all shipments of a multi-seller
  order share them. An event whose time is missing is not written (counted in the report).
- Status `canceled` -> `order.line_cancelled` per line with reason `other` (the export holds no
  evidence of who cancelled); `unavailable` -> reason `out_of_stock`; both at the order's last
  known time, and a cancelled order gets no shipment events even if it carries their times.
  `processing`, `invoiced`, `created` and `shipped` orders stop where their data stops.
- An order whose customer or seller is not in the reference files (a seller without a state
  cannot be a node either), or with a malformed value, is skipped with a reason
  (`unknown_customer`, `unknown_seller`, `invalid_value:<column>`). None occurs in the sample.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

from pipelines.adapters import olist_source as source
from pipelines.adapters.brazil_states import state_centroid
from pipelines.adapters.landing_files import (
    LandingEvent,
    write_landing_folder,
)
from pipelines.adapters.olist_source import InvalidValue, local_time, money

EVENT_SOURCE = "olist"
CARRIER = "correios"
SERVICE_LEVEL = "standard"
COUNTRY = "BR"
CURRENCY = "BRL"
PROMISE_DEFINITION = "order_estimated_delivery_date at local midnight (delivery after it is late)"
CANCEL_REASONS = {"canceled": "other", "unavailable": "out_of_stock"}
CENT = Decimal("0.01")


@dataclass
class OlistImportReport:
    """Accounts for every source row: read = converted + skipped (+ orphaned for child rows)."""

    orders_read: int = 0
    orders_converted: int = 0
    orders_skipped: dict[str, int] = field(default_factory=dict)  # reason -> orders
    orders_by_status: dict[str, int] = field(default_factory=dict)
    items_read: int = 0
    items_converted: int = 0
    items_in_skipped_orders: int = 0
    items_orphaned: int = 0  # their order_id is not in orders.csv
    payments_read: int = 0
    payments_orphaned: int = 0
    events_written: dict[str, int] = field(default_factory=dict)  # event_type -> events
    events_not_written: dict[str, int] = field(default_factory=dict)  # "type: why" -> events
    event_files: dict[str, int] = field(default_factory=dict)  # file name -> lines
    reference_rows: dict[str, int] = field(default_factory=dict)  # file name -> rows
    products_read: int = 0
    products_unsold: int = 0
    skus_without_product_row: int = 0
    sellers_read: int = 0
    sellers_without_items: int = 0
    sellers_unusable: int = 0  # no state: cannot be a node with a region
    transit_days: int = 0
    promise_definition: str = PROMISE_DEFINITION
    delivered_orders: int = 0
    delivered_late: int = 0

    @property
    def orders_skipped_total(self) -> int:
        return sum(self.orders_skipped.values())

    @property
    def late_rate(self) -> float | None:
        """Share of delivered orders that arrived after promised_by, from the written events."""
        return self.delivered_late / self.delivered_orders if self.delivered_orders else None

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "orders_skipped_total": self.orders_skipped_total,
            "late_rate": self.late_rate,
        }

    def render(self) -> str:
        def listing(counts: dict[str, int]) -> str:
            return ", ".join(f"{key} {value:,}" for key, value in counts.items()) or "none"

        late = f"{self.late_rate:.2%}" if self.late_rate is not None else "n/a"
        return "\n".join(
            [
                f"Olist import: {self.orders_read:,} orders read, {self.orders_converted:,} "
                f"converted, {self.orders_skipped_total:,} skipped "
                f"({listing(self.orders_skipped)})",
                f"  orders by status: {listing(self.orders_by_status)}",
                f"  order items: {self.items_read:,} read, {self.items_converted:,} converted, "
                f"{self.items_in_skipped_orders:,} in skipped orders, "
                f"{self.items_orphaned:,} without an order",
                f"  events: {sum(self.events_written.values()):,} written "
                f"({listing(self.events_written)}) in {len(self.event_files)} monthly files",
                f"  events not written: {listing(self.events_not_written)}",
                f"  reference rows: {listing(self.reference_rows)}; "
                f"products never sold {self.products_unsold:,}, "
                f"sellers without items {self.sellers_without_items:,}; "
                f"carrier transit_days {self.transit_days}",
                f"  promise: {self.delivered_late:,} of {self.delivered_orders:,} delivered "
                f"orders late ({late}); promised_by = {self.promise_definition}",
            ]
        )


@dataclass(frozen=True)
class _Item:
    line_id: str
    order_item_id: int
    sku: str
    seller_id: str
    ship_by: datetime | None
    price: Decimal
    freight: Decimal


class _Skip(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _number(value: Decimal) -> float:
    """A JSON number for an exact Decimal; the float's repr is the shortest exact text."""
    return float(value)


def _text(value: Decimal) -> str:
    """Plain decimal text for CSV: no exponent, no trailing zeros."""
    return format(value.normalize(), "f")


def _envelope(event_id: str, event_type: str, at: datetime, data: dict[str, Any]) -> LandingEvent:
    return LandingEvent(
        at=at,
        event={
            "event_id": event_id,
            "event_type": event_type,
            "occurred_at": at.isoformat(),
            "source": EVENT_SOURCE,
            "schema_version": 1,
            "data": data,
        },
    )


def _latest(*times: datetime | None) -> datetime:
    known = [t for t in times if t is not None]
    # Aware datetimes sharing a tzinfo compare by wall clock, which is wrong in the repeated DST
    # hour; comparing in UTC is not.
    return max(known, key=lambda t: t.astimezone(UTC))


def _utc(at: datetime) -> datetime:
    return at.astimezone(UTC)


class _Converter:
    def __init__(self, src: Path) -> None:
        source.check_source(src)
        self.report = OlistImportReport()
        self.orders = source.read_rows(src, source.ORDERS)
        item_rows = source.read_rows(src, source.ITEMS)
        payment_rows = source.read_rows(src, source.PAYMENTS)
        self.customers = {r["customer_id"]: r for r in source.read_rows(src, source.CUSTOMERS)}
        seller_rows = source.read_rows(src, source.SELLERS)
        product_rows = source.read_rows(src, source.PRODUCTS)
        names = source.read_rows(src, source.CATEGORY_NAMES)
        self.english = {
            r["product_category_name"]: r["product_category_name_english"] for r in names
        }

        order_ids = {row["order_id"] for row in self.orders}
        self.items: dict[str, list[dict[str, str]]] = defaultdict(list)
        for row in item_rows:
            self.items[row["order_id"]].append(row)
        self.payments: dict[str, list[dict[str, str]]] = defaultdict(list)
        for row in payment_rows:
            self.payments[row["order_id"]].append(row)

        report = self.report
        report.items_read = len(item_rows)
        report.items_orphaned = sum(len(v) for k, v in self.items.items() if k not in order_ids)
        report.payments_read = len(payment_rows)
        report.payments_orphaned = sum(
            len(v) for k, v in self.payments.items() if k not in order_ids
        )
        report.sellers_read = len(seller_rows)
        report.products_read = len(product_rows)
        self.sellers = {r["seller_id"]: r for r in seller_rows if r["seller_state"]}
        report.sellers_unusable = len(seller_rows) - len(self.sellers)
        self.products = {r["product_id"]: r for r in product_rows}
        self.weights_g = {
            pid: source.optional_decimal(row, "product_weight_g")
            for pid, row in self.products.items()
            if row["product_weight_g"]
        }

        self.events: list[LandingEvent] = []
        self.events_not_written: Counter[str] = Counter()
        report.transit_days = self._median_transit_days()

    def _median_transit_days(self) -> int:
        days = []
        for row in self.orders:
            try:
                handed = local_time(row, "order_delivered_carrier_date")
                delivered = local_time(row, "order_delivered_customer_date")
            except InvalidValue:
                continue  # that order is skipped later with its reason
            if handed and delivered and delivered >= handed:
                days.append((_utc(delivered) - _utc(handed)).days)
        if not days:
            raise ValueError(
                "orders.csv has no order with both order_delivered_carrier_date and "
                "order_delivered_customer_date, so the carrier's transit_days cannot be measured."
                " Convert an export that includes delivered orders."
            )
        return round(statistics.median(days))

    # ---- orders -------------------------------------------------------------------------------

    def convert_orders(self) -> None:
        report = self.report
        statuses: Counter[str] = Counter()
        skipped: Counter[str] = Counter()
        for order in self.orders:
            status = order["order_status"].lower()
            statuses[status] += 1
            try:
                events = self._order_events(order, status)
            except _Skip as skip:
                skipped[skip.reason] += 1
                report.items_in_skipped_orders += len(self.items.get(order["order_id"], ()))
                continue
            except InvalidValue as error:
                skipped[f"invalid_value:{error.column}"] += 1
                report.items_in_skipped_orders += len(self.items.get(order["order_id"], ()))
                continue
            self.events.extend(events)
            report.orders_converted += 1
            report.items_converted += len(self.items[order["order_id"]])
        report.orders_read = len(self.orders)
        report.orders_by_status = dict(statuses.most_common())
        report.orders_skipped = dict(sorted(skipped.items()))
        report.events_not_written = dict(sorted(self.events_not_written.items()))

    def _parse_items(self, order_id: str) -> list[_Item]:
        items = []
        for row in self.items.get(order_id, ()):
            if row["seller_id"] not in self.sellers:
                raise _Skip("unknown_seller")
            item_id = source.positive_int(row, "order_item_id")
            items.append(
                _Item(
                    line_id=str(item_id),
                    order_item_id=item_id,
                    sku=row["product_id"],
                    seller_id=row["seller_id"],
                    ship_by=local_time(row, "shipping_limit_date"),
                    price=money(row, "price"),
                    freight=money(row, "freight_value"),
                )
            )
        if not items:
            raise _Skip("no_items")
        if any(not item.sku for item in items):
            raise InvalidValue("product_id", "", "empty")
        return sorted(items, key=lambda item: item.order_item_id)

    def _order_events(self, order: dict[str, str], status: str) -> list[LandingEvent]:
        order_id = order["order_id"]
        if not order_id:
            raise InvalidValue("order_id", "", "empty")
        items = self._parse_items(order_id)
        customer = self.customers.get(order["customer_id"])
        if customer is None:
            raise _Skip("unknown_customer")
        placed_at = local_time(order, "order_purchase_timestamp")
        promised_by = local_time(order, "order_estimated_delivery_date")
        if placed_at is None:
            raise InvalidValue("order_purchase_timestamp", "", "empty")
        if promised_by is None:
            raise InvalidValue("order_estimated_delivery_date", "", "empty")
        approved_at = local_time(order, "order_approved_at")
        handed_at = local_time(order, "order_delivered_carrier_date")
        delivered_at = local_time(order, "order_delivered_customer_date")
        payment = self._payment(order_id)

        events = [self._placed(order_id, customer, placed_at, promised_by, items)]
        if approved_at is None:
            self.events_not_written["order.payment_authorized: no order_approved_at"] += 1
        elif payment is None:
            self.events_not_written["order.payment_authorized: no payment rows"] += 1
        else:
            amount, method = payment
            data: dict[str, Any] = {"order_id": order_id, "amount": _number(amount)}
            if method:
                data["payment_method"] = method
            events.append(
                _envelope(
                    f"olist:{order_id}:payment_authorized",
                    "order.payment_authorized",
                    approved_at,
                    data,
                )
            )
        events += self._allocations(order_id, items, approved_at or placed_at)

        if status in CANCEL_REASONS:
            cancelled_at = _latest(placed_at, approved_at, handed_at, delivered_at)
            events += [
                _envelope(
                    f"olist:{order_id}:{item.line_id}:cancelled",
                    "order.line_cancelled",
                    cancelled_at,
                    {
                        "order_id": order_id,
                        "line_id": item.line_id,
                        "quantity": 1,
                        "reason": CANCEL_REASONS[status],
                    },
                )
                for item in items
            ]
            if handed_at or delivered_at:
                self.events_not_written["shipment.*: order cancelled (orders)"] += 1
            return events

        shipments = self._shipments(order_id, items, handed_at, delivered_at)
        events += shipments
        if delivered_at is not None:
            self.report.delivered_orders += 1
            self.report.delivered_late += _utc(delivered_at) > _utc(promised_by)
        return events

    def _placed(
        self,
        order_id: str,
        customer: dict[str, str],
        placed_at: datetime,
        promised_by: datetime,
        items: list[_Item],
    ) -> LandingEvent:
        postal_code = source.zip_prefix(customer["customer_zip_code_prefix"])
        region = customer["customer_state"]
        if not postal_code:
            raise InvalidValue("customer_zip_code_prefix", "", "empty")
        if not region:
            raise InvalidValue("customer_state", "", "empty")
        if not customer["customer_unique_id"]:
            raise InvalidValue("customer_unique_id", "", "empty")
        ship_to: dict[str, Any] = {"postal_code": postal_code, "region": region, "country": COUNTRY}
        centroid = state_centroid(region)
        if centroid is not None:
            ship_to["lat"], ship_to["lon"] = centroid
        data = {
            "order_id": order_id,
            "channel": "marketplace",
            "customer_id": customer["customer_unique_id"],
            "fulfillment_method": "delivery",
            "ship_to": ship_to,
            "promised_by": promised_by.isoformat(),
            "currency": CURRENCY,
            "lines": [
                {
                    "line_id": item.line_id,
                    "sku": item.sku,
                    "quantity": 1,
                    "unit_price": _number(item.price),
                }
                for item in items
            ],
            "shipping_charged": _number(sum((item.freight for item in items), Decimal(0))),
        }
        return _envelope(f"olist:{order_id}:placed", "order.placed", placed_at, data)

    def _payment(self, order_id: str) -> tuple[Decimal, str] | None:
        rows = self.payments.get(order_id)
        if not rows:
            return None
        parsed = [
            (money(row, "payment_value"), source.positive_int(row, "payment_sequential"), row)
            for row in rows
        ]
        total = sum((value for value, _, _ in parsed), Decimal(0))
        largest = min(parsed, key=lambda p: (-p[0], p[1]))
        return total, largest[2]["payment_type"]

    def _allocations(
        self, order_id: str, items: list[_Item], allocated_at: datetime
    ) -> list[LandingEvent]:
        events = []
        for item in items:
            if item.ship_by is None:
                self.events_not_written["order.line_allocated: no shipping_limit_date"] += 1
                continue
            data = {
                "order_id": order_id,
                "line_id": item.line_id,
                "node_id": item.seller_id,
                "quantity": 1,
                "carrier": CARRIER,
                "service_level": SERVICE_LEVEL,
                "planned_ship_by": item.ship_by.isoformat(),
                "estimated_ship_cost": _number(item.freight),
                "attempt": 1,
            }
            event_id = f"olist:{order_id}:{item.line_id}:allocated"
            events.append(_envelope(event_id, "order.line_allocated", allocated_at, data))
        return events

    def _shipments(
        self,
        order_id: str,
        items: list[_Item],
        handed_at: datetime | None,
        delivered_at: datetime | None,
    ) -> list[LandingEvent]:
        by_seller: dict[str, list[_Item]] = {}
        for item in items:  # in line order, so shipments follow the first line they carry
            by_seller.setdefault(item.seller_id, []).append(item)
        events = []
        for seller_id, lines in by_seller.items():
            shipment_id = f"{order_id}:{seller_id}"
            if handed_at is None:
                self.events_not_written["shipment.shipped: no order_delivered_carrier_date"] += 1
            else:
                data: dict[str, Any] = {
                    "shipment_id": shipment_id,
                    "order_id": order_id,
                    "node_id": seller_id,
                    "carrier": CARRIER,
                    "service_level": SERVICE_LEVEL,
                    "lines": [{"line_id": item.line_id, "quantity": 1} for item in lines],
                    "shipping_cost": _number(sum((item.freight for item in lines), Decimal(0))),
                }
                weights = [self.weights_g.get(item.sku) for item in lines]
                if all(weight is not None for weight in weights):
                    grams = sum((w for w in weights if w is not None), Decimal(0))
                    data["weight_kg"] = _number(grams / 1000)
                event_id = f"olist:{order_id}:{seller_id}:shipped"
                events.append(_envelope(event_id, "shipment.shipped", handed_at, data))
            if delivered_at is None:
                self.events_not_written["shipment.delivered: no order_delivered_customer_date"] += 1
            else:
                events.append(
                    _envelope(
                        f"olist:{order_id}:{seller_id}:delivered",
                        "shipment.delivered",
                        delivered_at,
                        {"shipment_id": shipment_id, "order_id": order_id},
                    )
                )
        return events

    # ---- reference data -----------------------------------------------------------------------

    def node_rows(self) -> list[dict[str, str]]:
        sold_by = {row["seller_id"] for rows in self.items.values() for row in rows}
        self.report.sellers_without_items = sum(1 for s in self.sellers if s not in sold_by)
        rows = []
        for seller_id in sorted(self.sellers):
            seller = self.sellers[seller_id]
            centroid = state_centroid(seller["seller_state"])
            lat, lon = (f"{c:.2f}" for c in centroid) if centroid else ("", "")
            rows.append(
                {
                    "node_id": seller_id,
                    "node_type": "dropship",
                    "name": seller["seller_city"],
                    "region": seller["seller_state"],
                    "country": COUNTRY,
                    "lat": lat,
                    "lon": lon,
                }
            )
        return rows

    def sku_rows(self) -> list[dict[str, str]]:
        prices: dict[str, list[Decimal]] = defaultdict(list)
        for rows in self.items.values():
            for row in rows:
                try:
                    price = money(row, "price")
                except InvalidValue:
                    continue  # its order is skipped and reported; the sku may still sell
                prices[row["product_id"]].append(price)
        prices.pop("", None)
        self.report.products_unsold = sum(1 for p in self.products if p not in prices)
        self.report.skus_without_product_row = sum(1 for p in prices if p not in self.products)
        rows = []
        for sku in sorted(prices):
            product = self.products.get(sku, {})
            portuguese = product.get("product_category_name", "")
            category = self.english.get(portuguese) or portuguese or "unknown"
            median = Decimal(statistics.median(prices[sku])).quantize(CENT, ROUND_HALF_EVEN)
            grams = self.weights_g.get(sku)
            rows.append(
                {
                    "sku": sku,
                    "category": category,
                    "unit_price": _text(median),
                    "weight_kg": _text(grams / 1000) if grams is not None else "",
                }
            )
        return rows

    def carrier_rows(self) -> list[dict[str, str]]:
        return [
            {
                "carrier": CARRIER,
                "service_level": SERVICE_LEVEL,
                "transit_days": str(self.report.transit_days),
            }
        ]


def convert_olist(src: Path, out: Path) -> OlistImportReport:
    """Convert the Olist export in `src` into contract events and reference CSVs under `out`.

    Writes `out/events/<YYYY-MM>.jsonl` and `out/reference/{nodes,skus,carriers}.csv`,
    overwriting files of the same name and leaving any other file alone. Raises ValueError
    naming what is missing when `src` lacks a required CSV or column.
    """
    src, out = Path(src), Path(out)
    converter = _Converter(src)
    converter.convert_orders()
    report = converter.report
    write_landing_folder(out, converter, report)
    return report
