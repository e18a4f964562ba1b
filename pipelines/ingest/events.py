"""Land one chunk of event lines: classify every line in SQL, then write each to exactly one place.

A line ends as `landed` (raw.events), `duplicate` (same event_id and same content as an event
already landed; counted, not stored twice), `resumed` (this very line, same file, line and
content, landed by an earlier batch cut short before it finished the file) or `quarantined`
(raw.quarantine with its reason). The first copy of an event_id wins: earlier files (in path
order) and earlier lines first.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import duckdb
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.contract.sql_rules import CompiledContract, Rule, compile_contract
from pipelines.ingest import string_views
from pipelines.ingest.landed_keys import LandedKeys, register_candidates
from pipelines.ingest.schema_drift import chunk_drift_sql


@dataclass
class LineCounts:
    lines_read: int = 0
    landed: int = 0
    duplicates: int = 0
    resumed: int = 0
    quarantined: int = 0

    def add(self, other: LineCounts) -> None:
        self.lines_read += other.lines_read
        self.landed += other.landed
        self.duplicates += other.duplicates
        self.resumed += other.resumed
        self.quarantined += other.quarantined

    @property
    def reconciles(self) -> bool:
        """Every line read has exactly one outcome."""
        return self.lines_read == self.landed + self.duplicates + self.resumed + self.quarantined


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _by_type(cases: dict[str, str]) -> str:
    if not cases:
        return "null"
    whens = "\n        ".join(f"when {_lit(t)} then {sql}" for t, sql in cases.items())
    return f"case event_type\n        {whens}\n    end"


def _reason(rule: Rule) -> str:
    return _lit(rule.reason)


def _detail(rule: Rule) -> str:
    return rule.detail


# Read with every line besides the envelope: data.order_id, landed for every type that has one
# (unknown fields included), the key of incremental builds.
_CARRIED = ("$.data.order_id",)


def _contract() -> CompiledContract:
    return compile_contract(_CARRIED)


def grouped_by_type(cursor: duckdb.DuckDBPyConnection, lines: pa.Table) -> pa.Table:
    """The chunk's lines numbered (`row_id`: file order, then line order) and grouped by type.

    `line_type` is the line's event_type as text ('' when it has none, NULL when the line is not
    standard JSON), read before anything else so that the classification parses each line for
    its own type's fields alone. Grouping matters as much: DuckDB evaluates a `case` a vector
    (2,048 lines) at a time, with a pass through each event type's rules present in the vector,
    so lines of one type together cost one pass where mixed lines cost up to nineteen (a third
    less time to classify a chunk, measured). `cursor` is the caller's own: this runs in the
    reader thread.
    """
    numbered = lines.append_column("row_id", pa.array(np.arange(lines.num_rows)))
    cursor.register("lines", numbered.select(["row_id", "raw", "pre_reason"]))
    order = cursor.sql(
        """
        select row_id, line_type, line_type is not null and nonstandard as suspect, from (
            select
                row_id,
                -- try: the JSON functions raise on text that is not JSON. One parse, where
                -- json_valid first would parse every line twice.
                case when pre_reason is null then
                    try(coalesce(json_extract_string(raw, '$.event_type'), ''))
                end as line_type,
                -- DuckDB's JSON functions accept NaN, Infinity and trailing commas, which
                -- RFC 8259 (and every strict consumer downstream) rejects. Lines that might hold
                -- them are few; a strict parser looks at just those.
                contains(raw, 'NaN') or contains(raw, 'Infinity')
                    or regexp_matches(raw, ',\\s*[\\]}]') as nonstandard,
            from lines
        )
        order by line_type, row_id
        """
    ).to_arrow_table()
    cursor.unregister("lines")
    raw = numbered.schema.get_field_index("raw")
    numbered = numbered.set_column(raw, "raw", string_views.to_views(numbered.column("raw")))
    grouped = string_views.take(numbered, order.column("row_id").to_numpy())
    grouped = grouped.append_column("line_type", order.column("line_type"))
    grouped = _strict_json(grouped, np.flatnonzero(order.column("suspect").to_numpy()))
    # DuckDB scans an Arrow table one record batch per thread: small batches keep both cores busy.
    return pa.Table.from_batches(grouped.to_batches(max_chunksize=16_384), grouped.schema)


def _strict_json(lines: pa.Table, suspects: np.ndarray) -> pa.Table:
    """`lines` with those of `suspects` that are not standard JSON marked invalid_json."""
    raw = lines.column("raw")
    rejected = np.zeros(lines.num_rows, dtype=bool)
    for i in suspects.tolist():
        try:
            orjson.loads(raw[i].as_py())
        except orjson.JSONDecodeError:
            rejected[i] = True
    if not rejected.any():
        return lines
    mask = pa.array(rejected)
    for name, value in (("pre_reason", "invalid_json"), ("line_type", None)):
        marked = pc.if_else(mask, pa.scalar(value, pa.string()), lines.column(name))
        lines = lines.set_column(lines.schema.get_field_index(name), name, marked)
    return lines


def _lines_sql(source: str, event_types: tuple[str, ...] | None = None) -> str:
    """Lines of `source(row_id, file_no, line_no, raw, pre_reason, line_type)` with their lists.

    `lt`/`ls` hold the JSON types and texts of the envelope's fields, the carried ones and those
    of the line's own event type (of `event_types` only, when given). `envelope_reason` is the
    first envelope rule the line breaks; a line's first failing rule is an envelope rule when
    there is one.
    """
    contract = _contract()
    types, texts = contract.line_lists_sql("raw", "line_type", event_types)
    event_type = contract.position("$.event_type")
    # One list per subquery: an expression that names a sibling's alias gets a copy of it.
    return f"""
        parsed as (
            select *, case when line_type is not null then {types} end as lt,
            from {source}
        ),
        extracted as (
            select * exclude (raw), case when lt[1] = 'OBJECT' then {texts} end as ls,
            from parsed
        ),
        typed as (
            select
                *,
                case when lt[{event_type}] = 'VARCHAR' then ls[{event_type}] end as event_type,
                case
                    when pre_reason is not null then pre_reason
                    when lt[1] is distinct from 'OBJECT' then 'invalid_json'
                    else {contract.envelope.case_sql(_reason)}
                end as envelope_reason,
            from extracted
        )"""


@cache
def classify_sql() -> str:
    """The table `checked`: every line of `incoming` with its reason (NULL: valid) and envelope.

    `incoming` comes from `grouped_by_type`. Each line is parsed twice for its lists (see
    pipelines.contract.sql_rules); items of array fields are checked in lambdas over the line's
    items, only for the lines that passed so far. Most lines are valid, so the sentences for
    people are worked out afterwards, only for the lines that failed (`explain_sql`).
    """
    contract = _contract()
    data_reason = _by_type({t: scope.case_sql(_reason) for t, scope in contract.data.items()})
    item_reason = _by_type(
        {
            scope.event_type: (
                "[" + ", ".join(_reason(r) for r in scope.rules) + "]"
                f"[list_min(list_transform({contract.items_sql(scope)}, "
                f"lambda item: {scope.case_sql(lambda r, s=scope: str(s.rules.index(r) + 1))}))]"
            )
            for scope in contract.items
        }
    )
    at = contract.position
    return f"""
        create or replace temp table checked as
        with {_lines_sql("incoming")},
        line_checked as (
            select *, coalesce(envelope_reason, {data_reason}) as line_reason,
            from typed
        ),
        item_checked as (
            select
                row_id, file_no, line_no, event_type, ls,
                lt[{contract.position("$.data")}] = 'OBJECT' as data_is_object,
                case
                    when line_reason is not null then line_reason
                    else {item_reason}
                end as reason,
                line_reason is null as passed_line_rules,
            from line_checked
        ),
        columns as (
            select
                row_id,
                file_no,
                line_no,
                reason,
                passed_line_rules,
                data_is_object,
                ls[{at("$.event_id")}] as event_id,
                event_type,
                timezone('UTC', try_cast(upper(ls[{at("$.occurred_at")}]) as timestamptz))
                    as occurred_at,
                ls[{at("$.source")}] as source,
                try_cast(ls[{at("$.schema_version")}] as integer) as schema_version,
                -- optional in service.contact, where an empty string means unknown
                nullif(ls[{at("$.data.order_id")}], '') as order_id,
                ls[{at("$.data")}] as data,
            from item_checked
        )
        select
            *,
            -- Over the values as landed: the instant in UTC whatever offset it was sent with,
            -- and `data` as DuckDB writes it out, so a re-send with other whitespace or key
            -- spacing counts as a duplicate, not a conflict. 64 bits: two copies of an event_id
            -- with other content collide once in 2^64.
            case when reason is null then
                hash(event_type, occurred_at, source, schema_version, data)
            end as content_hash,
        from columns
        """


@cache
def explain_sql(event_types: tuple[str, ...]) -> str:
    """The table `explained`: a sentence for people for each of `failed_lines` that broke a rule.

    Only the rules of `event_types`, the types of the failed lines, are spelled out: planning the
    sentences of all nineteen types costs more than running them on a chunk's few failed lines.
    """
    contract = _contract()
    envelope = contract.envelope
    event_types = tuple(t for t in event_types if t in contract.data)  # unknown types have none
    data = {t: scope for t, scope in contract.data.items() if t in event_types}
    data_detail = _by_type({t: scope.case_sql(_detail) for t, scope in data.items()})
    # The earliest rule any item breaks, and of the items breaking it the first.
    item_detail = _by_type(
        {
            scope.event_type: (
                f"list_min(list_transform({contract.items_sql(scope)}, lambda item, i: "
                f"{{'rule': {scope.case_sql(lambda r, s=scope: str(s.rules.index(r) + 1))}, "
                f"'item': i, 'detail': {scope.case_sql(_detail)}}})).detail"
            )
            for scope in contract.items
            if scope.event_type in event_types
        }
    )
    quarantined = """(
        select l.*, c.passed_line_rules,
        from failed_lines as l
        join checked as c using (row_id)
        where c.reason is not null
    )"""
    return f"""
        create or replace temp table explained as
        with {_lines_sql(quarantined, event_types)}
        select
            row_id,
            case
                when pre_reason = 'invalid_encoding' then 'the line is not valid UTF-8 text'
                when pre_reason is not null then 'the line is not standard JSON (RFC 8259)'
                when lt[1] is distinct from 'OBJECT' then 'the line is not a JSON object'
                when envelope_reason is not null then {envelope.case_sql(_detail)}
                when not passed_line_rules then {data_detail}
                else {item_detail}
            end as detail,
        from typed
        """


@cache
def _judge_copies_sql(any_landed: bool) -> str:
    """The table `judged`: the outcome of each valid line that has another copy.

    Only lines whose event_id has another copy (in the warehouse, or more than one in this
    chunk) need ordering; every other valid line lands. Such lines are among the `candidates`
    (row_ids whose key has landed or repeats in the chunk, see `register_candidates`), and only
    their copies are read from raw.events; none at all when no candidate's key has landed.
    """
    return f"""
    create or replace temp table judged as
    with valid as (
        select row_id, file_no, line_no, event_id, content_hash,
        from checked
        semi join candidates using (row_id)
        where reason is null
    ),
    landed as (
        select event_id, content_hash, file, line_no, batch_id, from raw.events
        where {"event_id in (select event_id from valid)" if any_landed else "false"}
    ),
    repeated as (
        select event_id from valid group by event_id having count(*) > 1
    ),
    contested as (
        select v.*, e.content_hash as landed_hash, e.file as landed_file,
            e.line_no as landed_line,
            -- This very line, landed by a batch that never finished its file (it was cut
            -- short after a chunk committed): the rerun resumes it, nobody re-sent it.
            e.file = f.file and e.line_no = v.line_no and not exists (
                select 1 from raw.ingest_files as done
                where done.batch_id = e.batch_id and done.file = e.file
            ) as landed_by_cut_batch,
        from valid as v
        join chunk_files as f using (file_no)
        left join landed as e using (event_id)
        where e.event_id is not null or v.event_id in (select event_id from repeated)
    ),
    ordered as (
        select
            *,
            row_number() over copies as copy_no,
            first_value(content_hash) over copies as first_hash,
            first_value(file_no) over copies as first_file_no,
            first_value(line_no) over copies as first_line,
        from contested
        window copies as (partition by event_id order by row_id)
    )
    select
        o.row_id,
        case
            when o.landed_hash = o.content_hash and o.landed_by_cut_batch then 'resumed'
            when o.landed_hash = o.content_hash then 'duplicate'
            when o.landed_hash is not null then 'conflict'
            when o.copy_no = 1 then 'landed'
            when o.content_hash = o.first_hash then 'duplicate'
            else 'conflict'
        end as outcome,
        case when outcome = 'conflict' then
            'event_id ' || o.event_id || ' already landed with different content from '
            || coalesce(o.landed_file, f.file) || ' line ' || coalesce(o.landed_line, o.first_line)
        end as detail,
    from ordered as o
    left join chunk_files as f on f.file_no = o.first_file_no
    """


_LAND_VALID_SQL = """
    insert into raw.events
    select c.event_id, c.event_type, c.occurred_at, c.source, c.schema_version, c.order_id,
           c.data, c.content_hash, f.file, c.line_no, $batch, now()::timestamp
    from checked as c
    join chunk_files as f using (file_no)
    anti join (select row_id from judged where outcome <> 'landed') using (row_id)
    where c.reason is null
    """

# A line quarantined by an earlier read of the same file is not stored again.
_QUARANTINE_SQL = """
    insert into raw.quarantine
    select $batch, f.file, c.line_no, l.raw, coalesce(c.reason, 'conflicting_duplicate'),
           coalesce(j.detail, x.detail), c.event_id, c.event_type, md5(l.raw),
           now()::timestamp
    from failed_lines as l
    join checked as c using (row_id)
    join chunk_files as f on f.file_no = c.file_no
    left join judged as j using (row_id)
    left join explained as x using (row_id)
    where not exists (
        select 1 from raw.quarantine as q
        where q.file = f.file and q.line_no = c.line_no and q.raw_hash = md5(l.raw)
    )
    order by l.row_id
    """

_VERDICT_COUNTS_SQL = """
    select
        c.file_no,
        case when c.reason is not null then 'quarantined' else coalesce(j.outcome, 'landed') end,
        count(*),
    from checked as c
    left join judged as j using (row_id)
    group by all
    """


@dataclass
class LandedChunk:
    """A chunk's verdict counts per file, and the keys it adds to the landed set on commit."""

    counts: dict[int, LineCounts]
    # Keys of the chunk's valid lines that were not landed before. After the chunk commits,
    # every valid line's event_id is in raw.events: it landed, or it copies one that did.
    new_keys: np.ndarray


def land_chunk(
    con: duckdb.DuckDBPyConnection,
    incoming: pa.Table,
    files: list[str],
    *,
    batch_id: int,
    landed: LandedKeys,
) -> LandedChunk:
    """Classify and land one chunk, which may span several files, inside the caller's transaction.

    `incoming` comes from `grouped_by_type`: `file_no` (an index into `files`), `line_no`, `raw`,
    `pre_reason`, `row_id` and `line_type`. `row_id` gives file order then line order, the order
    that decides which copy of an event_id comes first. `landed` holds the keys of raw.events
    as it stands; the caller adds `new_keys` to it once the transaction commits.
    """
    # A failed statement aborts the caller's transaction, so unregister only on success; the
    # next register replaces the names anyway.
    con.register("incoming", incoming)
    con.register("chunk_files", pa.table({"file_no": list(range(len(files))), "file": files}))
    con.execute(classify_sql())
    con.execute(chunk_drift_sql(), {"batch": batch_id})
    new_keys, any_landed = register_candidates(con, landed)
    con.execute(_judge_copies_sql(any_landed))
    con.execute(_LAND_VALID_SQL, {"batch": batch_id})
    _quarantine_failed(con, incoming, batch_id)
    for name in ("incoming", "chunk_files", "candidates", "failed_lines"):
        con.unregister(name)
    return LandedChunk(_line_counts(con, incoming, len(files)), new_keys)


def _quarantine_failed(con: duckdb.DuckDBPyConnection, incoming: pa.Table, batch_id: int) -> None:
    """Store the chunk's quarantined lines (rule breakers and conflicts) with their reasons."""
    # The few lines that go to quarantine, taken from the chunk in Arrow rather than by another
    # scan of every line's text.
    failed = con.execute(
        """
        select row_id from checked where reason is not null
        union all
        select row_id from judged where outcome = 'conflict'
        """
    ).fetchnumpy()["row_id"]
    # `failed` holds row_ids; lines sit grouped by line_type, so each row_id's place is looked up.
    place = np.empty(incoming.num_rows, dtype=np.int64)
    place[incoming.column("row_id").to_numpy()] = np.arange(incoming.num_rows)
    failed_lines = string_views.take(incoming, place[failed])
    con.register("failed_lines", failed_lines)
    # Planning the explanations costs more than running them: only when a line broke a rule.
    if con.execute("select 1 from checked where reason is not null limit 1").fetchall():
        line_types = pc.unique(failed_lines.column("line_type").drop_null()).to_pylist()
        con.execute(explain_sql(tuple(sorted(line_types))))
    else:
        con.execute("create or replace temp table explained (row_id bigint, detail varchar)")
    con.execute(_QUARANTINE_SQL, {"batch": batch_id})


def _line_counts(
    con: duckdb.DuckDBPyConnection, incoming: pa.Table, file_count: int
) -> dict[int, LineCounts]:
    """Each file's lines read and their verdicts in this chunk."""
    # Lines read come from what the reader handed over, not from the verdicts, so that the
    # reconciliation checks the verdicts rather than restating them.
    read = pc.value_counts(incoming.column("file_no")).to_pylist()
    outcomes = {i: LineCounts() for i in range(file_count)}
    for pair in read:
        outcomes[pair["values"]].lines_read = pair["counts"]
    for file_no, outcome, count in con.execute(_VERDICT_COUNTS_SQL).fetchall():
        found = outcomes[file_no]
        if outcome == "landed":
            found.landed += count
        elif outcome == "duplicate":
            found.duplicates += count
        elif outcome == "resumed":
            found.resumed += count
        else:
            found.quarantined += count
    return outcomes
