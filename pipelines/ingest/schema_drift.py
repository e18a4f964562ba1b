"""Schema drift: fields inside `data` that the contract does not know, per ingest batch.

The contract keeps unknown fields (a source may add what it likes), and promises that their
arrival is reported. A field that appears is often a field that was renamed: its required
predecessor is then missing on the same lines, which are quarantined as `missing_field:<name>`,
so each drift row also names the required field most often missing on its lines.

Set-based like the rest of ingest: one statement per chunk reads the keys of every line's data
object (and of its nested object and line items) with `json_keys`, drops the contract's own
fields with list filters compiled from the JSON Schema, and upserts the counts per event type
and field path into `raw.schema_drift`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

import duckdb

from pipelines.contract.schema_files import EVENT_TYPES, data_schema


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _types(schema: dict[str, Any]) -> list[str]:
    return schema["type"] if isinstance(schema["type"], list) else [schema["type"]]


@dataclass(frozen=True)
class _Containers:
    """Where one event type's data holds fields: the data object itself, nested objects, items."""

    objects: tuple[tuple[str, tuple[str, ...]], ...]  # (name prefix, known keys); '' is data
    items: tuple[str, tuple[str, ...]] | None  # the array of objects, if the type has one


@cache
def _containers(event_type: str) -> _Containers:
    schema = data_schema(event_type)
    objects: list[tuple[str, tuple[str, ...]]] = [("", tuple(schema["properties"]))]
    items = None
    for name, field in schema["properties"].items():
        if "object" in _types(field):
            objects.append((name, tuple(field.get("properties", {}))))
        elif "array" in _types(field) and field.get("items", {}).get("type") == "object":
            if items is not None:
                raise ValueError(f"{event_type}: drift knows one array of objects per type")
            items = (name, tuple(field["items"].get("properties", {})))
    return _Containers(tuple(objects), items)


def _unknown(keys: str, prefix: str, known: tuple[str, ...]) -> str:
    """SQL: the keys of list `keys` that are not in `known`, named with their prefix."""
    allowed = "(" + ", ".join(_lit(k) for k in known) + ")"
    kept = f"list_filter(coalesce({keys}, []), lambda k: k not in {allowed})"
    return kept if not prefix else f"list_transform({kept}, lambda k: {_lit(prefix + '.')} || k)"


@cache
def chunk_drift_sql() -> str:
    """Upsert the drift of the chunk in `checked` (see pipelines.ingest.events) for `$batch`.

    A line counts once per unknown path, whatever its verdict: a renamed required field is
    quarantined, and its new name is what tells the integrator why.
    """
    keys_cases, items_cases, found_cases = [], [], []
    for event_type in EVENT_TYPES:
        box = _containers(event_type)
        paths = ", ".join(_lit("$" if not p else f"$.{p}") for p, _ in box.objects)
        keys_cases.append(f"when {_lit(event_type)} then json_keys(data, [{paths}])")
        parts = [_unknown(f"keys[{i + 1}]", p, known) for i, (p, known) in enumerate(box.objects)]
        if box.items is not None:
            name, known = box.items
            # Each item's keys, once per line however many items carry them; a non-array or
            # non-object item has no keys (json_keys gives NULL), its type is another rule's.
            items_cases.append(
                f"when {_lit(event_type)} then "
                f"list_distinct(flatten(coalesce(json_keys(data, '$.{name}[*]'), [])))"
            )
            parts.append(_unknown("item_keys", name, known))
        found_cases.append(f"when {_lit(event_type)} then list_concat({', '.join(parts)})")
    known_types = "(" + ", ".join(_lit(t) for t in EVENT_TYPES) + ")"
    return f"""
        insert into raw.schema_drift
        with keyed as (
            select row_id, file_no, line_no, event_type, reason,
                case event_type {" ".join(keys_cases)} end as keys,
                case event_type {" ".join(items_cases)} end as item_keys,
            from checked
            where data_is_object and event_type in {known_types}
        ),
        found as (
            select row_id, file_no, line_no, event_type, reason,
                unnest(case event_type {" ".join(found_cases)} end) as field_path,
            from keyed
        ),
        by_reason as (
            select event_type, field_path, reason, count(*) as n,
                min(row_id) as first_row, arg_min(file_no, row_id) as first_file_no,
                arg_min(line_no, row_id) as first_line_no,
            from found
            group by all
        ),
        per_path as (
            select
                event_type,
                field_path,
                sum(n) as lines,
                arg_min(first_file_no, first_row) as first_file_no,
                arg_min(first_line_no, first_row) as first_line_no,
                arg_max(reason, n) filter (where starts_with(reason, 'missing_field:'))
                    as missing_reason,
                coalesce(max(n) filter (where starts_with(reason, 'missing_field:')), 0)
                    as missing_lines,
            from by_reason
            group by all
        )
        select
            $batch,
            p.event_type,
            p.field_path,
            p.lines,
            f.file,
            p.first_line_no,
            substr(p.missing_reason, length('missing_field:') + 1),
            p.missing_lines,
        from per_path as p
        join chunk_files as f on f.file_no = p.first_file_no
        on conflict (batch_id, event_type, field_path) do update set
            lines = raw.schema_drift.lines + excluded.lines,
            missing_field = case when excluded.missing_lines > raw.schema_drift.missing_lines
                then excluded.missing_field else raw.schema_drift.missing_field end,
            missing_lines = raw.schema_drift.missing_lines + excluded.missing_lines
        """


@dataclass(frozen=True)
class Drift:
    """One field the contract does not know, seen in one batch."""

    event_type: str
    field_path: str  # inside data, dotted: 'gift_note', 'ship_to.zip', 'lines.gift_wrap'
    lines: int
    first_file: str
    first_line_no: int
    missing_field: str | None  # the required field most often missing on the same lines
    missing_lines: int  # how many of its lines were quarantined for that missing field

    @property
    def likely_rename(self) -> str | None:
        """'customer_id' when this field looks like that required field, renamed.

        A rename moves the value: most lines carrying the new name lack the old one. A field
        merely added, seen also on a few lines broken for another cause, is no rename.
        """
        return self.missing_field if self.missing_lines * 2 > self.lines else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"likely_rename_of": self.likely_rename}

    def describe(self) -> str:
        text = (
            f"{self.event_type}: data.{self.field_path} on {self.lines:,} line(s), first at "
            f"{self.first_file} line {self.first_line_no}"
        )
        if self.likely_rename:
            text += (
                f"; likely a rename of required {self.missing_field}: {self.missing_lines:,} of "
                f"these lines were quarantined as missing_field:{self.missing_field}"
            )
        return text


def batch_drift(con: duckdb.DuckDBPyConnection, batch_id: int) -> list[Drift]:
    """The unknown fields of one batch, the most frequent first."""
    rows = con.execute(
        """
        select event_type, field_path, lines, first_file, first_line_no, missing_field,
            missing_lines
        from raw.schema_drift where batch_id = $b
        order by lines desc, event_type, field_path
        """,
        {"b": batch_id},
    ).fetchall()
    return [Drift(*row) for row in rows]


def drift_section(drift: list[Drift]) -> str:
    """The schema drift of a batch for the terminal; '' when there is none."""
    if not drift:
        return ""
    lines = [f"schema drift: {len(drift)} field(s) the contract does not know (kept in data):"]
    lines += [f"  {d.describe()}" for d in drift]
    return "\n".join(lines)


def renames(drift: list[Drift]) -> dict[tuple[str, str], str]:
    """(event type, missing required field) -> the unknown field that likely replaced it."""
    return {
        (d.event_type, d.likely_rename): d.field_path for d in drift if d.likely_rename is not None
    }
