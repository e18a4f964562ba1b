"""Each event type's payload, built by the one function the simulator uses for it, validates
against the published JSON Schema and is written byte for byte as orjson would write it."""

from __future__ import annotations

import orjson
import pytest

from pipelines.contract import EVENT_TYPES, event_validator
from pipelines.simulator import payloads
from pipelines.simulator.records import ParcelLine

_TS = "2024-11-29T14:05:00Z"
_ITEMS = payloads.shipment_items(
    [ParcelLine("SO00000001-1", 3, 2), ParcelLine("SO00000001-2", 5, 1)]
)
_ONE_ITEM = payloads.shipment_items([ParcelLine("SO00000001-1", 3, 2)])
_PLACED_ITEMS = ",".join(
    payloads.order_placed_items(
        [("SO00000001-1", "SKU0003", 2, 19.99), ("SO00000001-2", "SKU0005", 1, 120.0)]
    )
)

# Rows as the simulator passes them, including the optional fields as null.
ROWS = {
    "order.placed": [
        ("SO00000001", "web", "C0000042", "delivery", "1000107", "NY", "US", 40.7128, -74.006,
         None, _TS, "USD", _PLACED_ITEMS, 5.99),
        ("SO00000002", "app", "C0000043", "pickup", "6060101", "IL", "US", 41.8781, -87.6298,
         "ST001", _TS, "USD", _PLACED_ITEMS, 0.0),
    ],
    "order.payment_authorized": [("SO00000001", 145.97, "card")],
    "order.line_allocated": [
        ("SO00000001", "SO00000001-1", "DC01", 2, "parcel_one", "standard", _TS, 7.6, 1)
    ],
    "order.line_rejected": [("SO00000001", "SO00000001-1", "ST004", 2, "not_found")],
    "order.line_backordered": [("SO00000001", "SO00000001-1", 2, _TS)],
    "order.line_cancelled": [("SO00000001", "SO00000001-1", 2, "out_of_stock")],
    "shipment.packed": [("SH00000001", "SO00000001", "DC01", _ITEMS)],
    "shipment.shipped": [
        ("SH00000001", "SO00000001", "DC01", "parcel_one", "standard", "1Z0000000001", _ONE_ITEM,
         8.12, 1.35)
    ],
    "shipment.delivered": [("SH00000001", "SO00000001")],
    "shipment.exception": [
        ("SH00000001", "SO00000001", "lost", None),
        ("SH00000002", "SO00000002", "delayed", "recovered in network"),
    ],
    "pickup.ready": [("SO00000002", "ST001")],
    "pickup.collected": [("SO00000002", "ST001")],
    "return.initiated": [
        ("RT00000001", "SO00000001", "mail",
         payloads.return_initiated_items([("SO00000001-1", 1, "size_or_fit")]))
    ],
    "return.received": [
        ("RT00000001", "SO00000001", "DC01",
         payloads.return_received_items([("SO00000001-1", 1, "restock")]), 7.5)
    ],
    "refund.issued": [
        ("SO00000001", "RT00000001", 19.99, "return"),
        ("SO00000001", None, 19.99, "lost_in_transit"),
    ],
    "service.contact": [
        ("SO00000001", "CT00000001", "chat", "where_is_my_order"),
        (None, "CT00000002", "phone", "other"),
    ],
    "stock.snapshot": [("DC01", "SKU0003", 40, 2, 10)],
    "stock.adjusted": [("DC01", "SKU0003", -2, "sale"), ("ST004", "SKU0003", 3, "correction")],
    "stock.counted": [("ST004", "SKU0003", "CC-00000001", 12, 9)],
}  # fmt: skip


def test_every_event_type_has_one_payload_function():
    assert set(payloads.PAYLOADS) == set(EVENT_TYPES)
    assert set(ROWS) == set(EVENT_TYPES)


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_payload_validates_against_the_published_schema(event_type):
    validator = event_validator()
    texts = payloads.PAYLOADS[event_type](ROWS[event_type])
    assert len(texts) == len(ROWS[event_type])
    for text in texts:
        data = orjson.loads(text)
        # The template writes what orjson writes: the simulator's bytes do not depend on which.
        assert orjson.dumps(data).decode() == text
        event = {
            "event_id": "ev1-1",
            "event_type": event_type,
            "occurred_at": _TS,
            "source": "oms",
            "schema_version": 1,
            "data": data,
        }
        errors = [e.message for e in validator.iter_errors(event)]
        assert not errors, (event_type, text, errors)


def test_a_payload_that_breaks_the_contract_is_caught():
    """The check above can fail: a negative quantity or an unknown reason does not validate."""
    validator = event_validator()
    for event_type, row in (
        ("order.line_cancelled", ("SO00000001", "SO00000001-1", -2, "out_of_stock")),
        ("order.line_rejected", ("SO00000001", "SO00000001-1", "ST004", 2, "lost_it")),
    ):
        data = orjson.loads(payloads.PAYLOADS[event_type]([row])[0])
        event = {"event_id": "x", "event_type": event_type, "occurred_at": _TS,
                 "source": "oms", "schema_version": 1, "data": data}  # fmt: skip
        assert list(validator.iter_errors(event)), event_type
