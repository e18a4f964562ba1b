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

from pipelines.contract.sql_rules import Rule, compile_contract


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


def _by_type(cases: dict[str, str]) -> str:
    whens = "\n        ".join(f"when '{t}' then {sql}" for t, sql in cases.items())
    return f"case event_type\n        {whens}\n    end"


def _reason(rule: Rule) -> str:
    return "'" + rule.reason + "'"


def _detail(rule: Rule) -> str:
    return rule.detail


@cache
def classify_sql() -> list[str]:
    """Statements that turn `incoming(line_no, raw, pre_reason)` into the table `checked`.

    Lines go through three scopes (see pipelines.contract.sql_rules): the envelope for every
    line, the data fields of its type for lines with a sound envelope, and the items of array
    fields, unnested, for lines whose data passed. Details (sentences for people) are computed
    only for lines that fail.
    """
    contract = compile_contract()
    et, es = contract.envelope.lists_sql("raw")
    data_lists = {t: scope.lists_sql("raw") for t, scope in contract.data.items()}
    dt = _by_type({t: lists[0] for t, lists in data_lists.items()})
    ds = _by_type({t: lists[1] for t, lists in data_lists.items()})
    data_reason = _by_type({t: s.case_sql(_reason) for t, s in contract.data.items()})
    data_detail = _by_type({t: s.case_sql(_detail) for t, s in contract.data.items()})
    item_queries = []
    for i, scope in enumerate(contract.items):
        it, ix = scope.lists_sql("item")
        rule_no = scope.case_sql(lambda rule, scope=scope: str(scope.rules.index(rule) + 1))
        item_queries.append(f"""
        select line_no, {i} as scope_no, rule_no,
            case when rule_no is not null then {scope.case_sql(_detail)} end as detail,
        from (
            select line_no, item, {it} as it, {ix} as ix, {rule_no} as rule_no,
            from (
                select line_no, unnest(json_extract(raw, '{scope.array_path}[*]')) as item,
                from lines_checked
                where event_type = '{scope.event_type}'
                    and envelope_reason is null and data_reason is null
            )
        )
        where rule_no is not null""")
    item_reasons = (
        "["
        + ", ".join(
            "[" + ", ".join(_reason(r) for r in scope.rules) + "]" for scope in contract.items
        )
        + "]"
    )
    return [
        f"""
        create or replace temp table lines_checked as
        with objects as (
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
            select
                *,
                case when is_object then {et} end as et,
                case when is_object then {es} end as es,
                case when et[2] = 'VARCHAR' then es[2] end as event_type,
            from objects
        ),
        envelope_checked as (
            select
                *,
                case
                    when pre_reason is not null then pre_reason
                    when not is_object then 'invalid_json'
                    else {contract.envelope.case_sql(_reason)}
                end as envelope_reason,
            from with_envelope
        ),
        with_data as (
            select
                *,
                case when envelope_reason is null then {dt} end as dt,
                case when envelope_reason is null then {ds} end as ds,
            from envelope_checked
        )
        select *, case when envelope_reason is null then {data_reason} end as data_reason,
        from with_data
        """,
        f"""
        create or replace temp table failed_items as
        select line_no, arg_min(scope_no, rule_no) as scope_no, min(rule_no) as rule_no,
            arg_min(detail, rule_no) as detail,
        from ({" union all ".join(item_queries)})
        group by line_no
        """,
        f"""
        create or replace temp table checked as
        with judged as (
            select
                c.*,
                coalesce(
                    c.envelope_reason,
                    c.data_reason,
                    {item_reasons}[f.scope_no + 1][f.rule_no]
                ) as reason,
                f.detail as item_detail,
            from lines_checked as c
            left join failed_items as f using (line_no)
        )
        select
            line_no,
            raw,
            reason,
            case
                when reason is null then null
                when pre_reason is not null then 'the line is not valid UTF-8 text'
                when not is_object then 'the line is not a JSON object'
                when envelope_reason is not null then {contract.envelope.case_sql(_detail)}
                when item_detail is not null then item_detail
                else {data_detail}
            end as detail,
            es[1] as event_id,
            event_type,
            timezone('UTC', try_cast(upper(es[3]) as timestamptz)) as occurred_at,
            es[4] as source,
            try_cast(es[5] as integer) as schema_version,
            case when reason is null then json_extract_string(es[6], '$.order_id') end as order_id,
            case when reason is null then es[6] end as data,
            -- minified, so re-sent copies differing only in whitespace still count as duplicates
            md5(case when reason is null then json_extract(raw, '$')::varchar else raw end)
                as content_hash,
        from judged
        """,
    ]


def land_chunk(
    con: duckdb.DuckDBPyConnection, incoming: pa.Table, *, file: str, batch_id: int
) -> Outcome:
    """Classify and land one chunk of one file inside the caller's transaction."""
    # A failed statement aborts the caller's transaction, so unregister only on success; the
    # next register replaces the name anyway.
    con.register("incoming", incoming)
    for statement in classify_sql():
        con.execute(statement)
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
