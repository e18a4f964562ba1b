"""`omsi run --engine spark`: the same Dagster graph with dbt on local Spark. The dashboards'
snapshot and the routing feed come out as they do from a DuckDB run over the same world, row
for row, because everything after dbt reads the warehouse as it always does: its marts are
views over the files Spark wrote (pipelines/dbt/spark_engine.py).

Both runs go through the command line, as a user runs them, each in its own home.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from models.registry import Registry
from pipelines.ml.scoring_run import score_all
from pipelines.settings import OmsiHome
from pipelines.simulator import generate
from pipelines.warehouse import connect
from tests.spark_env import require_spark

pytestmark = [pytest.mark.spark, pytest.mark.slow]

OMSI = Path(sys.executable).with_name("omsi")
# What differs between two runs whatever the engine: when things ran and took, and the names
# of the model versions, which carry the time they were trained.
RUN_RECORDS = {"serving_manifest", "dbt_builds", "ingest_batches", "ingest_files"}
RUN_COLUMNS = {"model_version", "scored_at", "trained_at", "ingested_at", "seconds"}


def _omsi(home: Path, *args: str) -> str:
    done = subprocess.run(
        [str(OMSI), *args],
        env={**os.environ, "OMSI_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-8000:]
    return done.stdout


def _promote_and_score(root: Path) -> None:
    """A small world can leave a model below its gates, so that nothing is scored: promote the
    newest versions by hand, so that the feed is compared over real scores."""
    home = OmsiHome(root)
    registry = Registry(home.models)
    for model in ("delivery", "inventory"):
        if registry.promoted(model) is None:
            registry.promote(registry.versions(model)[-1], {"test": "by hand"})
    with connect(home.warehouse) as con:
        score_all(con, registry)


def _differing(con: duckdb.DuckDBPyConnection, duckdb_rows: str, spark_rows: str) -> int:
    """Rows of one relation not in the other, as text, with Spark's values cast to DuckDB's
    types first (Spark's `int` where DuckDB's SQL gave `bigint`, narrower decimals)."""
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


def test_omsi_run_on_spark_serves_and_feeds_what_a_duckdb_run_does(tmp_path):
    require_spark()
    world = tmp_path / "world"
    generate(world, orders=800, days=45, seed=5)
    homes = {engine: tmp_path / engine for engine in ("duckdb", "spark")}
    for engine, root in homes.items():
        for part in ("events", "reference"):
            shutil.copytree(world / part, root / "landing" / "world" / part)
        output = _omsi(root, "run", "--engine", engine)
        assert "done: dashboards read" in output
        _promote_and_score(root)
        _omsi(root, "feed", "--sink", "file")

    spark = OmsiHome(homes["spark"])
    # dbt built on Spark, and the warehouse reads its files: the order facts, by month.
    assert any((spark.spark / "warehouse" / "marts.db" / "fct_orders").glob("_first_event_month=*"))
    with duckdb.connect(str(spark.warehouse), read_only=True) as con:
        kinds = dict(
            con.execute(
                "select table_schema || '.' || table_name, table_type"
                " from information_schema.tables"
            ).fetchall()
        )
        assert kinds["marts.fct_orders"] == "VIEW"
        assert kinds["raw.events"] == "BASE TABLE"
        (definition,) = con.execute(
            "select sql from duckdb_views() where schema_name = 'marts' and view_name = 'fct_orders'"
        ).fetchone()
        assert str(spark.spark) in definition

    con = duckdb.connect()
    con.execute(f"attach '{homes['duckdb'] / 'serving.duckdb'}' as duck (read_only)")
    con.execute(f"attach '{spark.serving}' as spark (read_only)")
    tables = [
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables where table_catalog = 'duck'"
        ).fetchall()
        if name not in RUN_RECORDS
    ]
    assert {"fct_orders", "kpi_daily", "inventory_risk_scores"} <= set(tables)
    differing = {name: _differing(con, f"duck.{name}", f"spark.{name}") for name in tables}
    assert not {name: n for name, n in differing.items() if n}, differing
    ((orders,),) = con.execute("select count(*) from spark.fct_orders").fetchall()
    assert orders > 700

    # The routing feed each home published: every dataset, row for row.
    def snapshot(root: Path) -> Path:
        (folder,) = [path for path in (root / "feed").iterdir() if path.is_dir()]
        return folder

    for dataset in ("node_scores", "availability", "order_risk"):
        one, other = (
            f"read_parquet('{snapshot(root)}/{dataset}.parquet')" for root in homes.values()
        )
        con.execute(f"create or replace temp view one as select * from {one}")
        con.execute(f"create or replace temp view other as select * from {other}")
        ((rows,),) = con.execute("select count(*) from other").fetchall()
        assert rows > 0 or dataset == "order_risk", dataset
        assert _differing(con, "one", "other") == 0, dataset
