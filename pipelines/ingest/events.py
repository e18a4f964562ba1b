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
import pyarrow.compute as pc

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
    """Statements that turn `incoming(row_id, raw, pre_reason)` into the view `checked`.

    Each line is parsed twice in all: one `json_type` and one `json_extract_string` over every
    path any rule reads (see pipelines.contract.sql_rules). Envelope and data rules run on those
    lists; line items are unnested from the extracted `lines` text for the lines that passed so
    far. Most lines are valid, so the sentences for people are worked out afterwards, only for
    the lines that failed (`explain_sql`).
    """
    contract = compile_contract()
    paths = "[" + ", ".join(f"'{p}'" for p in contract.line_paths) + "]"

    def at(path: str) -> str:
        return f"ls[{contract.position(path)}]"

    envelope_reason = contract.envelope.case_sql(_reason)
    data_reason = _by_type({t: scope.case_sql(_reason) for t, scope in contract.data.items()})
    item_queries = []
    for i, scope in enumerate(contract.items):
        it, ix = scope.lists_sql("item")
        rule_no = scope.case_sql(lambda rule, scope=scope: str(scope.rules.index(rule) + 1))
        item_queries.append(f"""
        select row_id, {i} as scope_no, rule_no,
            case when rule_no is not null then {scope.case_sql(_detail)} end as detail,
        from (
            select row_id, item, {it} as it, {ix} as ix, {rule_no} as rule_no,
            from (
                select row_id, unnest(json_extract(lines, '$[*]')) as item,
                from lines_checked
                where event_type = '{scope.event_type}' and reason is null
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
        # 1. Envelope and data rules, in one pass over the lines.
        f"""
        create or replace temp table lines_checked as
        with parsed as (
            select
                row_id,
                pre_reason,
                -- NULL for text that is not JSON at all (json_type raises on it)
                case when pre_reason is null then try(json_type(raw, {paths})) end as lt,
                case when lt[1] = 'OBJECT' then json_extract_string(raw, {paths}) end as ls,
            from incoming
        ),
        typed as (
            select *, case when lt[{contract.position("$.event_type")}] = 'VARCHAR'
                then {at("$.event_type")} end as event_type,
            from parsed
        )
        select
            row_id,
            case
                when pre_reason is not null then pre_reason
                when lt[1] is distinct from 'OBJECT' then 'invalid_json'
                else coalesce({envelope_reason}, {data_reason})
            end as reason,
            event_type,
            {at("$.event_id")} as event_id,
            {at("$.occurred_at")} as occurred_at,
            {at("$.source")} as source,
            {at("$.schema_version")} as schema_version,
            {at("$.data")} as data,
            {at("$.data.order_id")} as order_id,
            {at("$.data.lines")} as lines,
        from typed
        """,
        # 2. Line items, unnested, for the lines that passed so far.
        f"""
        create or replace temp table failed_items as
        select row_id, arg_min(scope_no, rule_no) as scope_no, min(rule_no) as rule_no,
            arg_min(detail, rule_no) as detail,
        from ({" union all ".join(item_queries)})
        group by row_id
        """,
        # 3. The verdict and the typed envelope of every line.
        f"""
        create or replace temp view checked as
        select
            c.row_id,
            coalesce(c.reason, {item_reasons}[f.scope_no + 1][f.rule_no]) as reason,
            f.detail as item_detail,
            c.event_id,
            c.event_type,
            timezone('UTC', try_cast(upper(c.occurred_at) as timestamptz)) as occurred_at,
            c.source,
            try_cast(c.schema_version as integer) as schema_version,
            c.order_id,
            c.data,
            -- What is stored, so the same event re-sent with other whitespace, key spacing or
            -- offset notation for the same instant counts as a duplicate, not a conflict.
            md5(concat_ws('|', c.event_type, occurred_at, c.source, schema_version, c.data))
                as content_hash,
        from lines_checked as c
        left join failed_items as f using (row_id)
        """,
    ]


@cache
def explain_sql() -> str:
    """The view `explained`: a sentence for people for each line `judged` quarantined."""
    contract = compile_contract()
    paths = "[" + ", ".join(f"'{p}'" for p in contract.line_paths) + "]"
    envelope_reason = contract.envelope.case_sql(_reason)
    return f"""
        create or replace temp view explained as
        select
            row_id,
            case
                when pre_reason = 'invalid_encoding' then 'the line is not valid UTF-8 text'
                when pre_reason is not null then 'the line is not standard JSON (RFC 8259)'
                when lt[1] is distinct from 'OBJECT' then 'the line is not a JSON object'
                when {envelope_reason} is not null then {contract.envelope.case_sql(_detail)}
                else {_by_type({t: scope.case_sql(_detail) for t, scope in contract.data.items()})}
            end as detail,
        from (
            select
                l.row_id,
                l.pre_reason,
                q.event_type,
                case when l.pre_reason is null then try(json_type(l.raw, {paths})) end as lt,
                case when lt[1] = 'OBJECT' then json_extract_string(l.raw, {paths}) end as ls,
            from (select row_id, event_type from judged where outcome = 'quarantined') as q
            join incoming as l using (row_id)
        )
        """


def land_chunk(
    con: duckdb.DuckDBPyConnection, incoming: pa.Table, files: list[str], *, batch_id: int
) -> dict[int, Outcome]:
    """Classify and land one chunk, which may span several files, inside the caller's transaction.

    `incoming` has `file_no` (an index into `files`), `line_no`, `raw` and `pre_reason`, in file
    order then line order; that order decides which copy of an event_id comes first.
    """
    # A failed statement aborts the caller's transaction, so unregister only on success; the
    # next register replaces the names anyway.
    numbered = incoming.append_column("row_id", pa.array(range(incoming.num_rows), pa.int64()))
    # DuckDB scans an Arrow table one record batch per thread: small batches keep both cores busy.
    numbered = pa.Table.from_batches(numbered.to_batches(max_chunksize=16_384))
    con.register("incoming", numbered)
    con.register("chunk_files", pa.table({"file_no": list(range(len(files))), "file": files}))
    for statement in classify_sql():
        con.execute(statement)
    con.execute(
        """
        create or replace temp table judged as
        with located as materialized (
            select c.*, l.file_no, l.line_no, f.file,
            from checked as c
            join incoming as l using (row_id)
            join chunk_files as f using (file_no)
        ),
        valid as (
            select
                *,
                row_number() over (partition by event_id order by row_id) as copy_no,
                first_value(content_hash) over (partition by event_id order by row_id) as first_hash,
                first_value(file) over (partition by event_id order by row_id) as first_file,
                first_value(line_no) over (partition by event_id order by row_id) as first_line,
            from located
            where reason is null
        ),
        judged_valid as (
            select
                v.* exclude (reason, item_detail),
                case
                    when e.event_id is not null and e.content_hash = v.content_hash then 'duplicate'
                    when e.event_id is not null then 'conflict'
                    when v.copy_no = 1 then 'landed'
                    when v.content_hash = v.first_hash then 'duplicate'
                    else 'conflict'
                end as outcome,
                coalesce(e.file, v.first_file) as earlier_file,
                coalesce(e.line_no, v.first_line) as earlier_line,
            from valid as v
            left join raw.events as e on e.event_id = v.event_id
        )
        select
            * exclude (copy_no, first_hash, first_file, first_line, earlier_file, earlier_line),
            case when outcome = 'conflict' then 'conflicting_duplicate' end as reason,
            case when outcome = 'conflict' then
                'event_id ' || event_id || ' already landed with different content from '
                || earlier_file || ' line ' || earlier_line
            end as detail,
        from judged_valid
        union all by name
        select * exclude (item_detail), item_detail as detail, 'quarantined' as outcome,
        from located
        where reason is not null
        """
    )
    con.execute(
        """
        insert into raw.events
        select event_id, event_type, occurred_at, source, schema_version, order_id, data,
               content_hash, file, line_no, $batch, now()::timestamp
        from judged
        where outcome = 'landed'
        """,
        {"batch": batch_id},
    )
    con.execute(explain_sql())
    # A line quarantined by an earlier read of the same file is not stored again.
    con.execute(
        """
        insert into raw.quarantine
        select $batch, j.file, j.line_no, l.raw, j.reason, coalesce(j.detail, x.detail),
               j.event_id, j.event_type, md5(l.raw), now()::timestamp
        from judged as j
        join incoming as l using (row_id)
        left join explained as x using (row_id)
        where j.outcome in ('quarantined', 'conflict')
          and not exists (
              select 1 from raw.quarantine as q
              where q.file = j.file and q.line_no = j.line_no and q.raw_hash = md5(l.raw)
          )
        order by j.row_id
        """,
        {"batch": batch_id},
    )
    con.unregister("incoming")
    con.unregister("chunk_files")
    # Lines read come from what the reader handed over, not from the verdicts, so that the
    # reconciliation checks the verdicts rather than restating them.
    read = pc.value_counts(incoming.column("file_no")).to_pylist()
    outcomes = {i: Outcome() for i in range(len(files))}
    for pair in read:
        outcomes[pair["values"]].lines_read = pair["counts"]
    for file_no, outcome, count in con.execute(
        "select file_no, outcome, count(*) from judged group by all"
    ).fetchall():
        found = outcomes[file_no]
        if outcome == "landed":
            found.landed += count
        elif outcome == "duplicate":
            found.duplicates += count
        else:
            found.quarantined += count
    return outcomes
