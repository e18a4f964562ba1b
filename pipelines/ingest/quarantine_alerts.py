"""Loud quarantine: when one reason takes a large share of a file or an event type, say so.

A count of quarantined lines hides a feed that is systematically wrong: a quarantine of 100% of
a customer's orders reconciles as well as a quarantine of three lines. So after a batch, each
(file, reason) and (event type, reason) above `SHARE` of its lines is reported with an example
line and what to change in the feed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import duckdb

# Over a fifth of a file or of an event type for one reason is not noise: a mapping is wrong.
SHARE = 0.2
_EXAMPLE_CHARS = 240


@dataclass(frozen=True)
class QuarantineAlert:
    scope: str  # 'file' | 'event_type'
    name: str  # the file, or the event type
    reason: str
    quarantined: int
    lines: int  # lines of that file (read) or of that event type (landed or quarantined)
    example_file: str
    example_line_no: int
    example_detail: str | None
    example_raw: str
    advice: str

    @property
    def share(self) -> float:
        return self.quarantined / self.lines if self.lines else 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"share": round(self.share, 4)}

    def describe(self) -> str:
        what = f"file {self.name}" if self.scope == "file" else f"{self.name} events"
        return (
            f"{self.share:.0%} of {what} quarantined as {self.reason} "
            f"({self.quarantined:,} of {self.lines:,} lines)\n"
            f"    e.g. {self.example_file} line {self.example_line_no}: "
            f"{self.example_detail or ''}\n"
            f"    {self.example_raw[:_EXAMPLE_CHARS]}\n"
            f"    to fix: {self.advice}\n"
            f"    see them all: omsi quarantine show {self.reason}"
        )


def advice_for(reason: str, event_type: str | None = None) -> str:
    """What to change in the feed (or the adapter) for lines quarantined for `reason`."""
    family, _, field = reason.partition(":")
    of = f"every {event_type} event" if event_type else "every line"
    advice = {
        "missing_field": f"{of} needs data.{field} (docs/event-contract.md); if your export "
        "calls it something else, map it to that name (schema drift lists the fields "
        "that arrived instead)",
        "wrong_type": f"send {field} with the JSON type the contract gives it "
        "(docs/event-contract.md): a number without quotes, a string in quotes, an object",
        "invalid_value": f"{field} is outside what the contract allows (the detail says what "
        "it allows): map your export's values onto the contract's",
        "bad_timestamp": "send RFC 3339 timestamps with an offset, e.g. 2024-03-01T10:15:00+01:00",
        "negative_quantity": "quantities are counts of units and cannot be below zero",
        "invalid_json": "write one JSON object per line (RFC 8259: no NaN, no trailing commas)",
        "invalid_encoding": "write the file as UTF-8",
        "unknown_event_type": "event_type must be one of the 19 types in docs/event-contract.md",
        "unsupported_schema_version": "set schema_version to 1",
        "conflicting_duplicate": "an event_id names one event: give a changed event a new "
        "event_id, or re-send it unchanged",
        "duplicate_key": "a reference file may hold each key once",
    }.get(family, "see docs/event-contract.md for the rule")
    return advice + "; then re-send the corrected lines (`omsi quarantine export`)"


def _advice(reason: str, event_type: str | None, renames: dict[tuple[str, str], str]) -> str:
    family, _, field = reason.partition(":")
    renamed = renames.get((event_type or "", field)) if family == "missing_field" else None
    if renamed:
        return (
            f"these lines carry data.{renamed} instead of the required data.{field}: "
            f"rename {renamed} back to {field} in the feed (or map it in the adapter); then "
            "re-send the corrected lines (`omsi quarantine export`)"
        )
    return advice_for(reason, event_type)


def batch_alerts(
    con: duckdb.DuckDBPyConnection,
    batch_ids: list[int],
    share: float = SHARE,
    renames: dict[tuple[str, str], str] | None = None,
) -> list[QuarantineAlert]:
    """Every (file, reason) and (event type, reason) of `batch_ids` over `share` of its lines.

    `renames` maps (event type, missing required field) to the unknown field that schema drift
    found on the same lines, so that the advice names it.
    """
    renames = renames or {}
    if not batch_ids:
        return []
    rows = con.execute(
        """
        with q as (
            select * from raw.quarantine where batch_id in (select unnest($batches::bigint[]))
        ),
        file_lines as (
            select file, sum(lines_read) as lines from raw.ingest_files
            where batch_id in (select unnest($batches::bigint[])) group by all
        ),
        type_lines as (
            select event_type, sum(n) as lines from (
                select event_type, count(*) as n from raw.events
                where batch_id in (select unnest($batches::bigint[])) group by all
                union all
                select event_type, count(*) from q where event_type is not null group by all
            ) group by all
        ),
        grouped as (
            select 'file' as scope, q.file as name, reason, count(*) as quarantined,
                any_value(l.lines) as lines, min(q.file || chr(0) || lpad(q.line_no::varchar, 20, '0'))
                    as first_key,
            from q join file_lines as l using (file)
            group by all
            union all
            select 'event_type', q.event_type, reason, count(*), any_value(l.lines),
                min(q.file || chr(0) || lpad(q.line_no::varchar, 20, '0')),
            from q join type_lines as l using (event_type)
            group by all
        )
        select g.scope, g.name, g.reason, g.quarantined, g.lines, e.file, e.line_no, e.detail,
            e.raw, e.event_type,
        from grouped as g
        join q as e on e.file || chr(0) || lpad(e.line_no::varchar, 20, '0') = g.first_key
            and e.reason = g.reason
        where g.quarantined > $share * g.lines
        qualify row_number() over (partition by g.scope, g.name, g.reason order by e.batch_id) = 1
        order by g.quarantined desc, g.scope, g.name
        """,
        {"batches": batch_ids, "share": share},
    ).fetchall()
    return [
        QuarantineAlert(
            scope,
            name,
            reason,
            quarantined,
            lines,
            file,
            line_no,
            detail,
            raw,
            _advice(reason, event_type, renames),
        )
        for scope, name, reason, quarantined, lines, file, line_no, detail, raw, event_type in rows
    ]


def alerts_section(alerts: list[QuarantineAlert]) -> str:
    """The loud part of a batch's summary; '' when no reason takes a large share."""
    if not alerts:
        return ""
    lines = [
        f"WARNING: {len(alerts)} large quarantine share(s): over {SHARE:.0%} of a file or an "
        "event type for one reason. The feed (or its adapter) needs a change:"
    ]
    lines += [f"  {a.describe()}" for a in alerts]
    return "\n".join(lines)
