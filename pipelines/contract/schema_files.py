"""Load the contract's JSON Schema files and build a validator over them."""

from __future__ import annotations

import json
import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource

SCHEMA_DIR = Path(__file__).parent / "schema" / "v1"
_BASE_URI = "https://omsi.dev/schema/v1/"


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


@cache
def envelope_schema() -> dict[str, Any]:
    return _load(SCHEMA_DIR / "envelope.schema.json")


@cache
def data_schema(event_type: str) -> dict[str, Any]:
    return _load(SCHEMA_DIR / "data" / f"{event_type}.schema.json")


EVENT_TYPES: tuple[str, ...] = tuple(envelope_schema()["properties"]["event_type"]["enum"])
# The same pattern guards every timestamp field; ASCII so that only 0-9 count as digits, as in SQL.
TIMESTAMP_PATTERN: str = envelope_schema()["properties"]["occurred_at"]["pattern"]
_RFC3339 = re.compile(TIMESTAMP_PATTERN, re.ASCII)


def is_rfc3339(value: object) -> bool:
    """RFC 3339 with an explicit offset, and a real calendar date and time."""
    if not isinstance(value, str):
        return True  # a wrong type is the "type" keyword's error, not this format's
    if not _RFC3339.match(value):
        return False
    try:
        datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
    except ValueError:
        return False
    return True


@cache
def event_validator() -> jsonschema.protocols.Validator:
    """A Draft 2020-12 validator for one whole event (envelope plus its type's data)."""
    resources = [(_BASE_URI + "envelope.schema.json", envelope_schema())]
    resources += [(_BASE_URI + f"data/{t}.schema.json", data_schema(t)) for t in EVENT_TYPES]
    registry = Registry().with_resources(
        (uri, Resource.from_contents(body)) for uri, body in resources
    )
    checker = jsonschema.FormatChecker(formats=())
    checker.checks("date-time")(is_rfc3339)
    cls = jsonschema.Draft202012Validator
    return cls(_load(SCHEMA_DIR / "event.schema.json"), registry=registry, format_checker=checker)
