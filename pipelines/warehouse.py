"""Open the warehouse DuckDB file with the settings every writer relies on."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

# DuckDB's cap before it spills to disk; dbt's profile reads the same variable and default. A
# 1,000,000-order world builds within it (docs/decisions.md); a larger machine may raise it.
MEMORY_LIMIT = os.environ.get("OMSI_MEMORY_LIMIT", "3GB")

_RAW_TABLES = Path(__file__).parent / "ingest" / "raw_tables.sql"


def connect(path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection whose session time zone is UTC, so timestamp casts never depend on the host."""
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    con.execute("set TimeZone = 'UTC'")
    con.execute("set enable_progress_bar = false")
    con.execute(f"set memory_limit = '{MEMORY_LIMIT}'")
    # Row order in a table carries no meaning here (every row has its file and line), and not
    # keeping it lets DuckDB insert with both cores.
    con.execute("set preserve_insertion_order = false")
    if not read_only:
        con.execute(_RAW_TABLES.read_text())
    return con
