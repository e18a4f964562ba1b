"""The warehouse's views over the tables dbt built on Spark (pipelines/dbt/spark_engine.py), on
folders laid out as Spark lays them out, written here by DuckDB: no Spark needed. The whole run
on Spark is tests/test_dbt_spark.py."""

from __future__ import annotations

from pathlib import Path

import duckdb
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.dbt.spark_engine import (
    PARTIAL_PARSE,
    PARTITION,
    built_tables,
    drop_spark_views,
    keep_spark_parse,
    missing_views,
    spark_target_path,
    view_models,
    view_spark_tables,
)
from pipelines.settings import OmsiHome


def _write(con: duckdb.DuckDBPyConnection, path: Path, query: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    con.execute(f"copy ({query}) to '{path}' (format parquet)")


def test_each_spark_table_is_a_view_over_its_latest_files(tmp_path):
    spark = tmp_path / "spark"
    tables = spark / "warehouse"
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    # An order-keyed table: a folder per month, and a write in progress Spark keeps hidden.
    facts = tables / "marts.db" / "fct_orders"
    _write(
        con, facts / f"{PARTITION}=2024-06" / "part-0.parquet", "select 'o1' as order_id, 1 as n"
    )
    _write(
        con, facts / f"{PARTITION}=2024-07" / "part-0.parquet", "select 'o2' as order_id, 2 as n"
    )
    _write(con, facts / "_temporary" / "0" / "part-9.parquet", "select 'half' as order_id, 9 as n")
    (facts / "_SUCCESS").write_text("")
    # A table rebuilt whole; a DuckDB build left a table of the same name.
    _write(con, tables / "marts.db" / "kpi_daily" / "part-0.parquet", "select 3 as kpi")
    con.execute("create schema marts; create table marts.kpi_daily as select 0 as kpi")
    # A partitioned table with no rows: Spark writes no file, so nothing says its columns.
    (tables / "ml.db" / "ml_order_areas").mkdir(parents=True)

    empty = view_spark_tables(
        con, spark, ["marts.fct_orders", "marts.kpi_daily", "ml.ml_order_areas"]
    )
    assert empty == ["ml.ml_order_areas"]
    # The month is Spark's partition column, not one of the model's.
    assert con.execute("select * from marts.fct_orders order by order_id").fetchall() == [
        ("o1", 1),
        ("o2", 2),
    ]
    assert con.execute("select kpi from marts.kpi_daily").fetchall() == [(3,)]
    # The next build's files, under new names, are what the views read.
    for old in facts.glob(f"{PARTITION}=2024-07/*.parquet"):
        old.unlink()
    _write(
        con, facts / f"{PARTITION}=2024-07" / "part-1.parquet", "select 'o3' as order_id, 3 as n"
    )
    assert con.execute("select order_id from marts.fct_orders order by 1").fetchall() == [
        ("o1",),
        ("o3",),
    ]
    # Back on DuckDB, the views over Spark's files give way; the warehouse's own stay.
    con.execute("create view marts.orders_by_hand as select 1 as n")
    assert drop_spark_views(con, spark) == ["marts.fct_orders", "marts.kpi_daily"]
    assert con.execute("select view_name from duckdb_views() where not internal").fetchall() == [
        ("orders_by_hand",)
    ]


def test_the_tables_dbt_builds_are_models_and_seeds_but_views():
    def node(kind: str, relation: str, materialized: str) -> dict:
        schema, alias = relation.split(".")
        return {
            "resource_type": kind,
            "schema": schema,
            "alias": alias,
            "config": {"materialized": materialized},
        }

    nodes = [
        node("model", "marts.fct_orders", "incremental"),
        node("model", "staging.stg_reference__nodes", "view"),
        node("seed", "marts.cost_model", "seed"),
        node("test", "marts.not_null_x", "test"),
    ]
    manifest = {"nodes": {f"{n['resource_type']}.omsi.{n['alias']}": n for n in nodes}}
    assert built_tables(manifest) == ["marts.cost_model", "marts.fct_orders"]
    assert view_models(manifest) == ["staging.stg_reference__nodes"]


def test_a_view_model_is_missing_until_the_warehouse_has_it_as_a_view(tmp_path):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute("create schema staging; create schema marts")
    # A table of the name is not the view: a DuckDB build left it, and the views go over it.
    con.execute("create table staging.stg_reference__nodes as select 1 as node_id")
    wanted = ["marts.fct_dashboard_counts", "staging.stg_reference__nodes"]
    assert missing_views(con, wanted) == wanted
    con.execute("create view marts.fct_dashboard_counts as select 1 as n")
    assert missing_views(con, wanted) == ["staging.stg_reference__nodes"]


def test_a_spark_build_starts_from_the_last_spark_builds_parse(tmp_path, monkeypatch):
    monkeypatch.setattr("pipelines.dbt.spark_engine.DBT_PROJECT_DIR", tmp_path / "project")
    home = OmsiHome(tmp_path / "home")
    first = spark_target_path(home, "run-one-0000")
    # The first build has no parse to start from: dbt parses every file and leaves its record.
    assert not (first / PARTIAL_PARSE).exists()
    (first / PARTIAL_PARSE).write_bytes(b"parsed for spark")
    keep_spark_parse(home, first)
    second = spark_target_path(home, "run-two-0000")
    assert second != first
    assert (second / PARTIAL_PARSE).read_bytes() == b"parsed for spark"


def test_omsi_run_names_the_engines_it_knows(tmp_path, monkeypatch):
    monkeypatch.setenv("OMSI_HOME", str(tmp_path))
    # `--engine` sets OMSI_ENGINE for the run's process; set here, it is put back after.
    monkeypatch.setenv("OMSI_ENGINE", "duckdb")
    result = CliRunner().invoke(app, ["run", "--engine", "postgres"])
    assert result.exit_code == 1
    assert "one of duckdb, spark" in result.output
