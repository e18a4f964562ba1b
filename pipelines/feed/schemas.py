"""The feed's published schema: JSON Schema files per dataset, and what follows from them.

The files under `schema/v1/` are the contract integrators read (docs/routing-feed.md). Column
order, key, Parquet types and PostgreSQL types are all derived from them here, so no sink can
drift from what is published.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pyarrow as pa

SCHEMA_VERSION = 1
DATASETS = ("node_scores", "availability", "order_risk")
SCHEMA_DIR = Path(__file__).parent / "schema" / f"v{SCHEMA_VERSION}"


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The JSON Schema of a dataset (or of `manifest`)."""
    return json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())


def columns(dataset: str) -> list[str]:
    """A dataset's columns in the order the schema lists them (the order of every output)."""
    return list(load_schema(dataset)["properties"])


def key(dataset: str) -> list[str]:
    """The columns that identify a record; rows are sorted by them in every sink."""
    return list(load_schema(dataset)["x-omsi-key"])


def _types(prop: dict[str, Any]) -> tuple[str, bool]:
    """The property's one non-null JSON type, and whether null is allowed."""
    declared = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
    kinds = [t for t in declared if t != "null"]
    if len(kinds) != 1:
        raise ValueError(f"a feed column must have exactly one non-null type, not {declared}")
    kind = kinds[0]
    if kind == "string" and prop.get("format") == "date-time":
        kind = "date-time"
    return kind, "null" in declared


_ARROW = {
    "string": pa.string(),
    "number": pa.float64(),
    "integer": pa.int64(),
    "boolean": pa.bool_(),
    "date-time": pa.timestamp("us", tz="UTC"),
}
_POSTGRES = {
    "string": "text",
    "number": "double precision",
    "integer": "bigint",
    "boolean": "boolean",
    "date-time": "timestamptz",
}


def column_types(dataset: str) -> dict[str, tuple[str, bool]]:
    """Per column: its kind (string, number, integer, boolean, date-time) and nullability."""
    return {name: _types(prop) for name, prop in load_schema(dataset)["properties"].items()}


def arrow_schema(dataset: str) -> pa.Schema:
    return pa.schema(
        [
            pa.field(name, _ARROW[kind], nullable=nullable)
            for name, (kind, nullable) in column_types(dataset).items()
        ]
    )


def postgres_columns(dataset: str) -> list[tuple[str, str, bool]]:
    """(column, PostgreSQL type, nullable) in schema order."""
    return [
        (name, _POSTGRES[kind], nullable)
        for name, (kind, nullable) in column_types(dataset).items()
    ]


@cache
def validator(name: str) -> jsonschema.Draft202012Validator:
    schema = load_schema(name)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def schema_errors(name: str, record: dict[str, Any], limit: int = 3) -> list[str]:
    """What is wrong with one JSON record against the published schema (empty when valid)."""
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(record)'}: {e.message}"
        for _, e in zip(range(limit), validator(name).iter_errors(record), strict=False)
    ]


def table_errors(dataset: str, table: pa.Table) -> list[str]:
    """The schema's per-column rules (null, minimum, maximum, enum) over a whole table at once.

    jsonschema checks a record in about a millisecond, far too slow for every stock record of a
    large network; these rules are the ones a row can break, checked column by column.
    """
    import pyarrow.compute as pc

    errors = []
    for name, prop in load_schema(dataset)["properties"].items():
        column = table.column(name)
        _, nullable = _types(prop)
        nulls = column.null_count
        if nulls and not nullable:
            errors.append(f"{name}: {nulls} null value(s) in a column that may not be null")
        checks = [
            ("minimum", lambda c, v: pc.less(c, v), "below the minimum"),
            ("maximum", lambda c, v: pc.greater(c, v), "above the maximum"),
        ]
        for keyword, breaks, words in checks:
            if keyword in prop:
                bad = pc.sum(pc.cast(breaks(column, prop[keyword]), pa.int64())).as_py() or 0
                if bad:
                    errors.append(f"{name}: {bad} value(s) {words} {prop[keyword]}")
        if "enum" in prop:
            allowed = pa.array(prop["enum"], type=column.type)
            outside = pc.invert(pc.is_in(column, value_set=allowed))
            bad = pc.sum(pc.cast(pc.and_kleene(outside, pc.is_valid(column)), pa.int64())).as_py()
            if bad:
                errors.append(f"{name}: {bad} value(s) outside {prop['enum']}")
        if column.type == pa.float64():
            nan = pc.sum(pc.cast(pc.is_nan(column), pa.int64())).as_py() or 0
            if nan:
                errors.append(f"{name}: {nan} NaN value(s), which JSON cannot carry")
    return errors
