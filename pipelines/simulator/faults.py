"""Fault injection: bad lines added beside the clean world's events, each with its expected fate.

Every fault breaks exactly one ingest rule, so the quarantine reason ingest must give is known.
Bad lines get a fresh event_id (so they never collide with the good event they were made from);
duplicates reuse the id and are placed after their original in (file, line) order. Late-arriving,
out-of-order and mixed-timezone faults move or re-express a good event without changing it, so
they must land.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import orjson

from pipelines.contract import data_schema

KINDS = (
    "invalid_json",
    "unknown_event_type",
    "missing_field",
    "wrong_type",
    "negative_quantity",
    "bad_timestamp",
    "invalid_value",
    "unsupported_schema_version",
    "exact_duplicate",
    "conflicting_duplicate",
    "late_arriving",
    "out_of_order",
    "mixed_timezone",
)

# Enum-valued data fields per event type (nested fields with dots): targets of invalid_value.
ENUM_FIELDS: dict[str, tuple[str, ...]] = {
    "order.placed": ("channel", "fulfillment_method"),
    "order.line_rejected": ("reason",),
    "order.line_cancelled": ("reason",),
    "shipment.exception": ("code",),
    "return.initiated": ("channel",),
    "return.received": ("lines.disposition",),
    "service.contact": ("channel", "topic"),
    "stock.adjusted": ("reason",),
}
_NUMERIC_PREFERRED = ("quantity", "amount", "delta", "on_hand", "system_quantity", "attempt")
_OFFSETS = (-5, -6, -7, -8, -4, 1, 2, 5.5, 9)


@dataclass
class Fault:
    line: bytes
    event_id: str
    kind: str
    outcome: str  # landed | duplicate | a quarantine reason
    detail: str


def _get(data: dict, dotted: str):
    head, _, rest = dotted.partition(".")
    if rest:
        return data[head][0][rest]
    return data[head]


def _set(data: dict, dotted: str, value) -> None:
    head, _, rest = dotted.partition(".")
    if rest:
        data[head][0][rest] = value
    else:
        data[head] = value


def _quantity_field(data: dict) -> str | None:
    for name in ("quantity", "on_hand", "counted_quantity", "system_quantity"):
        if name in data:
            return name
    if isinstance(data.get("lines"), list) and data["lines"]:
        return "lines.quantity"
    return None


def _wrong_type_field(event_type: str, data: dict) -> str | None:
    required = data_schema(event_type).get("required", [])
    for name in _NUMERIC_PREFERRED:
        if name in required and name in data:
            return name
    if "lines" in data:
        return "lines.quantity"
    enums = set(ENUM_FIELDS.get(event_type, ()))
    for name in required:
        if name not in enums and isinstance(data.get(name), str) and name.endswith("_id"):
            return name
    return None


def _fmt_offset(ts: str, hours: float) -> str:
    t = datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(UTC)
    tz = timezone(timedelta(hours=hours))
    return t.astimezone(tz).isoformat()


def make_fault(kind: str, line: bytes, serial: int, rng: np.random.Generator) -> Fault | None:
    """The bad line of `kind` made from good `line`, or None when the event has no such field."""
    event = orjson.loads(line)
    eid = event["event_id"]
    etype = event["event_type"]
    data = event["data"]
    fresh = f"{eid}-x{serial}"
    if kind == "exact_duplicate":
        return Fault(line, eid, kind, "duplicate", "identical copy after the original")
    if kind == "conflicting_duplicate":
        event["source"] = f"{event['source']}_replay"
        return Fault(
            orjson.dumps(event), eid, kind, "conflicting_duplicate", "same event_id, other source"
        )
    if kind in ("late_arriving", "out_of_order"):
        return Fault(line, eid, kind, "landed", "valid event moved")
    if kind == "mixed_timezone":
        hours = float(_OFFSETS[int(rng.integers(len(_OFFSETS)))])
        event["occurred_at"] = _fmt_offset(event["occurred_at"], hours)
        return Fault(orjson.dumps(event), eid, kind, "landed", f"offset {hours:+g}h, same instant")
    event["event_id"] = fresh
    if kind == "invalid_json":
        raw = orjson.dumps(event)
        return Fault(raw[: len(raw) // 2], fresh, kind, "invalid_json", "line cut in half")
    if kind == "unknown_event_type":
        event["event_type"] = "order.gift_wrapped"
        outcome = "unknown_event_type"
        detail = "event_type order.gift_wrapped"
    elif kind == "missing_field":
        required = list(data_schema(etype).get("required", []))
        if rng.random() < 0.25:
            name = "source"
            del event["source"]
        else:
            name = required[int(rng.integers(len(required)))]
            del data[name]
        outcome, detail = f"missing_field:{name}", f"{name} removed"
    elif kind == "wrong_type":
        name = _wrong_type_field(etype, data)
        if name is None:
            return None
        value = _get(data, name)
        _set(data, name, str(value) if isinstance(value, int | float) else 12345)
        outcome, detail = f"wrong_type:{name}", f"{name} given as the wrong JSON type"
    elif kind == "negative_quantity":
        name = _quantity_field(data)
        if name is None:
            return None
        _set(data, name, -max(1, int(_get(data, name))))
        outcome, detail = "negative_quantity", f"{name} negative"
    elif kind == "bad_timestamp":
        ts = event["occurred_at"]
        event["occurred_at"] = f"{ts[8:10]}/{ts[5:7]}/{ts[0:4]} {ts[11:16]}"
        outcome, detail = "bad_timestamp", "occurred_at not RFC 3339"
    elif kind == "invalid_value":
        names = ENUM_FIELDS.get(etype)
        if not names:
            return None
        name = names[int(rng.integers(len(names)))]
        _set(data, name, "unheard_of")
        outcome, detail = f"invalid_value:{name}", f"{name} outside its allowed values"
    elif kind == "unsupported_schema_version":
        event["schema_version"] = 2
        outcome, detail = "unsupported_schema_version", "schema_version 2"
    else:
        raise ValueError(f"unknown fault kind {kind}")
    return Fault(orjson.dumps(event), fresh, kind, outcome, detail)


class FaultInjector:
    """Decides, per day file, which good lines get which fault."""

    def __init__(self, bad_rate: float, weights: dict[str, float], seed: int) -> None:
        if not 0.0 <= bad_rate <= 0.5:
            raise ValueError("--bad-rate must be between 0 and 0.5, e.g. 0.01 for 1% bad lines")
        self.bad_rate = bad_rate
        w = np.array([float(weights.get(k, 0.0)) for k in KINDS])
        self.p = w / w.sum()
        self.seed = seed
        self.serial = 0

    def apply(
        self, day: int, lines: list[bytes]
    ) -> tuple[list[tuple[bytes, Fault | None]], list[tuple[int, bytes, Fault]]]:
        """The day's file content with faults, and the late arrivals for later days."""
        if self.bad_rate <= 0 or not lines:
            return [(line, None) for line in lines], []
        rng = np.random.default_rng([self.seed, 7919, day])
        k = int(rng.binomial(len(lines), self.bad_rate))
        k = min(k, len(lines))
        sources = rng.choice(len(lines), size=k, replace=False)
        kinds = rng.choice(len(KINDS), size=k, p=self.p)
        front: list[tuple[bytes, Fault | None]] = []
        tail: list[tuple[bytes, Fault | None]] = []
        late: list[tuple[int, bytes, Fault]] = []
        moved: set[int] = set()
        replaced: dict[int, tuple[bytes, Fault]] = {}
        for src, kind_i in zip(sources.tolist(), kinds.tolist(), strict=True):
            kind = KINDS[kind_i]
            self.serial += 1
            fault = make_fault(kind, lines[src], self.serial, rng)
            if fault is None:
                fault = make_fault("exact_duplicate", lines[src], self.serial, rng)
                kind = "exact_duplicate"
            if kind == "late_arriving":
                moved.add(src)
                late.append((day + 1 + int(rng.integers(3)), fault.line, fault))
            elif kind == "out_of_order":
                moved.add(src)
                front.append((fault.line, fault))
            elif kind == "mixed_timezone":
                replaced[src] = (fault.line, fault)
            else:
                tail.append((fault.line, fault))
        body: list[tuple[bytes, Fault | None]] = []
        for i, line in enumerate(lines):
            if i in moved:
                continue
            body.append(replaced.get(i, (line, None)))
        # Out-of-order lines go first although they happened later than most of the file.
        front.reverse()
        return front + body + tail, late
