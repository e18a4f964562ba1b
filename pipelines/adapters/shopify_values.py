"""Reading the Admin API's JSON: bodies, times, money, slugs, skus, and the event envelope.

A malformed value raises `Skip` with the reason `invalid_value:<field>`: its order is skipped
and counted, not the whole import.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from pipelines.adapters.landing_files import LandingEvent

EVENT_SOURCE = "shopify"
CENT = Decimal("0.01")


class Skip(Exception):
    """The order cannot be converted; `reason` is what the report counts it under."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def load(path: Path, key: str) -> list[dict[str, Any]]:
    """The list under `key` in an Admin API response body saved at `path`."""
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path.name} is not JSON: {error}") from error
    if isinstance(body, dict) and isinstance(body.get(key), list):
        return body[key]
    raise ValueError(
        f'{path.name} must hold {{"{key}": [...]}}, the body of the Admin API\'s {key} endpoint'
    )


def parse_time(value: Any, what: str) -> datetime:
    """An RFC 3339 time with its offset; `what` names the field in the skip reason."""
    if not isinstance(value, str):
        raise Skip(f"invalid_value:{what}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise Skip(f"invalid_value:{what}") from error
    if parsed.tzinfo is None:
        raise Skip(f"invalid_value:{what}")
    return parsed


def money(value: Any, what: str) -> Decimal:
    """A non-negative amount to the cent; `what` names the field in the skip reason."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError) as error:
        raise Skip(f"invalid_value:{what}") from error
    if not amount.is_finite() or amount < 0:
        raise Skip(f"invalid_value:{what}")
    return amount.quantize(CENT)


def slug(text: Any, default: str) -> str:
    """Lower-case words joined by `_` (a carrier or service name), else `default`."""
    words = re.sub(r"[^a-z0-9]+", "_", str(text or "").lower()).strip("_")
    return words or default


def sku(item: dict[str, Any]) -> str:
    """The line item's sku; a variant or product id stands in when the store leaves it empty."""
    if item.get("sku"):
        return str(item["sku"])
    for key in ("variant_id", "product_id", "id"):
        if item.get(key) is not None:
            return f"{key.removesuffix('_id') or 'line'}:{item[key]}"
    raise Skip("invalid_value:line_items.sku")


def iso(at: datetime) -> str:
    return at.isoformat()


def envelope(event_id: str, event_type: str, at: datetime, data: dict[str, Any]) -> LandingEvent:
    return LandingEvent.enveloped(EVENT_SOURCE, event_id, event_type, at, data)


def merged(embedded: list[dict[str, Any]], extra: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Embedded objects and separately fetched ones, once each (by id), in id order."""
    by_id = {obj["id"]: obj for obj in extra if "id" in obj}
    by_id |= {obj["id"]: obj for obj in embedded if "id" in obj}
    return [by_id[k] for k in sorted(by_id, key=str)]


def grouped(objects: list[dict[str, Any]], key: str) -> dict[str, list[dict[str, Any]]]:
    """Objects by the text of their `key` (an order or fulfilment id)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for obj in objects:
        groups.setdefault(str(obj.get(key)), []).append(obj)
    return groups
