"""Write the `ml` schema's tables from DataFrames, whole and in one transaction each."""

from __future__ import annotations

import duckdb
import pandas as pd

SCHEMA = "ml"


def replace_table(
    con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame, select: str
) -> None:
    """Replace ml.<name> with `select` over the frame (registered as `frame`)."""
    cur = con.cursor()
    try:
        cur.execute(f"create schema if not exists {SCHEMA}")
        cur.register("frame", frame)
        cur.execute("begin")
        cur.execute(f"create or replace table {SCHEMA}.{name} as {select}")
        cur.execute("commit")
    finally:
        cur.close()


def replace_rows(
    con: duckdb.DuckDBPyConnection,
    name: str,
    frame: pd.DataFrame,
    select: str,
    where: str,
    params: list,
) -> None:
    """Delete the rows of ml.<name> matching `where`, then insert `select` over the frame."""
    cur = con.cursor()
    try:
        cur.execute(f"create schema if not exists {SCHEMA}")
        cur.register("frame", frame)
        cur.execute("begin")
        cur.execute(f"create table if not exists {SCHEMA}.{name} as {select} limit 0")
        cur.execute(f"delete from {SCHEMA}.{name} where {where}", params)
        cur.execute(f"insert into {SCHEMA}.{name} {select}")
        cur.execute("commit")
    finally:
        cur.close()


def table_exists(con: duckdb.DuckDBPyConnection, name: str, schema: str = SCHEMA) -> bool:
    rows = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchall()
    return rows[0][0] > 0


def read_frame(
    con: duckdb.DuckDBPyConnection, query: str, params: list | None = None
) -> pd.DataFrame:
    cur = con.cursor()
    try:
        return cur.execute(query, params or []).df()
    finally:
        cur.close()
