"""Land reference CSVs (nodes, skus, carriers): validate every row in SQL, keep the latest per key.

Reference data is a snapshot, so a newer file replaces a key's row (a node's capacity changes);
the same key twice with different content inside one file is ambiguous and quarantined.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines.contract.reference_tables import SPECS, ReferenceSpec
from pipelines.ingest.events import LineCounts

_SQL_TYPES = {"text": "varchar", "integer": "integer", "double": "double", "date": "date"}


def read_csv_rows(path: Path, spec: ReferenceSpec) -> pa.Table:
    """Rows as text with their line numbers (line 1 is the header), and each row's raw text.

    The header line is not a record, so it is not counted among the lines read.
    """
    text = path.read_text(encoding="utf-8-sig")
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader, [])]
    columns: dict[str, list[str | None]] = {c.name: [] for c in spec.columns}
    line_numbers, raws = [], []
    raw_lines = text.splitlines()
    start = reader.line_num + 1
    for row in reader:
        end = reader.line_num
        if not any(cell.strip() for cell in row):
            start = end + 1
            continue  # blank lines in a CSV are layout, not records
        values = dict(zip(header, row, strict=False))
        for column in spec.columns:
            value = values.get(column.name)
            columns[column.name].append(value.strip() if value and value.strip() else None)
        line_numbers.append(start)
        raws.append("\n".join(raw_lines[start - 1 : end]))
        start = end + 1
    arrays = {"line_no": pa.array(line_numbers, pa.int64()), "raw": pa.array(raws, pa.string())}
    arrays |= {name: pa.array(values, pa.string()) for name, values in columns.items()}
    # A column absent from the header loads as all NULL, so each row names what it lacks.
    return pa.table(arrays)


def _rules(spec: ReferenceSpec) -> list[tuple[str, str]]:
    """(failing SQL, reason) pairs in the order they are checked."""
    rules = []
    for c in spec.columns:
        col = f'"{c.name}"'
        if c.required:
            rules.append((f"{col} is null", f"missing_field:{c.name}"))
        if c.type != "text":
            rules.append(
                (
                    f"{col} is not null and try_cast({col} as {_SQL_TYPES[c.type]}) is null",
                    f"wrong_type:{c.name}",
                )
            )
        typed = f"try_cast({col} as {_SQL_TYPES[c.type]})"
        if c.allowed:
            allowed = ", ".join(f"'{v}'" for v in c.allowed)
            rules.append(
                (f"{col} is not null and {col} not in ({allowed})", f"invalid_value:{c.name}")
            )
        if c.low is not None:
            rules.append((f"{typed} < {c.low}", f"invalid_value:{c.name}"))
        if c.high is not None:
            rules.append((f"{typed} > {c.high}", f"invalid_value:{c.name}"))
    return rules


def land_reference(
    con: duckdb.DuckDBPyConnection, kind: str, path: Path, *, file: str, batch_id: int
) -> LineCounts:
    """Land one reference CSV inside the caller's transaction: a row replaces its key's row."""
    spec = SPECS[kind]
    rows = read_csv_rows(path, spec)
    _judge_rows(con, spec, rows)
    _store_verdicts(con, spec, file=file, batch_id=batch_id)
    counts = dict(
        con.execute("select outcome, count(*) from reference_judged group by all").fetchall()
    )
    return LineCounts(
        lines_read=rows.num_rows,
        landed=counts.get("landed", 0),
        duplicates=counts.get("duplicate", 0),
        quarantined=counts.get("quarantined", 0) + counts.get("conflict", 0),
    )


def _content_hash(spec: ReferenceSpec) -> str:
    """SQL for a row's content hash over every column of its table."""
    return "md5(concat_ws('|', " + ", ".join(f'"{c.name}"::varchar' for c in spec.columns) + "))"


def _judge_rows(con: duckdb.DuckDBPyConnection, spec: ReferenceSpec, rows: pa.Table) -> None:
    """`reference_judged`: each row typed, with its rule break and its verdict."""
    con.register("incoming_reference", rows)
    reason = "case " + " ".join(f"when {sql} then '{r}'" for sql, r in _rules(spec)) + " end"
    key = ", ".join(spec.key)
    typed = ", ".join(
        f'try_cast("{c.name}" as {_SQL_TYPES[c.type]}) as "{c.name}"' for c in spec.columns
    )
    content = _content_hash(spec)
    con.execute(
        f"""
            create or replace temp table reference_checked as
            with checked as (select *, {reason} as reason from incoming_reference),
            typed as (
                select line_no, raw, reason, {typed} from checked
            ),
            ranked as (
                select *,
                    {content} as content_hash,
                    count(distinct case when reason is null then {content} end)
                        over (partition by {key}) as versions,
                    row_number() over (partition by {key}, reason is null order by line_no) as copy_no,
                from typed
            )
            select * from ranked
            """
    )
    con.unregister("incoming_reference")
    con.execute(
        f"""
        create or replace temp table reference_judged as
        select r.*,
            case
                when r.reason is not null then 'quarantined'
                when r.versions > 1 then 'conflict'
                when r.copy_no > 1 then 'duplicate'
                when e.content_hash = r.content_hash then 'duplicate'
                else 'landed'
            end as outcome,
        from reference_checked as r
        left join (select {key}, {content} as content_hash from {spec.table}) as e using ({key})
        """
    )


def _store_verdicts(
    con: duckdb.DuckDBPyConnection, spec: ReferenceSpec, *, file: str, batch_id: int
) -> None:
    """Landed rows replace their key's row; rule breakers and conflicts go to quarantine."""
    names = [c.name for c in spec.columns]
    con.execute(
        f"""
        delete from {spec.table} as t using reference_judged as j
        where j.outcome = 'landed' and {" and ".join(f"t.{k} = j.{k}" for k in spec.key)}
        """
    )
    con.execute(
        f"""
        insert into {spec.table} by name
        select {", ".join(f'"{n}"' for n in names)}, $file as file, line_no, $batch as batch_id
        from reference_judged where outcome = 'landed'
        """,
        {"file": file, "batch": batch_id},
    )
    con.execute(
        """
        insert into raw.quarantine
        select $batch, $file, j.line_no, j.raw,
            coalesce(j.reason, 'duplicate_key'),
            case when j.reason is null
                then 'the same key appears with different content elsewhere in this file'
                else 'reference row breaks the rule ' || j.reason end,
            null, null, md5(j.raw), now()::timestamp
        from reference_judged as j
        where j.outcome in ('quarantined', 'conflict')
          and not exists (
              select 1 from raw.quarantine as q
              where q.file = $file and q.line_no = j.line_no and q.raw_hash = md5(j.raw)
          )
        """,
        {"file": file, "batch": batch_id},
    )
