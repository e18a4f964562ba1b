"""The raw tables are one list: what ingest creates, what Dagster shows, what dbt reads."""

from __future__ import annotations

from pathlib import Path

import yaml

from pipelines import warehouse
from pipelines.defs.ingest.assets import RAW_TABLES

SOURCES = (
    Path(__file__).resolve().parents[1] / "dbt_project" / "models" / "staging" / "_sources.yml"
)


def test_the_raw_assets_are_the_tables_ingest_creates(tmp_path):
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        created = {
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'raw'"
            ).fetchall()
        }
    assert set(RAW_TABLES) == created


def test_every_dbt_source_of_raw_is_a_raw_asset():
    sources = yaml.safe_load(SOURCES.read_text())["sources"]
    raw = next(s for s in sources if s["name"] == "raw")
    tables = {t["name"] for t in raw["tables"]}
    assert tables and tables <= set(RAW_TABLES)
