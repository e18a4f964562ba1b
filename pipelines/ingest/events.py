"""Land one chunk of event lines: classify every line in SQL, then write each to exactly one place.

A line ends as `landed` (raw.events), `duplicate` (same event_id and same content as an event
already landed; counted, not stored twice) or `quarantined` (raw.quarantine with its reason).
The first copy of an event_id wins: earlier files (in path order) and earlier lines first.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import duckdb
import pyarrow as pa

from pipelines.contract.sql_rules import compile_contract


@dataclass
class Outcome:
    lines_read: int = 0
    landed: int = 0
    duplicates: int = 0
    quarantined: int = 0

    def add(self, other: Outcome) -> None:
        self.lines_read += other.lines_read
        self.landed += other.landed
        self.duplicates += other.duplicates
        self.quarantined += other.quarantined


def _list(paths: list[str]) -> str:
    return "[" + ", ".join(f"'{p}'" for p in paths) + "]"


@cache
def classify_sql() -> str:
    """One query that turns `incoming(line_no, raw, pre_reason)` into typed, judged rows."""
    contract = compile_contract()
    data_case = " ".join(
        f"when '{event_type}' then json_extract(raw, {_list(paths)})"
        for event_type, paths in contract.data_paths.items()
    )
    return f"""
    with lines as (
        select
            line_no,
            raw,
            pre_reason,
            -- json_type raises on malformed text, so only ask once json_valid said yes
            pre_reason is null
                and coalesce(case when json_valid(raw) then json_type(raw) = 'OBJECT' end, false)
                as is_object,
        from incoming
    ),
    with_envelope as (
        select *, case when is_object then json_extract(raw, {_list(contract.envelope_paths)}) end as env,
        from lines
    ),
    with_type as (
        select *, case when json_type(env[2]) = 'VARCHAR' then json_extract_string(env[2], '$') end
            as event_type,
        from with_envelope
    ),
    with_data as (
        select *, case event_type {data_case} end as d,
        from with_type
    )
    select
        line_no,
        raw,
        case
            when pre_reason is not null then pre_reason
            when not is_object then 'invalid_json'
            else {contract.reason_sql()}
        end as reason,
        case
            when pre_reason is not null then 'the line is not valid UTF-8 text'
            when not is_object then 'the line is not a JSON object'
            else {contract.detail_sql()}
        end as detail,
        json_extract_string(env[1], '$') as event_id,
        event_type,
        timezone('UTC', try_cast(upper(json_extract_string(env[3], '$')) as timestamptz)) as occurred_at,
        json_extract_string(env[4], '$') as source,
        try_cast(env[5] as integer) as schema_version,
        json_extract_string(env[6], '$.order_id') as order_id,
        env[6] as data,
        -- minified, so re-sent copies that differ only in whitespace still count as duplicates
        md5(case when is_object then json_extract(raw, '$')::varchar else raw end) as content_hash,
    from with_data
    """


def land_chunk(
    con: duckdb.DuckDBPyConnection, incoming: pa.Table, *, file: str, batch_id: int
) -> Outcome:
    """Classify and land one chunk of one file inside the caller's transaction."""
    # A failed statement aborts the caller's transaction, so unregister only on success; the
    # next register replaces the name anyway.
    con.register("incoming", incoming)
    con.execute(f"create or replace temp table checked as {classify_sql()}")
    con.unregister("incoming")
    con.execute(
        """
        create or replace temp table judged as
        with valid as (
            select
                *,
                row_number() over (partition by event_id order by line_no) as copy_no,
                first_value(content_hash) over (partition by event_id order by line_no) as first_hash,
                first_value(line_no) over (partition by event_id order by line_no) as first_line,
            from checked
            where reason is null
        ),
        judged_valid as (
            select
                v.*,
                case
                    when e.event_id is not null and e.content_hash = v.content_hash then 'duplicate'
                    when e.event_id is not null then 'conflict'
                    when v.copy_no = 1 then 'landed'
                    when v.content_hash = v.first_hash then 'duplicate'
                    else 'conflict'
                end as outcome,
                e.file as earlier_file,
                e.line_no as earlier_line,
            from valid as v
            left join raw.events as e on e.event_id = v.event_id
        )
        select
            * exclude (copy_no, first_hash, first_line, outcome, earlier_file, earlier_line, reason, detail),
            case when outcome = 'conflict' then 'conflicting_duplicate' end as reason,
            case when outcome = 'conflict' then
                'event_id ' || event_id || ' already landed with different content from '
                || coalesce(earlier_file, $file) || ' line ' || coalesce(earlier_line, first_line)
            end as detail,
            outcome,
        from judged_valid
        union all by name
        select *, 'quarantined' as outcome from checked where reason is not null
        """,
        {"file": file},
    )
    con.execute(
        """
        insert into raw.events
        select event_id, event_type, occurred_at, source, schema_version, order_id, data,
               content_hash, $file, line_no, $batch, now()::timestamp
        from judged
        where outcome = 'landed'
        """,
        {"file": file, "batch": batch_id},
    )
    # A line quarantined by an earlier read of the same file is not stored again.
    con.execute(
        """
        insert into raw.quarantine
        select $batch, $file, j.line_no, j.raw, j.reason, j.detail, j.event_id, j.event_type,
               md5(j.raw), now()::timestamp
        from judged as j
        where j.outcome in ('quarantined', 'conflict')
          and not exists (
              select 1 from raw.quarantine as q
              where q.file = $file and q.line_no = j.line_no and q.raw_hash = md5(j.raw)
          )
        """,
        {"file": file, "batch": batch_id},
    )
    counts = dict(con.execute("select outcome, count(*) from judged group by all").fetchall())
    return Outcome(
        lines_read=incoming.num_rows,
        landed=counts.get("landed", 0),
        duplicates=counts.get("duplicate", 0),
        quarantined=counts.get("quarantined", 0) + counts.get("conflict", 0),
    )
