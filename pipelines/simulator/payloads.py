"""The `data` object of every contract event the simulator writes, one function per event type.

A change of the contract (`pipelines/contract/schema/v1/`) is a change here and nowhere else;
`tests/test_simulator_payloads.py` validates each function's output against the published JSON
Schema.

Every function takes rows, one tuple per event holding the type's fields in the contract's
order, and returns each row's object as compact JSON text, the bytes `orjson.dumps` would write.
Rows, because the hot paths build a whole day's events of a type in one call (a call per event
was a tenth of the simulator's time); a rare event is a list of one row. Templates, because a
dict encoded by orjson costs several times more. The template writes what orjson would since
every text placed in it is a plain ASCII id or name (ids are generated; carrier and service
names are checked by `config._check`; codes and reasons are the contract's enums) and every
number is an int or a float rounded to cents, grams or 4 decimals, which `repr` writes as orjson
does. Timestamps come formatted (`Clock.ts`), list fields as items joined by the `*_items`
functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pipelines.simulator.records import ParcelLine


def _text_or_null(value: str | None) -> str:
    return "null" if value is None else f'"{value}"'


# -- order events ------------------------------------------------------------------------------


def order_placed_items(rows: Iterable[tuple[str, str, int, float]]) -> list[str]:
    """Items of `order.placed.lines`: (line_id, sku, quantity, unit_price)."""
    return [
        f'{{"line_id":"{line_id}","sku":"{sku}","quantity":{qty},"unit_price":{price!r}}}'
        for line_id, sku, qty, price in rows
    ]


def order_placed(rows: Iterable[tuple]) -> list[str]:
    """(order_id, channel, customer_id, fulfillment_method, postal_code, region, country, lat,
    lon, pickup_node_id or None, promised_by, currency, joined line items, shipping_charged)."""
    return [
        f'{{"order_id":"{oid}","channel":"{channel}","customer_id":"{customer}",'
        f'"fulfillment_method":"{method}",'
        f'"ship_to":{{"postal_code":"{postal}","region":"{region}",'
        f'"country":"{country}","lat":{lat!r},"lon":{lon!r}}},'
        f'"pickup_node_id":{_text_or_null(pickup)},"promised_by":"{promised}",'
        f'"currency":"{currency}","lines":[{items}],"shipping_charged":{charged!r}}}'
        for (
            oid,
            channel,
            customer,
            method,
            postal,
            region,
            country,
            lat,
            lon,
            pickup,
            promised,
            currency,
            items,
            charged,
        ) in rows
    ]


def order_payment_authorized(rows: Iterable[tuple[str, float, str]]) -> list[str]:
    """(order_id, amount, payment_method)."""
    return [
        f'{{"order_id":"{oid}","amount":{amount!r},"payment_method":"{method}"}}'
        for oid, amount, method in rows
    ]


def order_line_allocated(rows: Iterable[tuple]) -> list[str]:
    """(order_id, line_id, node_id, quantity, carrier, service_level, planned_ship_by,
    estimated_ship_cost, attempt)."""
    return [
        f'{{"order_id":"{oid}","line_id":"{lid}","node_id":"{node}",'
        f'"quantity":{qty},"carrier":"{carrier}","service_level":"{service}",'
        f'"planned_ship_by":"{plan}","estimated_ship_cost":{cost!r},"attempt":{attempt}}}'
        for oid, lid, node, qty, carrier, service, plan, cost, attempt in rows
    ]


def order_line_rejected(rows: Iterable[tuple[str, str, str, int, str]]) -> list[str]:
    """(order_id, line_id, node_id, quantity, reason)."""
    return [
        f'{{"order_id":"{oid}","line_id":"{lid}","node_id":"{node}",'
        f'"quantity":{qty},"reason":"{reason}"}}'
        for oid, lid, node, qty, reason in rows
    ]


def order_line_backordered(rows: Iterable[tuple[str, str, int, str]]) -> list[str]:
    """(order_id, line_id, quantity, expected_at)."""
    return [
        f'{{"order_id":"{oid}","line_id":"{lid}","quantity":{qty},"expected_at":"{at}"}}'
        for oid, lid, qty, at in rows
    ]


def order_line_cancelled(rows: Iterable[tuple[str, str, int, str]]) -> list[str]:
    """(order_id, line_id, quantity, reason)."""
    return [
        f'{{"order_id":"{oid}","line_id":"{lid}","quantity":{qty},"reason":"{reason}"}}'
        for oid, lid, qty, reason in rows
    ]


# -- shipments and pickups ---------------------------------------------------------------------


def shipment_items(lines: Sequence[ParcelLine]) -> str:
    """The joined items of `shipment.packed.lines` and `shipment.shipped.lines`."""
    if len(lines) == 1:  # most parcels: without a generator and a join
        line = lines[0]
        return f'{{"line_id":"{line.line_id}","quantity":{line.quantity}}}'
    return ",".join(f'{{"line_id":"{lid}","quantity":{qty}}}' for lid, _, qty in lines)


def shipment_packed(rows: Iterable[tuple[str, str, str, str]]) -> list[str]:
    """(shipment_id, order_id, node_id, joined line items)."""
    return [
        f'{{"shipment_id":"{sid}","order_id":"{oid}","node_id":"{node}","lines":[{items}]}}'
        for sid, oid, node, items in rows
    ]


def shipment_shipped(rows: Iterable[tuple]) -> list[str]:
    """(shipment_id, order_id, node_id, carrier, service_level, tracking_number, joined line
    items, shipping_cost, weight_kg)."""
    return [
        f'{{"shipment_id":"{sid}","order_id":"{oid}","node_id":"{node}",'
        f'"carrier":"{carrier}","service_level":"{service}",'
        f'"tracking_number":"{tracking}","lines":[{items}],'
        f'"shipping_cost":{cost!r},"weight_kg":{weight!r}}}'
        for sid, oid, node, carrier, service, tracking, items, cost, weight in rows
    ]


def shipment_delivered(rows: Iterable[tuple[str, str]]) -> list[str]:
    """(shipment_id, order_id)."""
    return [f'{{"shipment_id":"{sid}","order_id":"{oid}"}}' for sid, oid in rows]


def shipment_exception(rows: Iterable[tuple[str, str, str, str | None]]) -> list[str]:
    """(shipment_id, order_id, code, detail or None)."""
    return [
        f'{{"shipment_id":"{sid}","order_id":"{oid}","code":"{code}",'
        f'"detail":{_text_or_null(detail)}}}'
        for sid, oid, code, detail in rows
    ]


def pickup_ready(rows: Iterable[tuple[str, str]]) -> list[str]:
    """(order_id, node_id)."""
    return [f'{{"order_id":"{oid}","node_id":"{node}"}}' for oid, node in rows]


def pickup_collected(rows: Iterable[tuple[str, str]]) -> list[str]:
    """(order_id, node_id)."""
    return [f'{{"order_id":"{oid}","node_id":"{node}"}}' for oid, node in rows]


# -- returns, refunds and contacts -------------------------------------------------------------


def return_initiated_items(rows: Iterable[tuple[str, int, str]]) -> str:
    """The joined items of `return.initiated.lines`: (line_id, quantity, reason)."""
    return ",".join(
        f'{{"line_id":"{lid}","quantity":{qty},"reason":"{reason}"}}' for lid, qty, reason in rows
    )


def return_initiated(rows: Iterable[tuple[str, str, str, str]]) -> list[str]:
    """(return_id, order_id, channel, joined line items)."""
    return [
        f'{{"return_id":"{rid}","order_id":"{oid}","channel":"{channel}","lines":[{items}]}}'
        for rid, oid, channel, items in rows
    ]


def return_received_items(rows: Iterable[tuple[str, int, str]]) -> str:
    """The joined items of `return.received.lines`: (line_id, quantity, disposition)."""
    return ",".join(
        f'{{"line_id":"{lid}","quantity":{qty},"disposition":"{disp}"}}' for lid, qty, disp in rows
    )


def return_received(rows: Iterable[tuple[str, str, str, str, float]]) -> list[str]:
    """(return_id, order_id, node_id, joined line items, return_shipping_cost)."""
    return [
        f'{{"return_id":"{rid}","order_id":"{oid}","node_id":"{node}",'
        f'"lines":[{items}],"return_shipping_cost":{cost!r}}}'
        for rid, oid, node, items, cost in rows
    ]


def refund_issued(rows: Iterable[tuple[str, str | None, float, str]]) -> list[str]:
    """(order_id, return_id or None, amount, reason)."""
    return [
        f'{{"order_id":"{oid}","return_id":{_text_or_null(rid)},'
        f'"amount":{amount!r},"reason":"{reason}"}}'
        for oid, rid, amount, reason in rows
    ]


def service_contact(rows: Iterable[tuple[str | None, str, str, str]]) -> list[str]:
    """(order_id or None, contact_id, channel, topic)."""
    return [
        f'{{"order_id":{_text_or_null(oid)},"contact_id":"{cid}",'
        f'"channel":"{channel}","topic":"{topic}"}}'
        for oid, cid, channel, topic in rows
    ]


# -- stock events ------------------------------------------------------------------------------


def stock_snapshot(rows: Iterable[tuple[str, str, int, int, int]]) -> list[str]:
    """(node_id, sku, on_hand, reserved, in_transit)."""
    return [
        f'{{"node_id":"{node}","sku":"{sku}","on_hand":{on_hand},'
        f'"reserved":{reserved},"in_transit":{transit}}}'
        for node, sku, on_hand, reserved, transit in rows
    ]


def stock_adjusted(rows: Iterable[tuple[str, str, int, str]]) -> list[str]:
    """(node_id, sku, delta, reason)."""
    return [
        f'{{"node_id":"{node}","sku":"{sku}","delta":{delta},"reason":"{reason}"}}'
        for node, sku, delta, reason in rows
    ]


def stock_counted(rows: Iterable[tuple[str, str, str, int, int]]) -> list[str]:
    """(node_id, sku, count_id, system_quantity, counted_quantity)."""
    return [
        f'{{"node_id":"{node}","sku":"{sku}","count_id":"{cid}",'
        f'"system_quantity":{system},"counted_quantity":{counted}}}'
        for node, sku, cid, system, counted in rows
    ]


# Every event type the simulator writes, with the function that builds its `data`.
PAYLOADS = {
    "order.placed": order_placed,
    "order.payment_authorized": order_payment_authorized,
    "order.line_allocated": order_line_allocated,
    "order.line_rejected": order_line_rejected,
    "order.line_backordered": order_line_backordered,
    "order.line_cancelled": order_line_cancelled,
    "shipment.packed": shipment_packed,
    "shipment.shipped": shipment_shipped,
    "shipment.delivered": shipment_delivered,
    "shipment.exception": shipment_exception,
    "pickup.ready": pickup_ready,
    "pickup.collected": pickup_collected,
    "return.initiated": return_initiated,
    "return.received": return_received,
    "refund.issued": refund_issued,
    "service.contact": service_contact,
    "stock.snapshot": stock_snapshot,
    "stock.adjusted": stock_adjusted,
    "stock.counted": stock_counted,
}
