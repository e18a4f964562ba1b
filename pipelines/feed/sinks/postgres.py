"""The PostgreSQL sink: one table per dataset and a `feed_snapshots` history, in one schema.

A snapshot is published in one transaction: every table's old rows are deleted and the new
ones copied in, and its row is added to `feed_snapshots`. PostgreSQL's MVCC then gives every
reader the old snapshot or the new one, never a mix (a reader that reads several tables reads
them in one REPEATABLE READ transaction, or checks `snapshot_id`, which every row carries).
DELETE rather than TRUNCATE: TRUNCATE would block readers and is not MVCC-safe.

A transaction-scoped advisory lock serializes publishers, so "already published?" and the
first-use CREATE statements never race.
"""

from __future__ import annotations

import hashlib

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from pipelines.feed.schemas import DATASETS, SCHEMA_VERSION, key, postgres_columns
from pipelines.feed.sinks import ALREADY_DELIVERED, DELIVERED, SinkResult
from pipelines.feed.snapshot import Snapshot, jsonable

HISTORY_TABLE = "feed_snapshots"


def _lock_id(schema: str) -> int:
    """A stable signed 64-bit advisory lock id per feed schema."""
    return int.from_bytes(
        hashlib.sha256(f"omsi-feed:{schema}".encode()).digest()[:8], "big", signed=True
    )


def create_tables(cur: psycopg.Cursor, schema: str) -> None:
    s = sql.Identifier(schema)
    cur.execute(sql.SQL("create schema if not exists {}").format(s))
    cur.execute(
        sql.SQL(
            """
            create table if not exists {}.{} (
                snapshot_id text primary key,
                schema_version integer not null,
                as_of timestamptz not null,
                published_at timestamptz not null default now(),
                row_counts jsonb not null,
                manifest jsonb not null
            )
            """
        ).format(s, sql.Identifier(HISTORY_TABLE))
    )
    for dataset in DATASETS:
        cols = [
            sql.SQL("{} {}{}").format(
                sql.Identifier(name), sql.SQL(pg_type), sql.SQL("" if nullable else " not null")
            )
            for name, pg_type, nullable in postgres_columns(dataset)
        ]
        cur.execute(
            sql.SQL(
                "create table if not exists {}.{} (snapshot_id text not null, {}, primary key ({}))"
            ).format(
                s,
                sql.Identifier(dataset),
                sql.SQL(", ").join(cols),
                sql.SQL(", ").join(map(sql.Identifier, key(dataset))),
            )
        )


def publish_postgres(
    snapshot: Snapshot, dsn: str, *, schema: str = "omsi_feed", connect_timeout: int = 10
) -> SinkResult:
    s = sql.Identifier(schema)
    with (
        psycopg.connect(dsn, connect_timeout=connect_timeout, autocommit=False) as conn,
        conn.transaction(),
        conn.cursor() as cur,
    ):
        cur.execute("select pg_advisory_xact_lock(%s)", [_lock_id(schema)])
        create_tables(cur, schema)
        cur.execute(
            sql.SQL("select 1 from {}.{} where snapshot_id = %s").format(
                s, sql.Identifier(HISTORY_TABLE)
            ),
            [snapshot.snapshot_id],
        )
        if cur.fetchone():
            return SinkResult("postgres", snapshot.snapshot_id, ALREADY_DELIVERED, schema)
        for name, dataset in snapshot.datasets.items():
            table = sql.SQL("{}.{}").format(s, sql.Identifier(name))
            cur.execute(sql.SQL("delete from {}").format(table))
            names = ["snapshot_id", *dataset.table.column_names]
            copy_sql = sql.SQL("copy {} ({}) from stdin").format(
                table, sql.SQL(", ").join(map(sql.Identifier, names))
            )
            with cur.copy(copy_sql) as copy:
                for row in dataset.table.to_pylist():
                    copy.write_row([snapshot.snapshot_id, *row.values()])
        cur.execute(
            sql.SQL(
                "insert into {}.{} (snapshot_id, schema_version, as_of, row_counts, manifest)"
                " values (%s, %s, %s, %s, %s)"
            ).format(s, sql.Identifier(HISTORY_TABLE)),
            [
                snapshot.snapshot_id,
                SCHEMA_VERSION,
                snapshot.as_of,
                Jsonb({n: d.rows for n, d in snapshot.datasets.items()}),
                Jsonb(jsonable(snapshot.manifest)),
            ],
        )
    return SinkResult("postgres", snapshot.snapshot_id, DELIVERED, schema)
