"""`omsi quarantine`: what was quarantined, why, sample lines, and an export to fix and re-send.

A quarantined line stays in `raw.quarantine` for good (nothing read is ever dropped); it is
*resolved* once a corrected copy lands in a later batch, and *open* until then. A corrected line
is recognised by its event_id (a quarantined event's id never landed, so re-sending it lands
it); a line without a readable event_id (broken JSON, a reference row) by a later batch landing
a row at the same file and line. A `conflicting_duplicate` stays open: its event_id belongs to
the first copy, and a changed event needs a new id.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import duckdb

# Every quarantined line with whether a later batch landed its correction.
_STATUS = """
    with landed_places as (
        select file, line_no, batch_id from raw.events
        union all select file, line_no, batch_id from raw.nodes
        union all select file, line_no, batch_id from raw.skus
        union all select file, line_no, batch_id from raw.carriers
    ),
    status as (
        select
            q.*,
            case
                when q.event_id is not null then exists (
                    select 1 from raw.events as e
                    where e.event_id = q.event_id and e.batch_id > q.batch_id
                )
                else exists (
                    select 1 from landed_places as p
                    where p.file = q.file and p.line_no = q.line_no and p.batch_id > q.batch_id
                )
            end as is_resolved,
        from raw.quarantine as q
    )
"""


@dataclass(frozen=True)
class ReasonCount:
    reason: str
    event_types: str  # the event types (or reference files) it hit, comma-separated
    open: int
    resolved: int
    files: int


@dataclass(frozen=True)
class QuarantinedLine:
    batch_id: int
    file: str
    line_no: int
    reason: str
    detail: str | None
    event_id: str | None
    raw: str
    is_resolved: bool


def open_count(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """(open, total) quarantined lines."""
    return con.execute(
        _STATUS + "select count(*) filter (where not is_resolved), count(*) from status"
    ).fetchall()[0]


def reasons(con: duckdb.DuckDBPyConnection) -> list[ReasonCount]:
    """Every reason with its open and resolved lines, the most open first."""
    rows = con.execute(
        _STATUS
        + """
        select
            reason,
            string_agg(distinct coalesce(event_type, regexp_extract(file, '[^/]*$')), ', '
                order by coalesce(event_type, regexp_extract(file, '[^/]*$'))),
            count(*) filter (where not is_resolved),
            count(*) filter (where is_resolved),
            count(distinct file),
        from status
        group by reason
        order by 3 desc, 4 desc, reason
        """
    ).fetchall()
    return [ReasonCount(*row) for row in rows]


def quarantined_lines(
    con: duckdb.DuckDBPyConnection,
    reason: str | None = None,
    *,
    include_resolved: bool = False,
    limit: int | None = None,
) -> list[QuarantinedLine]:
    """Lines of one reason (any when None), in file and line order; open ones unless asked."""
    rows = con.execute(
        _STATUS
        + """
        select batch_id, file, line_no, reason, detail, event_id, raw, is_resolved
        from status
        where ($reason is null or reason = $reason) and ($all or not is_resolved)
        order by file, line_no, batch_id
        limit coalesce($limit, 9223372036854775807)
        """,
        {"reason": reason, "all": include_resolved, "limit": limit},
    ).fetchall()
    return [QuarantinedLine(*row) for row in rows]


def export_lines(lines: list[QuarantinedLine], out: Path) -> None:
    """Write lines to fix and re-send: the raw lines as received (`.jsonl`), or a table (`.csv`).

    The `.jsonl` file holds event lines exactly as they arrived, one per line, so that an
    integrator corrects them and drops the file into the landing folder: their event_ids never
    landed, so the corrected lines land. Reference rows need their CSV's header: export to
    `.csv` to see them with their file and line.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".csv":
        with out.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["file", "line_no", "reason", "detail", "event_id", "raw"])
            for line in lines:
                writer.writerow(
                    [line.file, line.line_no, line.reason, line.detail, line.event_id, line.raw]
                )
        return
    with out.open("w", encoding="utf-8", newline="\n") as handle:
        for line in lines:
            # A CSV row may span lines; a JSONL file holds one record per line.
            handle.write(line.raw.replace("\r", " ").replace("\n", " ") + "\n")
