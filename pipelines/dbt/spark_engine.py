"""dbt on Spark under `omsi run --engine spark`: what it needs, and its tables made readable in
the DuckDB warehouse after each build, so that scoring, the routing feed, serving and the
dashboards read `marts.fct_orders` and the rest where they always do, unchanged.

Each table dbt built on Spark is a folder of Parquet files under the Spark warehouse
(`<schema>.db/<table>/`, Spark's place for a managed table; the order-keyed tables have a
subfolder per month, `_first_event_month=2024-06/`). In DuckDB each becomes a view that reads
those files when queried: nothing is copied, and a view made once reads the files a later build
writes. The month is left out (`hive_partitioning = false`): it is Spark's partition column,
not one of the model's. The models that are views on Spark have no files; dbt makes them again
as views in DuckDB over these (`make_view_models`), from the same SQL.

Spark names the columns' types its own way (`int` where DuckDB's SQL gave `bigint`, narrower
decimals for literals); the values are the same, row for row (tests/test_dbt_spark.py).
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import duckdb

from pipelines.dbt.commands import DbtCommandFailed, run_dbt_command
from pipelines.dbt.project_files import BUILD_FOLDER_PREFIX, DBT_PROJECT_DIR
from pipelines.settings import OmsiHome

# Spark's partition column of the order-keyed tables (macros/cross_engine/order_partitions.sql).
PARTITION = "_first_event_month"


def dbt_relations(manifest: dict) -> dict[str, str]:
    """Every relation dbt builds (its models and seeds), as schema.name, with its
    materialization, from dbt's manifest."""
    return {
        f"{node['schema']}.{node['alias']}": node["config"].get("materialized")
        for node in manifest["nodes"].values()
        if node["resource_type"] in ("model", "seed")
        and node["config"].get("materialized") != "ephemeral"
    }


def built_tables(manifest: dict) -> list[str]:
    """The tables among them (not the views): what Spark's warehouse holds beside them (the
    replay's table, which `omsi replay` writes in DuckDB) stays DuckDB's."""
    return sorted(
        name for name, materialized in dbt_relations(manifest).items() if materialized != "view"
    )


def view_models(manifest: dict) -> list[str]:
    """The views among them: no files on Spark, made in DuckDB by `make_view_models`."""
    return sorted(
        name for name, materialized in dbt_relations(manifest).items() if materialized == "view"
    )


def missing_views(con: duckdb.DuckDBPyConnection, names: list[str]) -> list[str]:
    """Those of `names` (schema.name) the warehouse has no view of."""
    present = {
        f"{schema}.{name}"
        for schema, name in con.execute(
            "select schema_name, view_name from duckdb_views() where not internal"
        ).fetchall()
    }
    return [name for name in names if name not in present]


def view_spark_tables(
    con: duckdb.DuckDBPyConnection, spark_dir: Path, tables: list[str]
) -> list[str]:
    """Make or remake a view in the warehouse over each of `tables` (schema.name) as Spark
    wrote it under `spark_dir`; the names of those left out because Spark wrote no file (a
    partitioned table with no rows has none, so nothing says its columns)."""
    empty = []
    for name in tables:
        schema, table = name.split(".")
        files = _data_files(spark_dir / "warehouse" / f"{schema}.db" / table)
        if files is None:
            empty.append(name)
            continue
        con.execute(f"create schema if not exists {schema}")
        _drop_table(con, schema, table)
        con.execute(
            f"create or replace view {name} as select * from"
            f" read_parquet({_quoted(files)}, hive_partitioning = false)"
        )
    return empty


def drop_spark_views(con: duckdb.DuckDBPyConnection, spark_dir: Path) -> list[str]:
    """Drop the warehouse's views over Spark's files: a build back on DuckDB writes tables of
    those names, and dbt refuses to load a seed where a view stands. Returns their names."""
    found = con.execute(
        "select schema_name || '.' || view_name from duckdb_views()"
        " where not internal and contains(sql, $folder) order by 1",
        {"folder": str(spark_dir / "warehouse") + "/"},
    ).fetchall()
    for (name,) in found:
        con.execute(f"drop view {name}")
    return [name for (name,) in found]


def make_view_models(home: OmsiHome) -> None:
    """Make the project's view models in the DuckDB warehouse, over the views above: dbt on
    DuckDB, run apart from the build (the build reported them already) and with its own target
    folder, so that its partial parse is not the Spark build's."""
    args = ["run", "--select", "config.materialized:view"]
    try:
        run_dbt_command(home, args, home.spark / "duckdb-views", {})
    except DbtCommandFailed as exc:
        raise DbtCommandFailed(
            f"dbt could not make the view models in the DuckDB warehouse over Spark's tables ({exc})"
        ) from exc


# dbt's record of its last parse, which lets the next command parse only what changed.
PARTIAL_PARSE = "partial_parse.msgpack"


def spark_target_path(home: OmsiHome, run_id: str) -> Path:
    """A fresh dbt target folder for a build on Spark, holding the last Spark build's parse.

    dagster-dbt starts each command from the project's own parse, which is made for the DuckDB
    target, and dbt parses every file again when the target changes: 9 s of each Spark build.
    So a Spark home keeps its own (`keep_spark_parse`), and each build starts from it.
    """
    target = DBT_PROJECT_DIR / "target" / f"{BUILD_FOLDER_PREFIX}{run_id[:8]}-spark"
    target.mkdir(parents=True, exist_ok=True)
    kept = home.spark / PARTIAL_PARSE
    if kept.exists():
        shutil.copy2(kept, target / PARTIAL_PARSE)
    return target


def keep_spark_parse(home: OmsiHome, target: Path) -> None:
    """Keep the parse a Spark build left in `target` for the home's next one."""
    parsed = target / PARTIAL_PARSE
    if parsed.exists():
        home.spark.mkdir(parents=True, exist_ok=True)
        shutil.copy2(parsed, home.spark / PARTIAL_PARSE)


def missing_for_spark() -> str | None:
    """What this machine lacks to build on Spark, as an instruction; None when it has it all."""
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed: `uv sync --group spark` (make install includes it)"
    if importlib.util.find_spec("dbt.adapters.spark") is None:
        return "dbt-spark is not installed: `uv sync --group spark` (make install includes it)"
    if not shutil.which("java"):
        return "no Java runtime: install Java 17 or newer (`make java`; Debian: openjdk-17-jre-headless)"
    return None


def _data_files(folder: Path) -> str | None:
    """A Spark table's data files as a pattern, so that a view reads those of the latest build;
    None when there are none. Spark's own files (_SUCCESS, .crc) and a write in progress
    (_temporary/, .spark-staging-*/) are not matched."""
    for pattern in (f"{PARTITION}=*/*.parquet", "*.parquet"):
        if any(folder.glob(pattern)):
            return str(folder / pattern)
    return None


def _drop_table(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> None:
    """A table of that name (a DuckDB build's, before the engine was Spark) gives way."""
    found = con.execute(
        "select table_type from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchall()
    if found and found[0][0] == "BASE TABLE":
        con.execute(f"drop table {schema}.{name}")


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
