"""The dbt project on Apache Spark, over the lake of a small world: what runs on Spark so far
equals the DuckDB build of the same batches, row for row, after an incremental second batch.

Spark runs in dbt-spark's `session` mode with a local master (profiles.yml, target `spark`); each
dbt command starts its own, and the catalog (an embedded Derby metastore) under OMSI_SPARK_DIR
carries the tables from one to the next. Needs pyspark, dbt-spark and a Java runtime; skips
saying which is missing.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest

from models.registry import Registry
from pipelines import warehouse
from pipelines.ingest import ingest_folder
from pipelines.lake import publish_batches
from pipelines.lake.publish import BATCH_TABLES, COMMIT_TABLE
from pipelines.replay.run import TABLE as REPLAY_TABLE
from pipelines.replay.run import replay_warehouse
from pipelines.simulator import generate
from tests.dbt_runner import run_dbt
from tests.lake_worlds import landing_in_two_batches, second_batch

pytestmark = [pytest.mark.spark, pytest.mark.slow]

# The layers of the project that run on Spark so far (docs/scale-out.md): all of them. The
# shadow replay's views read the table `omsi replay` writes, which it writes on DuckDB only: the
# test copies the DuckDB replay's rows into the Spark table before comparing.
SPARK_SELECTION = ["staging", "intermediate", "marts", "ml"]


def _require_spark():
    pyspark_sql = pytest.importorskip(
        "pyspark.sql", reason="pyspark is not installed: `uv sync --group spark` (make install)"
    )
    pytest.importorskip(
        "dbt.adapters.spark", reason="dbt-spark is not installed: `uv sync --group spark`"
    )
    if not shutil.which("java"):
        pytest.skip("no Java runtime: install Java 17 or newer (Debian: openjdk-17-jre-headless)")
    return pyspark_sql


def _dbt(args: list[str], wh: Path, work: Path) -> None:
    code, output, _ = run_dbt(args, wh, work)
    assert code == 0, output[-6000:]


def _export(
    pyspark_sql, spark_dir: Path, schemas: list[str], out: Path, replayed: Path
) -> list[str]:
    """Fill the Spark catalog's replay table with the rows of the Parquet file `replayed`, then
    write every table and view of `schemas` in it to Parquet under `out`; their names as
    schema.table."""
    spark = (
        pyspark_sql.SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.warehouse.dir", str(spark_dir / "warehouse"))
        .config(
            "spark.hadoop.javax.jdo.option.ConnectionURL",
            f"jdbc:derby:;databaseName={spark_dir}/metastore;create=true",
        )
        .config("spark.driver.extraJavaOptions", f"-Dderby.stream.error.file={spark_dir}/derby.log")
        .enableHiveSupport()
        .getOrCreate()
    )
    names = []
    try:
        columns = ", ".join(spark.table(REPLAY_TABLE).columns)
        spark.sql(
            f"insert overwrite table {REPLAY_TABLE} select {columns} from parquet.`{replayed}`"
        )
        for schema in schemas:
            for row in spark.sql(f"show tables in {schema}").collect():
                name = f"{schema}.{row.tableName}"
                spark.table(name).write.parquet(str(out / name))
                names.append(name)
    finally:
        spark.stop()
    return names


def test_what_runs_on_spark_equals_the_duckdb_build_after_an_incremental_batch(
    tmp_path, monkeypatch
):
    pyspark_sql = _require_spark()
    world = tmp_path / "world"
    generate(world, orders=1500, days=12, seed=11, bad_rate=0.01)
    landing, rest = landing_in_two_batches(world, tmp_path / "home")
    wh, lake, spark_dir = tmp_path / "warehouse.duckdb", tmp_path / "lake", tmp_path / "spark"
    monkeypatch.setenv("OMSI_LAKE", str(lake))
    monkeypatch.setenv("OMSI_SPARK_DIR", str(spark_dir))
    selection = ["--select", *SPARK_SELECTION]

    for batch in (1, 2):
        if batch == 2:
            second_batch(landing, rest)
        with warehouse.connect(wh) as con:
            ingest_folder(con, landing)
            publish_batches(con, lake)
        if batch == 1:
            _dbt(["seed"], wh, tmp_path / "duckdb")
            _dbt(["run-operation", "lake_sources", "--target", "spark"], wh, tmp_path / "spark")
            _dbt(["seed", "--target", "spark"], wh, tmp_path / "spark")
        _dbt(["run", *selection], wh, tmp_path / "duckdb")
        _dbt(["run", *selection, "--target", "spark"], wh, tmp_path / "spark")

    # What a publish cut short leaves: a batch with no commit record, a folder being written.
    for leftover in ("batch_id=99", ".writing-batch_id=98"):
        shutil.copytree(lake / "events" / "batch_id=2", lake / "events" / leftover)
    # The replay on DuckDB; its rows into the Spark table as they are (the replay reads and
    # writes only DuckDB so far), so that the views over them compare with something in them.
    with warehouse.connect(wh) as con:
        replay_warehouse(con, Registry(tmp_path / "models"), replayed_at=datetime(2024, 6, 1))
        con.execute(f"copy {REPLAY_TABLE} to '{tmp_path}/replayed.parquet' (format parquet)")
        ((replayed,),) = con.execute(f"select count(*) from {REPLAY_TABLE}").fetchall()
        assert replayed > 0
    exported = _export(
        pyspark_sql,
        spark_dir,
        ["raw", *SPARK_SELECTION],
        tmp_path / "export",
        tmp_path / "replayed.parquet",
    )
    expected = {f"raw.{table}" for table in (*BATCH_TABLES, COMMIT_TABLE)}
    assert expected <= set(exported)
    with warehouse.connect(wh, read_only=True) as con:
        ((built,),) = con.execute(
            "select count(*) from information_schema.tables where table_schema in"
            f" ({', '.join(repr(schema) for schema in SPARK_SELECTION)})"
        ).fetchall()
        assert len(exported) == len(expected) + built, exported
        # The second batch holds the world's late events: returns and refunds of earlier orders.
        ((second,),) = con.execute(
            "select count(*) from staging.stg_oms__refunds where _batch_id = 2"
        ).fetchall()
        assert second > 0, "the second batch should bring refunds"
        for name in exported:
            types = dict((c, t) for (c, t, *_) in con.execute(f"describe {name}").fetchall())
            # As text, Spark's values first cast to the warehouse's types (Spark has no unsigned
            # integer, its literals are narrower decimals): money, times and doubles must print
            # alike, to the last digit.
            text = ", ".join(f'"{c}"::varchar' for c in types)
            as_warehouse = ", ".join(f'cast("{c}" as {t})::varchar' for c, t in types.items())
            spark_rows = (
                f"select {as_warehouse} from read_parquet('{tmp_path}/export/{name}/*.parquet')"
            )
            duckdb_rows = f"select {text} from {name}"
            ((differing,),) = con.execute(
                f"select (select count(*) from ({spark_rows} except all {duckdb_rows}))"
                f" + (select count(*) from ({duckdb_rows} except all {spark_rows}))"
            ).fetchall()
            assert differing == 0, name
