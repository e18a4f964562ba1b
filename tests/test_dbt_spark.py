"""`omsi run --engine spark` over a small world, batch by batch, against the same world run on
DuckDB: the Dagster graph with dbt on local Spark (every data and unit test on Spark too).

- Every raw, staging, intermediate, mart and ml relation Spark built incrementally equals a
  full DuckDB build of the same events, row for row, read where everything after dbt reads it:
  the Spark home's warehouse, whose views read Spark's files (pipelines/dbt/spark_engine.py).
  Spark's own views and its raw views over the lake are read back from the Spark catalog.
- The incremental run rewrote only the recent months of the order-keyed tables (partitioned by
  the month of each order's first event on Spark); the older months keep their files.
- The dashboards' serving snapshot and the routing feed equal the DuckDB run's.

Spark runs in dbt-spark's `session` mode with a local master (profiles.yml, target `spark`);
each dbt command starts its own, and the catalog (an embedded Derby metastore) under the home's
spark/ folder carries the tables from one to the next. Needs pyspark, dbt-spark and a Java
runtime; skips saying which is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from models.registry import Registry
from pipelines import warehouse
from pipelines.dbt.project_files import DBT_PROJECT_DIR
from pipelines.dbt.spark_engine import PARTITION, dbt_relations
from pipelines.lake.publish import BATCH_TABLES, COMMIT_TABLE
from pipelines.replay.run import TABLE as REPLAY_TABLE
from pipelines.replay.run import replay_warehouse
from pipelines.settings import OmsiHome
from pipelines.simulator import generate
from tests.feed_fixtures import promote_newest_and_score
from tests.lake_worlds import rename_first_node
from tests.spark_env import require_spark

pytestmark = [pytest.mark.spark, pytest.mark.slow]

OMSI = Path(sys.executable).with_name("omsi")
BUILT = ["staging", "intermediate", "marts", "ml"]
ENGINES = ("duckdb", "spark")
# Left out of the builds cut to the new batches and built by full builds and `omsi replay`
# (pipelines/dbt/data_test_scope.py): compared after the first, full build.
FULL_BUILDS_ONLY = "ml.ml_shadow_candidates"
# What differs between two runs whatever the engine: when things ran and how long they took,
# the model versions' names, which carry the time they were trained, and the build a row was
# written by (the Spark home built last incrementally, the DuckDB home in full; serving keeps
# the rows of days an incremental build left alone).
RUN_RECORDS = {"serving_manifest", "dbt_builds", "ingest_batches", "ingest_files"}
RUN_COLUMNS = {
    "model_version",
    "scored_at",
    "trained_at",
    "ingested_at",
    "_ingested_at",
    "quarantined_at",
    "seconds",
    "_built_through_batch",
}


def _omsi(home: Path, *args: str) -> subprocess.Popen:
    """`omsi ARGS` on `home`, started; `_finished` waits for it. The home's own folders only:
    no OMSI_ setting of the caller's but the home."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("OMSI_")}
    return subprocess.Popen(
        [str(OMSI), *args],
        env={**env, "OMSI_HOME": str(home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finished(command: subprocess.Popen) -> str:
    output, _ = command.communicate(timeout=1500)
    assert command.returncode == 0, output[-8000:]
    return output


def _run_both(homes: dict[str, Path], *duckdb_args: str) -> None:
    """`omsi run` on both homes at once (DuckDB's is done while Spark's plans); `duckdb_args`
    for DuckDB's."""
    spark = _omsi(homes["spark"], "run", "--engine", "spark")
    duck = _finished(_omsi(homes["duckdb"], "run", "--engine", "duckdb", *duckdb_args))
    assert "done: dashboards read" in duck
    assert "done: dashboards read" in _finished(spark)


def _differing(con: duckdb.DuckDBPyConnection, duckdb_rows: str, spark_rows: str) -> int:
    """Rows of one relation not in the other, as text, with Spark's values cast to DuckDB's
    types first (Spark has no unsigned integer; its literals are narrower decimals): money,
    times and doubles must print alike, to the last digit."""
    types = {
        column: kind
        for (column, kind, *_) in con.execute(f"describe {duckdb_rows}").fetchall()
        if column not in RUN_COLUMNS
    }
    text = ", ".join(f'"{c}"::varchar' for c in types)
    cast = ", ".join(f'cast("{c}" as {t})::varchar' for c, t in types.items())
    one, other = f"select {text} from {duckdb_rows}", f"select {cast} from {spark_rows}"
    ((differing,),) = con.execute(
        f"select (select count(*) from ({one} except all {other}))"
        f" + (select count(*) from ({other} except all {one}))"
    ).fetchall()
    return differing


def _export_warehouse(home: OmsiHome, names: list[str], out: Path) -> None:
    """Write each relation of the warehouse to Parquet under `out`: the Spark home's views read
    through its own connection (the view models name their catalog, `warehouse`, as every
    home's does, so two homes cannot be attached side by side)."""
    with warehouse.connect(home.warehouse, read_only=True) as con:
        for name in names:
            con.execute(f"copy (select * from {name}) to '{out / name}.parquet' (format parquet)")


def _partition_files(spark_dir: Path) -> dict[str, dict[str, set[str]]]:
    """The data files of every partitioned table in the Spark warehouse, by table and month."""
    tables: dict[str, dict[str, set[str]]] = {}
    for folder in (spark_dir / "warehouse").glob(f"*.db/*/{PARTITION}=*"):
        month = folder.name.split("=", 1)[1]
        files = {path.name for path in folder.glob("*.parquet")}
        tables.setdefault(f"{folder.parent.parent.stem}.{folder.parent.name}", {})[month] = files
    return tables


def _first_month_rewritten(con: duckdb.DuckDBPyConnection, after_batch: int) -> str:
    """The month ('yyyy-MM') of the earliest first event among the orders with an event in a
    batch after `after_batch`: where an incremental run starts rewriting."""
    ((month,),) = con.execute(
        "select strftime(min(first_event_at), '%Y-%m') from intermediate.int_order_batches"
        " where order_id in (select order_id from raw.events where batch_id > ?)",
        [after_batch],
    ).fetchall()
    return month


def _export_from_catalog(pyspark_sql, spark_dir: Path, out: Path, replayed: Path) -> list[str]:
    """Fill the Spark catalog's replay table with the rows of the Parquet file `replayed`, then
    write its raw views over the lake and the views dbt made on Spark to Parquet under `out`;
    their names as schema.table. (Spark's tables the warehouse reads itself.)"""
    spark = (
        pyspark_sql.SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")  # as profiles.yml's local target
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
        for schema in ["raw", *BUILT]:
            for row in spark.sql(f"show views in {schema}").collect():
                name = f"{schema}.{row.viewName}"
                spark.table(name).write.parquet(str(out / name))
                names.append(name)
    finally:
        spark.stop()
    return names


def test_omsi_run_on_spark_equals_a_full_duckdb_build_serves_and_feeds_alike(tmp_path):
    pyspark_sql = require_spark()
    world = tmp_path / "world"
    # Three months and more, so that the last batch's late events leave the first months alone.
    generate(world, orders=1500, days=90, seed=11, bad_rate=0.01, start=date(2024, 6, 1))
    files = sorted((world / "events").iterdir())
    cut = len(files) * 3 // 4
    homes = {engine: tmp_path / engine for engine in ENGINES}

    def land(batch_files: list[Path]) -> None:
        for root in homes.values():
            (root / "landing" / "events").mkdir(parents=True, exist_ok=True)
            for path in batch_files:
                shutil.copy2(path, root / "landing" / "events" / path.name)

    # Batch 1: the reference files alone, ingested. Batch 2: the first three quarters of the
    # events and a renamed node (a reference row replaced: the lake's views take the latest per
    # key); the first build, in full. Batch 3: the last quarter, late returns and refunds of the
    # months before among them; Spark builds incrementally, its tests cut to the new rows, and
    # DuckDB in full afterwards, the reference.
    ingests = []
    for root in homes.values():
        shutil.copytree(world / "reference", root / "landing" / "reference")
        ingests.append(_omsi(root, "ingest", str(root / "landing")))
    for root, ingest in zip(homes.values(), ingests, strict=True):
        _finished(ingest)
        rename_first_node(root / "landing")
    land(files[:cut])
    _run_both(homes)
    spark, duck = OmsiHome(homes["spark"]), OmsiHome(homes["duckdb"])
    # Where a run on Spark keeps its tables and its lake, by default.
    spark_dir, lake = spark.root / "spark", spark.root / "lake"
    before = _partition_files(spark_dir)
    exports = tmp_path / "export"
    exports.mkdir()
    _export_warehouse(spark, [FULL_BUILDS_ONLY], exports)
    with warehouse.connect(duck.warehouse, read_only=True) as con:
        spark_rows = f"read_parquet('{exports / FULL_BUILDS_ONLY}.parquet')"
        assert _differing(con, FULL_BUILDS_ONLY, spark_rows) == 0

    land(files[cut:])
    with warehouse.connect(spark.warehouse, read_only=True) as wh:
        ((last_batch,),) = wh.execute("select max(batch_id) from raw.events").fetchall()
    _run_both(homes, "--full-refresh")

    # The incremental run rewrote the months from the earliest first event of an order it
    # touched, and left the months before with the files they had.
    with warehouse.connect(spark.warehouse, read_only=True) as wh:
        first_rewritten = _first_month_rewritten(wh, last_batch)
        # The last batch holds late events: returns and refunds of earlier orders.
        ((late,),) = wh.execute(
            "select count(*) from staging.stg_oms__refunds where _batch_id > ?", [last_batch]
        ).fetchall()
        assert late > 0, "the last batch should bring refunds"
    after = _partition_files(spark_dir)
    assert "marts.fct_orders" in after, sorted(after)
    assert min(after["marts.fct_orders"]) < first_rewritten, "the world should keep a month"
    for table, months in after.items():
        for month, month_files in months.items():
            if month < first_rewritten:
                assert month_files == before[table][month], (table, month)
            elif month in before.get(table, {}):
                assert not month_files & before[table][month], (table, month)

    # The replay on DuckDB, its rows into both homes' replay tables (the replay writes the
    # warehouse's), so that the replay's views compare with something in them.
    replayed = tmp_path / "replayed.parquet"
    with warehouse.connect(duck.warehouse) as wh:
        replay_warehouse(wh, Registry(tmp_path / "models"), replayed_at=datetime(2024, 6, 1))
        wh.execute(f"copy {REPLAY_TABLE} to '{replayed}' (format parquet)")
        ((replays,),) = wh.execute(f"select count(*) from {REPLAY_TABLE}").fetchall()
        assert replays > 0
    with warehouse.connect(spark.warehouse) as wh:
        wh.execute(f"insert into {REPLAY_TABLE} by name select * from read_parquet('{replayed}')")
        kinds = dict(
            wh.execute(
                "select table_schema || '.' || table_name, table_type"
                " from information_schema.tables"
            ).fetchall()
        )
    assert (kinds["marts.fct_orders"], kinds["raw.events"]) == ("VIEW", "BASE TABLE")
    # What a publish cut short leaves in the lake: a batch with no commit record, a folder
    # being written. The raw views over it read neither.
    for leftover in ("batch_id=99", ".writing-batch_id=98"):
        shutil.copytree(lake / "events" / "batch_id=2", lake / "events" / leftover)
    in_catalog = _export_from_catalog(pyspark_sql, spark_dir, exports / "catalog", replayed)
    assert {f"raw.{table}" for table in (*BATCH_TABLES, COMMIT_TABLE)} <= set(in_catalog)
    manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    built = sorted(name for name in dbt_relations(manifest) if name != FULL_BUILDS_ONLY)
    assert len(built) > 70, built  # the manifest read: 79 today
    _export_warehouse(spark, built, exports)

    def catalog(name: str) -> str:
        return f"read_parquet('{exports}/catalog/{name}/*.parquet')"

    # The raw views over the lake hold what the warehouse the lake was published from holds.
    with warehouse.connect(spark.warehouse, read_only=True) as con:
        differing = {
            f"{name} (in the Spark catalog)": _differing(con, name, catalog(name))
            for name in in_catalog
            if name.startswith("raw.")
        }
    with warehouse.connect(duck.warehouse, read_only=True) as con:
        differing |= {
            name: _differing(con, name, f"read_parquet('{exports / name}.parquet')")
            for name in built
        }
        differing |= {
            f"{name} (in the Spark catalog)": _differing(con, name, catalog(name))
            for name in in_catalog
            if not name.startswith("raw.")
        }
        assert not {name: n for name, n in differing.items() if n}, differing
        ((renamed,),) = con.execute(
            "select count(*) from raw.nodes where name like '%(renamed)'"
        ).fetchall()
        assert renamed == 1

    # The dashboards' snapshot, and the routing feed each home publishes.
    con = duckdb.connect()
    for engine, root in homes.items():
        con.execute(f"attach '{root / 'serving.duckdb'}' as {engine}_serving (read_only)")
    served = [
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables"
            " where table_catalog = 'duckdb_serving'"
        ).fetchall()
        if name not in RUN_RECORDS
    ]
    assert {"fct_orders", "kpi_daily", "inventory_risk_scores"} <= set(served)
    differing = {
        name: _differing(con, f"duckdb_serving.{name}", f"spark_serving.{name}") for name in served
    }
    assert not {name: n for name, n in differing.items() if n}, differing
    con.close()

    feeds = []
    for root in homes.values():
        promote_newest_and_score(OmsiHome(root))
        feeds.append(_omsi(root, "feed", "--sink", "file"))
    for feed in feeds:
        _finished(feed)
    snapshots = {engine: root / "feed" / "latest" for engine, root in homes.items()}
    con = duckdb.connect()
    for dataset in ("node_scores", "availability", "order_risk"):
        for engine, folder in snapshots.items():
            con.execute(
                f"create or replace temp view {engine} as"
                f" select * from read_parquet('{folder}/{dataset}.parquet')"
            )
        ((rows,),) = con.execute("select count(*) from spark").fetchall()
        assert rows > 0, dataset
        assert _differing(con, "duckdb", "spark") == 0, dataset
