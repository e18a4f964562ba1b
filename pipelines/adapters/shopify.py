"""Convert a Shopify store's order export (Admin API JSON) into contract v1 events and reference CSVs.

`convert_shopify(src, out)` reads, in `src`, the JSON bodies the Admin REST API returns
(the shape of Shopify's own docs and sample payloads):

- `orders.json` (required; `orders*.json` pages too): `{"orders": [...]}`, each Order with its
  `line_items`, `shipping_address`, `shipping_lines`, `fulfillments` and `refunds` as the Order
  resource embeds them;
- `locations.json` (required): `{"locations": [...]}`, the store's locations;
- `fulfillments.json`, `refunds.json` (optional): `{"fulfillments": [...]}`, `{"refunds": [...]}`
  for exports that fetched them separately; merged with the embedded ones by id;
- `fulfillment_events.json` (optional): `{"fulfillment_events": [...]}`, the tracking events
  of fulfillments (`delivered`, `delayed`, `failure`, ...): where delivery times come from.

It writes `out/events/<YYYY-MM>.jsonl` and `out/reference/{nodes,skus,carriers}.csv`, which the
ingest lands without quarantine. Same input, same bytes: event ids are derived from Shopify ids
(`shopify:<order id>:placed`, `shopify:fulfillment:<id>:shipped`, ...).

What Shopify does not export, and what stands in for it (docs/adapters.md says the same):

- **Promises.** Shopify has no promised delivery date. `promised_by` is the order's
  `created_at` plus `promise_days` (default 5) calendar days, or, with `promise_attribute`, the
  value of that order note attribute (delivery-date apps write one: an RFC 3339 time or a
  YYYY-MM-DD date, read as the end of that day in the order's offset), falling back to
  `promise_days` where an order lacks it. The carriers' `transit_days` is the median of whole
  days from fulfilment to delivery per carrier, else `promise_days`.
- **Sourcing decisions.** No allocations are written: Shopify's REST export does not say which
  location was chosen or when; a fulfilment's `location_id` is where its lines shipped from.
- **Node types.** A location has no type; every location becomes a node of `node_type`
  (default `dc`). region = `province_code` (empty when the country has none: unknown).
- **Carrier cost.** Shopify knows what the customer paid for shipping, not what the carrier
  charged; a shipment's `shipping_cost` is the order's shipping charged shared equally among its
  fulfilments (to the cent, remainder on the first). Cost-to-serve shipping is therefore what
  was charged.
- **Returns.** Refunds become `refund.issued` (amount = the successful `refund` transactions);
  no return events are written (the Returns API is separate), so refunds count as money out
  with no return behind them in cost to serve.
- **Categories.** Line items carry no product type: every sku's category is `unknown`.

Events per order: `order.placed` at `created_at` (channel from `source_name`: web, pos ->
store, iphone/android -> app, shopify_draft_order -> call_center, any other sales channel ->
marketplace; customer_id = the customer's id, else `guest:<order id>`; ship_to from
`shipping_address` with postal code optional, region = province_code else country_code;
shipping_charged = sum of `shipping_lines` prices); `order.payment_authorized` at `processed_at`
when the financial status says money was taken; `shipment.shipped` per successful fulfilment at
its `created_at`; `shipment.delivered` at its first `delivered` event (else, when its
`shipment_status` is `delivered`, at its `updated_at`); `shipment.exception` for `delayed`,
`failure` and `attempted_delivery` events; `order.line_cancelled` at `cancelled_at` for units
never fulfilled (cancel_reason customer -> customer_request, inventory -> out_of_stock, fraud,
declined -> payment_failed, other); `refund.issued` per refund. An order without line items, or
without a shipping address country, is skipped with a reason; so is a fulfilment from a
location not in `locations.json`.
"""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from pipelines.adapters.landing_files import (
    LandingEvent,
    write_landing_folder,
)

EVENT_SOURCE = "shopify"
DEFAULT_PROMISE_DAYS = 5
DEFAULT_NODE_TYPE = "dc"
NODE_TYPES = ("dc", "store", "dropship", "3pl")
CENT = Decimal("0.01")
CHANNELS = {
    "web": "web",
    "pos": "store",
    "iphone": "app",
    "android": "app",
    "shopify_draft_order": "call_center",
}
CANCEL_REASONS = {
    "customer": "customer_request",
    "inventory": "out_of_stock",
    "fraud": "fraud",
    "declined": "payment_failed",
    "other": "other",
}
EXCEPTION_CODES = {"delayed": "delayed", "failure": "other", "attempted_delivery": "other"}
# Financial statuses that mean the payment was authorized or captured.
PAID = {"authorized", "paid", "partially_paid", "partially_refunded", "refunded"}


@dataclass
class ShopifyImportReport:
    """Accounts for every order read: read = converted + skipped."""

    orders_read: int = 0
    orders_converted: int = 0
    orders_skipped: dict[str, int] = field(default_factory=dict)  # reason -> orders
    fulfillments_read: int = 0
    fulfillments_skipped: dict[str, int] = field(default_factory=dict)
    refunds_read: int = 0
    refunds_without_money: int = 0  # no successful refund transaction: nothing was paid back
    events_written: dict[str, int] = field(default_factory=dict)
    event_files: dict[str, int] = field(default_factory=dict)
    reference_rows: dict[str, int] = field(default_factory=dict)
    promise_definition: str = ""
    promised_from_attribute: int = 0

    @property
    def orders_skipped_total(self) -> int:
        return sum(self.orders_skipped.values())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"orders_skipped_total": self.orders_skipped_total}

    def render(self) -> str:
        def listing(counts: dict[str, int]) -> str:
            return ", ".join(f"{key} {value:,}" for key, value in counts.items()) or "none"

        return "\n".join(
            [
                f"Shopify import: {self.orders_read:,} orders read, {self.orders_converted:,} "
                f"converted, {self.orders_skipped_total:,} skipped "
                f"({listing(self.orders_skipped)})",
                f"  fulfillments: {self.fulfillments_read:,} read, skipped: "
                f"{listing(self.fulfillments_skipped)}",
                f"  refunds: {self.refunds_read:,} read, {self.refunds_without_money:,} without "
                "a successful refund transaction (not written)",
                f"  events: {sum(self.events_written.values()):,} written "
                f"({listing(self.events_written)}) in {len(self.event_files)} monthly files",
                f"  reference rows: {listing(self.reference_rows)}",
                f"  promise: promised_by = {self.promise_definition} "
                f"({self.promised_from_attribute:,} orders from the note attribute)",
            ]
        )


class _Skip(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _load(path: Path, key: str) -> list[dict[str, Any]]:
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path.name} is not JSON: {error}") from error
    if isinstance(body, dict) and isinstance(body.get(key), list):
        return body[key]
    raise ValueError(
        f'{path.name} must hold {{"{key}": [...]}}, the body of the Admin API\'s {key} endpoint'
    )


def _time(value: Any, what: str) -> datetime:
    if not isinstance(value, str):
        raise _Skip(f"invalid_value:{what}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise _Skip(f"invalid_value:{what}") from error
    if parsed.tzinfo is None:
        raise _Skip(f"invalid_value:{what}")
    return parsed


def _money(value: Any, what: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError) as error:
        raise _Skip(f"invalid_value:{what}") from error
    if not amount.is_finite() or amount < 0:
        raise _Skip(f"invalid_value:{what}")
    return amount.quantize(CENT)


def _slug(text: Any, default: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", str(text or "").lower()).strip("_")
    return slug or default


def _sku(item: dict[str, Any]) -> str:
    """The line item's sku; a variant or product id stands in when the store leaves it empty."""
    if item.get("sku"):
        return str(item["sku"])
    for key in ("variant_id", "product_id", "id"):
        if item.get(key) is not None:
            return f"{key.removesuffix('_id') or 'line'}:{item[key]}"
    raise _Skip("invalid_value:line_items.sku")


def _iso(at: datetime) -> str:
    return at.isoformat()


def _envelope(event_id: str, event_type: str, at: datetime, data: dict[str, Any]) -> LandingEvent:
    return LandingEvent(
        at=at,
        event={
            "event_id": event_id,
            "event_type": event_type,
            "occurred_at": _iso(at),
            "source": EVENT_SOURCE,
            "schema_version": 1,
            "data": data,
        },
    )


def _merged(embedded: list[dict[str, Any]], extra: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Embedded objects and separately fetched ones, once each (by id), in id order."""
    by_id = {obj["id"]: obj for obj in extra if "id" in obj}
    by_id |= {obj["id"]: obj for obj in embedded if "id" in obj}
    return [by_id[k] for k in sorted(by_id, key=str)]


class _Converter:
    def __init__(
        self, src: Path, *, promise_days: int, promise_attribute: str | None, node_type: str
    ) -> None:
        order_files = sorted(src.glob("orders*.json"))
        if not order_files:
            raise FileNotFoundError(
                f"{src} has no orders.json: save the body of GET /admin/api/<version>/orders.json"
                "?status=any there (and locations.json from GET .../locations.json)"
            )
        if not (src / "locations.json").exists():
            raise FileNotFoundError(
                f"{src} has no locations.json: save the body of GET /admin/api/<version>/"
                "locations.json there"
            )
        if promise_days < 0:
            raise ValueError("promise_days must be 0 or more")
        if node_type not in NODE_TYPES:
            raise ValueError(f"node_type must be one of {', '.join(NODE_TYPES)}")
        self.promise_days = promise_days
        self.promise_attribute = promise_attribute
        self.node_type = node_type
        self.orders = [o for path in order_files for o in _load(path, "orders")]
        self.locations = {str(loc["id"]): loc for loc in _load(src / "locations.json", "locations")}
        optional = {
            name: _load(src / f"{name}.json", name) if (src / f"{name}.json").exists() else []
            for name in ("fulfillments", "refunds", "fulfillment_events")
        }
        self.extra_fulfillments = _group(optional["fulfillments"], "order_id")
        self.extra_refunds = _group(optional["refunds"], "order_id")
        self.tracking = _group(optional["fulfillment_events"], "fulfillment_id")
        self.report = ShopifyImportReport(promise_definition=self._promise_definition())
        self.events: list[LandingEvent] = []
        self.sku_prices: dict[str, list[Decimal]] = {}
        self.sku_grams: dict[str, int] = {}
        self.transit: dict[tuple[str, str], list[int]] = {}
        self.nodes_used: set[str] = set()

    def _promise_definition(self) -> str:
        days = f"created_at + {self.promise_days} days"
        if self.promise_attribute:
            return f"note attribute {self.promise_attribute!r}, else {days}"
        return days

    # ---- orders -------------------------------------------------------------------------------

    def convert(self) -> None:
        skipped: Counter[str] = Counter()
        for order in sorted(self.orders, key=lambda o: str(o.get("id"))):
            self.report.orders_read += 1
            try:
                self.events.extend(self._order_events(order))
            except _Skip as skip:
                skipped[skip.reason] += 1
                continue
            self.report.orders_converted += 1
        self.report.orders_skipped = dict(sorted(skipped.items()))

    def _promised_by(self, order: dict[str, Any], placed: datetime) -> datetime:
        if self.promise_attribute:
            for attribute in order.get("note_attributes") or ():
                if attribute.get("name") != self.promise_attribute or not attribute.get("value"):
                    continue
                value = str(attribute["value"])
                if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                    day = datetime.fromisoformat(value).date()
                    promised = datetime.combine(day, time(23, 59, 59), tzinfo=placed.tzinfo)
                else:
                    promised = _time(value, f"note_attributes.{self.promise_attribute}")
                self.report.promised_from_attribute += 1
                return promised
        return placed + timedelta(days=self.promise_days)

    def _order_events(self, order: dict[str, Any]) -> list[LandingEvent]:
        order_id = str(order.get("id") or "")
        if not order_id:
            raise _Skip("invalid_value:id")
        items = order.get("line_items") or []
        if not items:
            raise _Skip("no_items")
        address = order.get("shipping_address") or {}
        country = address.get("country_code")
        if not country:
            raise _Skip("no_shipping_address")
        placed = _time(order.get("created_at"), "created_at")
        currency = order.get("currency")
        if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
            raise _Skip("invalid_value:currency")
        prefix = f"shopify:{order_id}"
        lines = []
        for item in items:
            quantity = item.get("quantity")
            if not isinstance(quantity, int) or quantity <= 0:
                raise _Skip("invalid_value:line_items.quantity")
            sku = _sku(item)
            price = _money(item.get("price"), "line_items.price")
            lines.append(
                {
                    "line_id": str(item["id"]),
                    "sku": sku,
                    "quantity": quantity,
                    "unit_price": float(price),
                }
            )
            self.sku_prices.setdefault(sku, []).append(price)
            if isinstance(item.get("grams"), int) and item["grams"] > 0:
                self.sku_grams.setdefault(sku, item["grams"])
        shipping = sum(
            (
                _money(s.get("price"), "shipping_lines.price")
                for s in order.get("shipping_lines") or ()
            ),
            Decimal("0.00"),
        )
        service_level = _slug(
            next(
                (s.get("code") or s.get("title") for s in order.get("shipping_lines") or ()), None
            ),
            "standard",
        )
        ship_to: dict[str, Any] = {
            "postal_code": address.get("zip") or None,
            "region": address.get("province_code") or address.get("province") or country,
            "country": country,
        }
        for key, name in (("latitude", "lat"), ("longitude", "lon")):
            if isinstance(address.get(key), int | float):
                ship_to[name] = address[key]
        customer = order.get("customer") or {}
        source_name = str(order.get("source_name") or "web")
        events = [
            _envelope(
                f"{prefix}:placed",
                "order.placed",
                placed,
                {
                    "order_id": order_id,
                    "channel": CHANNELS.get(source_name, "marketplace"),
                    "customer_id": str(customer["id"])
                    if customer.get("id")
                    else f"guest:{order_id}",
                    "fulfillment_method": "delivery",
                    "ship_to": ship_to,
                    "promised_by": _iso(self._promised_by(order, placed)),
                    "currency": currency,
                    "lines": lines,
                    "shipping_charged": float(shipping),
                },
            )
        ]
        if order.get("financial_status") in PAID and order.get("processed_at"):
            payment: dict[str, Any] = {
                "order_id": order_id,
                "amount": float(_money(order.get("total_price"), "total_price")),
            }
            gateways = order.get("payment_gateway_names") or []
            if gateways:
                payment["payment_method"] = str(gateways[0])
            events.append(
                _envelope(
                    f"{prefix}:payment",
                    "order.payment_authorized",
                    _time(order["processed_at"], "processed_at"),
                    payment,
                )
            )
        fulfilled = self._fulfillments(order, order_id, shipping, service_level, events)
        if order.get("cancelled_at"):
            cancelled_at = _time(order["cancelled_at"], "cancelled_at")
            reason = CANCEL_REASONS.get(str(order.get("cancel_reason") or "other"), "other")
            for line in lines:
                left = line["quantity"] - fulfilled.get(line["line_id"], 0)
                if left > 0:
                    events.append(
                        _envelope(
                            f"{prefix}:{line['line_id']}:cancelled",
                            "order.line_cancelled",
                            cancelled_at,
                            {
                                "order_id": order_id,
                                "line_id": line["line_id"],
                                "quantity": left,
                                "reason": reason,
                            },
                        )
                    )
        for refund in _merged(order.get("refunds") or [], self.extra_refunds.get(order_id, [])):
            self.report.refunds_read += 1
            paid_back = [
                _money(t.get("amount"), "refunds.transactions.amount")
                for t in refund.get("transactions") or ()
                if t.get("kind") == "refund" and t.get("status") == "success"
            ]
            if not paid_back:
                self.report.refunds_without_money += 1
                continue
            data: dict[str, Any] = {"order_id": order_id, "amount": float(sum(paid_back))}
            if refund.get("note"):
                data["reason"] = str(refund["note"])
            at = _time(refund.get("processed_at") or refund.get("created_at"), "refunds.created_at")
            events.append(_envelope(f"shopify:refund:{refund['id']}", "refund.issued", at, data))
        return events

    def _fulfillments(
        self,
        order: dict[str, Any],
        order_id: str,
        shipping: Decimal,
        service_level: str,
        events: list[LandingEvent],
    ) -> dict[str, int]:
        """Shipment events of the order's successful fulfilments; units fulfilled per line."""
        shipped = []
        for fulfillment in _merged(
            order.get("fulfillments") or [], self.extra_fulfillments.get(order_id, [])
        ):
            self.report.fulfillments_read += 1
            if fulfillment.get("status") != "success":
                reason = f"status_{fulfillment.get('status')}"
                self.report.fulfillments_skipped[reason] = (
                    self.report.fulfillments_skipped.get(reason, 0) + 1
                )
                continue
            if str(fulfillment.get("location_id")) not in self.locations:
                self.report.fulfillments_skipped["unknown_location"] = (
                    self.report.fulfillments_skipped.get("unknown_location", 0) + 1
                )
                continue
            shipped.append(fulfillment)
        # What the customer paid for shipping, shared among the parcels to the cent.
        share = (shipping / len(shipped)).quantize(CENT, ROUND_DOWN) if shipped else Decimal(0)
        remainder = shipping - share * len(shipped)
        fulfilled: Counter[str] = Counter()
        grams = {str(i["id"]): i.get("grams") for i in order.get("line_items") or ()}
        for n, fulfillment in enumerate(shipped):
            node_id = str(fulfillment["location_id"])
            self.nodes_used.add(node_id)
            shipment_id = f"shopify:fulfillment:{fulfillment['id']}"
            carrier = _slug(fulfillment.get("tracking_company"), "unknown")
            shipped_at = _time(fulfillment.get("created_at"), "fulfillments.created_at")
            lines = [
                {"line_id": str(li["id"]), "quantity": int(li["quantity"])}
                for li in fulfillment.get("line_items") or ()
            ]
            for line in lines:
                fulfilled[line["line_id"]] += line["quantity"]
            data: dict[str, Any] = {
                "shipment_id": shipment_id,
                "order_id": order_id,
                "node_id": node_id,
                "carrier": carrier,
                "service_level": service_level,
                "lines": lines,
                "shipping_cost": float(share + (remainder if n == 0 else 0)),
            }
            if fulfillment.get("tracking_number"):
                data["tracking_number"] = str(fulfillment["tracking_number"])
            weights = [grams.get(line["line_id"]) for line in lines]
            if weights and all(isinstance(g, int) and g > 0 for g in weights):
                total = sum(g * line["quantity"] for g, line in zip(weights, lines, strict=True))
                data["weight_kg"] = total / 1000
            events.append(_envelope(f"{shipment_id}:shipped", "shipment.shipped", shipped_at, data))
            delivered_at = self._delivered_at(fulfillment)
            if delivered_at is not None:
                events.append(
                    _envelope(
                        f"{shipment_id}:delivered",
                        "shipment.delivered",
                        delivered_at,
                        {"shipment_id": shipment_id, "order_id": order_id},
                    )
                )
                days = (delivered_at.astimezone(UTC) - shipped_at.astimezone(UTC)).days
                self.transit.setdefault((carrier, service_level), []).append(max(days, 0))
            else:
                self.transit.setdefault((carrier, service_level), [])
            for event in self.tracking.get(str(fulfillment["id"]), []):
                code = EXCEPTION_CODES.get(str(event.get("status")))
                if code is None:
                    continue
                exception: dict[str, Any] = {
                    "shipment_id": shipment_id,
                    "order_id": order_id,
                    "code": code,
                }
                if event.get("message"):
                    exception["detail"] = str(event["message"])
                events.append(
                    _envelope(
                        f"shopify:fulfillment_event:{event['id']}",
                        "shipment.exception",
                        _time(event.get("happened_at"), "fulfillment_events.happened_at"),
                        exception,
                    )
                )
        return dict(fulfilled)

    def _delivered_at(self, fulfillment: dict[str, Any]) -> datetime | None:
        delivered = [
            _time(e.get("happened_at"), "fulfillment_events.happened_at")
            for e in self.tracking.get(str(fulfillment["id"]), [])
            if e.get("status") == "delivered"
        ]
        if delivered:
            return min(delivered, key=lambda at: at.astimezone(UTC))
        if fulfillment.get("shipment_status") == "delivered" and fulfillment.get("updated_at"):
            return _time(fulfillment["updated_at"], "fulfillments.updated_at")
        return None

    # ---- reference data ------------------------------------------------------------------------

    def node_rows(self) -> list[dict[str, str]]:
        rows = []
        for node_id in sorted(self.locations):
            location = self.locations[node_id]
            rows.append(
                {
                    "node_id": node_id,
                    "node_type": self.node_type,
                    "name": str(location.get("name") or node_id),
                    # Empty when the country has no provinces: the contract reads it as unknown.
                    "region": str(location.get("province_code") or ""),
                    "country": str(location.get("country_code") or ""),
                }
            )
        return rows

    def sku_rows(self) -> list[dict[str, str]]:
        rows = []
        for sku in sorted(self.sku_prices):
            price = Decimal(statistics.median(self.sku_prices[sku])).quantize(CENT)
            row = {"sku": sku, "category": "unknown", "unit_price": format(price, "f")}
            if sku in self.sku_grams:
                row["weight_kg"] = format(Decimal(self.sku_grams[sku]) / 1000, "f")
            rows.append(row)
        return rows

    def carrier_rows(self) -> list[dict[str, str]]:
        return [
            {
                "carrier": carrier,
                "service_level": service_level,
                "transit_days": str(round(statistics.median(days)) if days else self.promise_days),
            }
            for (carrier, service_level), days in sorted(self.transit.items())
        ]


def _group(objects: list[dict[str, Any]], key: str) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for obj in objects:
        grouped.setdefault(str(obj.get(key)), []).append(obj)
    return grouped


def convert_shopify(
    src: Path,
    out: Path,
    *,
    promise_days: int = DEFAULT_PROMISE_DAYS,
    promise_attribute: str | None = None,
    node_type: str = DEFAULT_NODE_TYPE,
) -> ShopifyImportReport:
    """Convert the Shopify export in `src` into contract events and reference CSVs under `out`.

    Writes `out/events/<YYYY-MM>.jsonl` and `out/reference/{nodes,skus,carriers}.csv`,
    overwriting files of the same name. Raises FileNotFoundError or ValueError saying what is
    missing or malformed.
    """
    src, out = Path(src), Path(out)
    converter = _Converter(
        src, promise_days=promise_days, promise_attribute=promise_attribute, node_type=node_type
    )
    converter.convert()
    report = converter.report
    write_landing_folder(out, converter, report)
    return report
