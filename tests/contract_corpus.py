"""A corpus of event lines for checking that ingest's SQL rules agree with the JSON Schema.

Valid events of every type come first (optional fields present, absent and null); every other
line is one of them changed in exactly one way: a field removed, given another JSON type or an
out-of-range value, a bad timestamp, an unknown event type, another schema version. Lines that
are not JSON objects at all close the corpus.

Mutations are derived by walking the schema files, so a field added to the contract is covered
without editing this module. The corpus says nothing about the expected verdict: the test asks
the JSON Schema validator for that.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.contract import EVENT_TYPES, data_schema, envelope_schema

Path_ = tuple[str | int, ...]

# Replaced after serialisation by number literals json.dumps cannot write (1e400, -0.0 as text).
_LITERAL = "@literal:"

OCCURRED_AT = "2024-03-01T10:15:00+01:00"
QUANTITY_MARK = "x-omsi-quantity"
_ID = "@id@"  # replaced by a unique event_id when the line is written


@dataclass(frozen=True)
class Case:
    label: str  # what was done, for failure messages
    line: str  # the line as written to the JSONL file


def _lines(*items: dict[str, Any]) -> list[dict[str, Any]]:
    return list(items)


# One complete data object per event type, every optional field present.
FULL_DATA: dict[str, dict[str, Any]] = {
    "order.placed": {
        "order_id": "o-1",
        "channel": "web",
        "customer_id": "c-9",
        "fulfillment_method": "delivery",
        "ship_to": {
            "postal_code": "01310-100",
            "region": "São Paulo",
            "country": "BR",
            "lat": -23.56,
            "lon": -46.65,
        },
        "pickup_node_id": "store-7",
        "promised_by": "2024-03-04T18:00:00-03:00",
        "currency": "BRL",
        "lines": _lines(
            {"line_id": "1", "sku": "sku-a", "quantity": 2, "unit_price": 19.9},
            {"line_id": "2", "sku": "sku-b", "quantity": 1, "unit_price": 0},
        ),
        "shipping_charged": 7.5,
    },
    "order.payment_authorized": {"order_id": "o-1", "amount": 47.3, "payment_method": "card"},
    "order.line_allocated": {
        "order_id": "o-1",
        "line_id": "1",
        "node_id": "dc-1",
        "quantity": 2,
        "carrier": "ups",
        "service_level": "ground",
        "planned_ship_by": "2024-03-02T12:00:00Z",
        "estimated_ship_cost": 4.25,
        "attempt": 1,
    },
    "order.line_rejected": {
        "order_id": "o-1",
        "line_id": "1",
        "node_id": "dc-1",
        "quantity": 1,
        "reason": "not_found",
    },
    "order.line_backordered": {
        "order_id": "o-1",
        "line_id": "2",
        "quantity": 1,
        "expected_at": "2024-03-09T00:00:00.5+05:30",
    },
    "order.line_cancelled": {
        "order_id": "o-1",
        "line_id": "2",
        "quantity": 1,
        "reason": "customer_request",
    },
    "shipment.packed": {
        "shipment_id": "s-1",
        "order_id": "o-1",
        "node_id": "dc-1",
        "lines": _lines({"line_id": "1", "quantity": 2}),
    },
    "shipment.shipped": {
        "shipment_id": "s-1",
        "order_id": "o-1",
        "node_id": "dc-1",
        "carrier": "ups",
        "service_level": "ground",
        "tracking_number": "1Z999",
        "lines": _lines({"line_id": "1", "quantity": 2}, {"line_id": "2", "quantity": 1}),
        "shipping_cost": 5.1,
        "weight_kg": 1.25,
    },
    "shipment.delivered": {"shipment_id": "s-1", "order_id": "o-1"},
    "shipment.exception": {
        "shipment_id": "s-1",
        "order_id": "o-1",
        "code": "delayed",
        "detail": "hub closed",
    },
    "pickup.ready": {"order_id": "o-2", "node_id": "store-7"},
    "pickup.collected": {"order_id": "o-2", "node_id": "store-7"},
    "return.initiated": {
        "return_id": "r-1",
        "order_id": "o-1",
        "channel": "mail",
        "lines": _lines({"line_id": "1", "quantity": 1, "reason": "too small"}),
    },
    "return.received": {
        "return_id": "r-1",
        "order_id": "o-1",
        "node_id": "dc-1",
        "lines": _lines({"line_id": "1", "quantity": 1, "disposition": "restock"}),
        "return_shipping_cost": 3.0,
    },
    "refund.issued": {"order_id": "o-1", "return_id": "r-1", "amount": 19.9, "reason": "return"},
    "service.contact": {
        "order_id": "o-1",
        "contact_id": "k-1",
        "channel": "chat",
        "topic": "where_is_my_order",
    },
    "stock.snapshot": {
        "node_id": "dc-1",
        "sku": "sku-a",
        "on_hand": 10,
        "reserved": 0,
        "in_transit": 4,
    },
    "stock.adjusted": {"node_id": "dc-1", "sku": "sku-a", "delta": -3, "reason": "shrink"},
    "stock.counted": {
        "node_id": "dc-1",
        "sku": "sku-a",
        "count_id": "cc-1",
        "system_quantity": 10,
        "counted_quantity": 0,
    },
}

# Timestamps the contract accepts, and ones it must refuse (RFC 3339 with an offset, real dates).
GOOD_TIMESTAMPS = (
    "2024-03-01t10:15:00z",
    "2024-02-29T23:59:59.123456789Z",
    "2024-03-01T10:15:00+14:00",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59-01:00",
)
BAD_TIMESTAMPS = (
    "2024-03-01T10:15:00",  # no offset
    "2024-02-30T10:15:00Z",  # no such day
    "2023-02-29T10:15:00Z",  # not a leap year
    "2024-03-01T24:00:00Z",  # hour 24
    "2024-03-01T10:60:00Z",
    "2024-03-01T10:15:60Z",  # leap second: not representable
    "0000-01-01T00:00:00Z",  # year zero
    "2024-03-01 10:15:00Z",  # space separator
    "2024-03-01T10:15:00+0100",  # offset without colon
    "2024-03-01T10:15:00+01",
    "2024-03-01T10:15Z",
    "2024-3-1T10:15:00Z",
    "2024-03-01",
    "2024-03-01T10:15:00.Z",
    " 2024-03-01T10:15:00Z",
    "2024-03-01T10:15:00Z ",
    "2024-03-01T10:15:00Z\n",
    "٢٠٢٤-03-01T10:15:00Z",  # Arabic-Indic digits: \d must mean 0-9 only
    "1709288100",
    "yesterday",
    "",
)

# A value of each JSON type; a field gets every one its schema does not allow.
_NUMBER_AS_TEXT = "7"
_TYPE_SAMPLES: dict[str, Any] = {
    "string": "x",
    "integer": 7,
    "number": 1.5,
    "object": {"k": "v"},
    "array": ["x"],
    "null": None,
    "boolean": True,
}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _allows(schema: dict[str, Any], value: Any) -> bool:
    types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    kind = _json_type(value)
    return kind in types or (kind == "integer" and "number" in types)


def envelope(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_id": _ID,
        "event_type": event_type,
        "occurred_at": OCCURRED_AT,
        "source": "oms",
        "schema_version": 1,
        "data": data,
    }


def fields(schema: dict[str, Any], at: Path_) -> Iterator[tuple[Path_, dict[str, Any], bool]]:
    """(path, field schema, required) for every field below an object schema, items included.

    Array items are addressed through their first element.
    """
    for name, child in schema.get("properties", {}).items():
        path = (*at, name)
        yield path, child, name in schema.get("required", [])
        if child.get("type") == "object":
            yield from fields(child, path)
        if child.get("type") == "array" and "items" in child:
            yield from fields(child["items"], (*path, 0))


def _get(doc: Any, path: Path_) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def _set(doc: Any, path: Path_, value: Any) -> Any:
    out = copy.deepcopy(doc)
    _get(out, path[:-1])[path[-1]] = value
    return out


def _drop(doc: Any, path: Path_) -> Any:
    out = copy.deepcopy(doc)
    del _get(out, path[:-1])[path[-1]]
    return out


def _show(path: Path_) -> str:
    return ".".join(str(p) for p in path)


def _types(schema: dict[str, Any]) -> list[str]:
    return schema["type"] if isinstance(schema["type"], list) else [schema["type"]]


def _value_mutations(schema: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """(label, value) pairs that change one field's value, valid or not."""
    types = _types(schema)
    numeric = "integer" in types or "number" in types
    for kind, sample in _TYPE_SAMPLES.items():
        if kind == "string" and numeric:
            sample = _NUMBER_AS_TEXT
        if not _allows(schema, sample):
            yield f"{kind} {sample!r}", sample
    if "enum" in schema:
        yield "value outside the enum", "not_a_value"
        yield "enum value in upper case", schema["enum"][0].upper()
    if schema.get("format") == "date-time":
        for text in GOOD_TIMESTAMPS + BAD_TIMESTAMPS:
            yield f"timestamp {text!r}", text
    elif "pattern" in schema:
        yield "lower case code", "brl"
        yield "four letters", "BRLX"
        yield "trailing space", "BRL "
    if "minLength" in schema:
        yield "one space", " "
    if "string" in types and schema.get("format") != "date-time":
        # Refused where a value is required to have one (minLength, an enum, a pattern); in an
        # optional free-text field an empty string means unknown, and lands.
        yield "empty string", ""
    if "maxLength" in schema:
        n = schema["maxLength"]
        yield f"{n} characters", "é" * n
        yield f"{n + 1} characters", "é" * (n + 1)
    if "integer" in types:
        yield "integer-valued float 2.0", 2.0
        yield "integer in exponent form 1e2", _LITERAL + "1e2"
        yield "fraction 2.5", 2.5
        yield "integer beyond 64 bits", 10**20
        yield "1e400 (overflows a double)", _LITERAL + "1e400"
    if "const" in schema:
        yield f"const {schema['const']} + 1", schema["const"] + 1
        yield f"const {schema['const']} as a float", float(schema["const"])
    if schema.get(QUANTITY_MARK):
        yield "negative quantity -1", -1
        yield "negative quantity -0.5", -0.5
        yield "negative zero", _LITERAL + "-0"
        yield "zero", 0
    else:
        for keyword in ("minimum", "exclusiveMinimum"):
            if keyword in schema:
                bound = schema[keyword]
                yield f"{keyword} bound {bound}", bound
                yield f"below {keyword} {bound} by 0.01", bound - 0.01
                yield f"below {keyword} {bound} by 1", bound - 1
    if "maximum" in schema:
        yield f"maximum bound {schema['maximum']}", schema["maximum"]
        yield f"above maximum {schema['maximum']}", schema["maximum"] + 0.5
    if "number" in types:
        yield "1e400 (overflows a double)", _LITERAL + "1e400"
    if "array" in types:
        yield "empty array", []
        yield "item that is a string", ["x"]
        yield "item that is null", [None]


def _event_mutations(
    event: dict[str, Any], event_type: str, *, with_envelope: bool
) -> Iterator[tuple[str, Any]]:
    """Every single-field change of one valid event: its data fields, and its envelope if asked."""
    paths = list(fields(data_schema(event_type), ("data",)))
    if with_envelope:
        paths = list(fields(envelope_schema(), ())) + paths
    for path, schema, required in paths:
        try:
            present = _get(event, path)
        except (KeyError, IndexError):
            continue  # an optional field this example leaves out
        if required:
            yield f"{_show(path)} removed", _drop(event, path)
        else:
            yield f"optional {_show(path)} removed", _drop(event, path)
        for label, value in _value_mutations(schema):
            if value != present or type(value) is not type(present):
                yield f"{_show(path)}: {label}", _set(event, path, value)
        if "array" in _types(schema):
            # a broken second item, so a check that only looks at the first is caught
            required_items = schema["items"]["required"]
            bad = _drop(present[0], (required_items[-1],))
            label = f"{_show(path)}: second item lacks {required_items[-1]}"
            yield label, _set(event, path, [present[0], bad])
            yield (
                f"{_show(path)}: second item negative",
                _set(event, path, [present[0], {**present[0], "quantity": -2}]),
            )


def _envelope_mutations(event: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    yield "unknown event_type", {**event, "event_type": "order.shipped"}
    yield "empty event_type", {**event, "event_type": ""}
    yield "schema_version 0", {**event, "schema_version": 0}
    yield "schema_version '1' (string)", {**event, "schema_version": "1"}
    yield "schema_version true", {**event, "schema_version": True}
    yield "unknown envelope field", {**event, "trace_id": "abc"}
    yield (
        "unknown data fields",
        {
            **event,
            "data": {**event["data"], "gift_note": "hi", "loyalty": {"tier": 2, "tags": ["a"]}},
        },
    )
    yield "data is a string of JSON", {**event, "data": json.dumps(event["data"])}
    yield "data empty", {**event, "data": {}}
    yield "empty object", {}


def _dump(event: Any) -> str:
    text = json.dumps(event, ensure_ascii=False)
    while _LITERAL in text:
        start = text.index('"' + _LITERAL)
        end = text.index('"', start + 1)
        text = text[:start] + text[start + 1 + len(_LITERAL) : end] + text[end + 1 :]
    return text


def _minimal(event_type: str) -> dict[str, Any]:
    """The full example with every optional field left out, nested ones too."""

    def strip(value: Any, schema: dict[str, Any]) -> Any:
        if schema.get("type") == "object" and isinstance(value, dict):
            required = schema.get("required", [])
            props = schema.get("properties", {})
            return {k: strip(v, props.get(k, {})) for k, v in value.items() if k in required}
        if schema.get("type") == "array" and isinstance(value, list):
            return [strip(v, schema["items"]) for v in value]
        return value

    return strip(FULL_DATA[event_type], data_schema(event_type))


def _with_optional_nulls(event_type: str) -> dict[str, Any]:
    schema = data_schema(event_type)
    data = copy.deepcopy(FULL_DATA[event_type])
    for path, field_schema, required in fields(schema, ()):
        if not required and "null" in field_schema["type"]:
            data = _set(data, path, None)
    return data


# Lines that are not JSON objects; the JSON Schema validator sees a non-object or nothing.
NOT_OBJECTS = (
    ("blank line", ""),
    ("spaces only", "   "),
    ("tab only", "\t"),
    ("plain text", "this is not json"),
    ("truncated object", '{"event_id": "x", "event_type": "order.placed"'),
    ("single quotes", "{'event_id': 'x'}"),
    ("two objects on one line", '{"a": 1}{"b": 2}'),
    ("object then text", '{"a": 1} trailing'),
    ("JSON array", "[]"),
    ("JSON array of an object", '[{"event_id": "x"}]'),
    ("JSON string", '"order.placed"'),
    ("JSON number", "42"),
    ("JSON null", "null"),
    ("JSON true", "true"),
    ("raw control character in a string", '{"event_id": "a\tb"}'),
    ("leading zero", '{"schema_version": 01}'),
)


def build_corpus() -> list[Case]:
    """Valid events first, then single mutations of them, then lines that are not objects.

    Every event gets its own event_id, so that no line is judged a duplicate of another; a
    mutation that sets event_id to a value an earlier line already used is left out.
    """
    cases: list[Case] = []
    used_ids: set[str] = set()

    def add(label: str, event: Any) -> None:
        line = _dump(event).replace(f'"event_id": "{_ID}"', f'"event_id": "c{len(cases) + 1}"')
        try:
            event_id = json.loads(line).get("event_id")
        except (ValueError, AttributeError):
            event_id = None
        if isinstance(event_id, str):
            if event_id in used_ids:
                return
            used_ids.add(event_id)
        cases.append(Case(label, line))

    for event_type in EVENT_TYPES:
        add(f"{event_type}: every optional field", envelope(event_type, FULL_DATA[event_type]))
        add(f"{event_type}: required fields only", envelope(event_type, _minimal(event_type)))
        add(
            f"{event_type}: optional fields null",
            envelope(event_type, _with_optional_nulls(event_type)),
        )
    # Envelope mutations on two types with different shapes are enough: the envelope's rules do
    # not depend on the type.
    envelope_types = {"order.placed", "stock.adjusted"}
    for event_type in EVENT_TYPES:
        full = envelope(event_type, FULL_DATA[event_type])
        with_envelope = event_type in envelope_types
        for label, event in _event_mutations(full, event_type, with_envelope=with_envelope):
            add(f"{event_type}: {label}", event)
        minimal = envelope(event_type, _minimal(event_type))
        for label, event in _event_mutations(minimal, event_type, with_envelope=False):
            if label.endswith(" removed"):
                add(f"{event_type} (required fields only): {label}", event)
        if with_envelope:
            for label, event in _envelope_mutations(full):
                add(f"{event_type}: {label}", event)
    for label, line in NOT_OBJECTS:
        cases.append(Case(label, line))
    cases.extend(_almost_json(len(cases)))
    return cases


def _almost_json(count: int) -> list[Case]:
    """Valid events written with what lenient JSON parsers accept and RFC 8259 does not."""
    out = []

    def add(label: str, event_type: str, replace: tuple[str, str]) -> None:
        event = envelope(event_type, FULL_DATA[event_type])
        line = _dump(event).replace(
            f'"event_id": "{_ID}"', f'"event_id": "c{count + len(out) + 1}"'
        )
        assert replace[0] in line, replace
        out.append(Case(label, line.replace(replace[0], replace[1], 1)))

    add("trailing comma in data", "pickup.ready", ('"store-7"}', '"store-7",}'))
    add("trailing comma in lines", "shipment.packed", ('"quantity": 2}]', '"quantity": 2},]'))
    add("amount NaN", "refund.issued", ('"amount": 19.9', '"amount": NaN'))
    add(
        "shipping_cost Infinity",
        "shipment.shipped",
        ('"shipping_cost": 5.1', '"shipping_cost": Infinity'),
    )
    add("delta -Infinity", "stock.adjusted", ('"delta": -3', '"delta": -Infinity'))
    add("quantity NaN", "order.line_rejected", ('"quantity": 1', '"quantity": NaN'))
    add(
        "lone surrogate escape",
        "pickup.collected",
        ('"node_id": "store-7"', '"node_id": "\\ud800"'),
    )
    add("comment", "shipment.delivered", ('"order_id": "o-1"', '"order_id": "o-1" /* x */'))
    return out


def write_corpus(cases: list[Case], path: Path) -> None:
    """One case per line; line n of the file is cases[n - 1]."""
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for case in cases:
            if "\n" in case.line or "\r" in case.line:
                raise ValueError(f"case {case.label!r} spans lines")
            handle.write(case.line + "\n")
