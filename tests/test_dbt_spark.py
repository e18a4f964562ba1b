"""The dbt project on Apache Spark, over the lake of a small world: every model, built
incrementally batch by batch, equals a full DuckDB build of the same events, row for row.
The last batch rewrites only the recent months of the order-keyed tables (partitioned by the
month of each order's first event on Spark), and the older months keep their files.

Spark runs in dbt-spark's `session` mode with a local master (profiles.yml, target `spark`); each
dbt command starts its own, and the catalog (an embedded Derby metastore) under OMSI_SPARK_DIR
carries the tables from one to the next. Needs pyspark, dbt-spark and a Java runtime; skips
saying which is missing.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

import pytest

from models.registry import Registry
from pipelines import warehouse
from pipelines.dbt.spark_engine import PARTITION
from pipelines.ingest import ingest_folder
from pipelines.lake import publish_batches
from pipelines.lake.publish import BATCH_TABLES, COMMIT_TABLE
from pipelines.replay.run import TABLE as REPLAY_TABLE
from pipelines.replay.run import replay_warehouse
from pipelines.simulator import generate
from tests.dbt_runner import run_dbt
from tests.lake_worlds import rename_first_node
from tests.spark_env import require_spark

pytestmark = [pytest.mark.spark, pytest.mark.slow]

# The layers of the project that run on Spark (docs/scale-out.md): all of them. The shadow
# replay's views read the table `omsi replay` writes, which it writes on DuckDB only: the test
# copies the DuckDB replay's rows into the Spark table before comparing.
SPARK_SELECTION = ["staging", "intermediate", "marts", "ml"]


def _partition_files(spark_dir: Path) -> dict[str, dict[str, set[str]]]:
    """The data files of every partitioned table in the Spark warehouse, by table and month."""
    tables: dict[str, dict[str, set[str]]] = {}
    for folder in (spark_dir / "warehouse").glob(f"*.db/*/{PARTITION}=*"):
        month = folder.name.split("=", 1)[1]
        files = {path.name for path in folder.glob("*.parquet")}
        tables.setdefault(f"{folder.parent.parent.stem}.{folder.parent.name}", {})[month] = files
    return tables


def _first_month_rewritten(con, after_batch: int) -> str:
    """The month ('yyyy-MM') of the earliest first event among the orders with an event in a
    batch after `after_batch`: where an incremental run starts rewriting."""
    ((month,),) = con.execute(
        "select strftime(min(first_event_at), '%Y-%m') from intermediate.int_order_batches"
        " where order_id in (select order_id from raw.events where batch_id > ?)",
        [after_batch],
    ).fetchall()
    return month


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


def test_what_runs_on_spark_incrementally_equals_a_full_duckdb_build(tmp_path, monkeypatch):
    pyspark_sql = require_spark()
    world = tmp_path / "world"
    # Three months and more, so that the last batch's late events leave the first months alone.
    generate(world, orders=1500, days=90, seed=11, bad_rate=0.01, start=date(2024, 6, 1))
    files = sorted((world / "events").iterdir())
    landing = tmp_path / "home" / "landing"
    (landing / "events").mkdir(parents=True)
    wh, lake, spark_dir = tmp_path / "warehouse.duckdb", tmp_path / "lake", tmp_path / "spark"
    monkeypatch.setenv("OMSI_LAKE", str(lake))
    monkeypatch.setenv("OMSI_SPARK_DIR", str(spark_dir))

    def land(batch_files: list[Path]) -> int:
        """Ingest and publish what `landing` holds after adding `batch_files`; the newest batch
        before."""
        for path in batch_files:
            shutil.copy2(path, landing / "events" / path.name)
        with warehouse.connect(wh) as con:
            ((newest,),) = con.execute(
                "select coalesce(max(batch_id), 0) from raw.events"
            ).fetchall()
            ingest_folder(con, landing)
            publish_batches(con, lake)
        return newest

    def build(*duckdb_args: str) -> None:
        _dbt(["run", "--select", *SPARK_SELECTION, *duckdb_args], wh, tmp_path / "duckdb")
        _dbt(["run", "--select", *SPARK_SELECTION, "--target", "spark"], wh, tmp_path / "spark")

    # Batch 1: the reference files alone. Batch 2: the first three quarters of the events and a
    # renamed node (a reference row replaced: the lake's views take the latest per key); both
    # engines build from scratch. Batch 3: the last quarter, late returns and refunds of the
    # months before among them; Spark builds incrementally, DuckDB in full, the reference.
    shutil.copytree(world / "reference", landing / "reference")
    land([])
    rename_first_node(landing)
    cut = len(files) * 3 // 4
    land(files[:cut])
    _dbt(["seed"], wh, tmp_path / "duckdb")
    _dbt(["seed", "--target", "spark"], wh, tmp_path / "spark")
    build()
    before = _partition_files(spark_dir)
    last_batch = land(files[cut:])
    build("--full-refresh")

    # The incremental run rewrote the months from the earliest first event of an order it
    # touched, and left the months before with the files they had.
    with warehouse.connect(wh, read_only=True) as con:
        first_rewritten = _first_month_rewritten(con, last_batch)
    after = _partition_files(spark_dir)
    assert "marts.fct_orders" in after, sorted(after)
    assert min(after["marts.fct_orders"]) < first_rewritten, "the world should keep a month"
    for table, months in after.items():
        for month, month_files in months.items():
            if month < first_rewritten:
                assert month_files == before[table][month], (table, month)
            elif month in before.get(table, {}):
                assert not month_files & before[table][month], (table, month)

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
        ((renamed,),) = con.execute(
            "select count(*) from raw.nodes where name like '%(renamed)'"
        ).fetchall()
        assert renamed == 1
        # The last batch holds late events: returns and refunds of earlier orders.
        ((late,),) = con.execute(
            "select count(*) from staging.stg_oms__refunds where _batch_id > ?", [last_batch]
        ).fetchall()
        assert late > 0, "the last batch should bring refunds"
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
