"""Compare two serving snapshots table by table."""

from __future__ import annotations

from pathlib import Path

import duckdb


def differing_rows(one: Path, other: Path) -> dict[str, int]:
    """Per table of `other` but the manifest: rows in one snapshot and not the other (as
    multisets, both ways)."""
    con = duckdb.connect()
    con.execute(f"attach '{one}' as one (read_only)")
    con.execute(f"attach '{other}' as other (read_only)")
    names = [
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables where table_catalog = 'other'"
        ).fetchall()
        if name != "serving_manifest"
    ]
    differing = {
        name: con.execute(
            f"""
            select count(*) from (
                (select * from one.{name} except all select * from other.{name})
                union all
                (select * from other.{name} except all select * from one.{name})
            )
            """
        ).fetchall()[0][0]
        for name in names
    }
    con.close()
    return differing
