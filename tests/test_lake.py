"""The lake: every finished ingest batch as Parquet, equal to the warehouse, committed last."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest
import yaml
from typer.testing import CliRunner

from pipelines import warehouse
from pipelines.cli import app
from pipelines.defs.lake.assets import lake_batches
from pipelines.defs.warehouse_resource import WarehouseResource
from pipelines.ingest import ingest_folder
from pipelines.lake import committed_batches, lake_table_sql, publish_batches, reconcile
from pipelines.lake import publish as lake_publish
from pipelines.lake.publish import REFERENCE_KEYS
from pipelines.settings import LAKE_ENV
from pipelines.simulator import generate
from tests.lake_worlds import landing_in_two_batches, second_batch

SOURCES = (
    Path(__file__).resolve().parents[1] / "dbt_project" / "models" / "staging" / "_sources.yml"
)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lake_world")
    generate(root / "world", orders=1500, days=12, seed=11, bad_rate=0.01)
    return root / "world"


def _columns(con, table: str) -> str:
    return ", ".join(name for (name, *_) in con.execute(f"describe raw.{table}").fetchall())


def _rows_differing(con, lake: Path, table: str) -> int:
    """Rows in one side and not the other, counting copies: the lake's committed rows (for a
    reference table, its latest row per key) against the warehouse's table."""
    columns = _columns(con, table)
    lake_rows = f"select {columns} from ({lake_table_sql(lake, table)})"
    if table in REFERENCE_KEYS:
        keys = ", ".join(REFERENCE_KEYS[table])
        lake_rows += f" qualify row_number() over (partition by {keys} order by batch_id desc) = 1"
    warehouse_rows = f"select {columns} from raw.{table}"
    ((differing,),) = con.execute(
        f"select (select count(*) from ({lake_rows} except all {warehouse_rows}))"
        f" + (select count(*) from ({warehouse_rows} except all {lake_rows}))"
    ).fetchall()
    return differing


def test_the_lake_holds_the_raw_tables_dbt_reads():
    sources = yaml.safe_load(SOURCES.read_text())["sources"]
    raw = next(s for s in sources if s["name"] == "raw")
    published = {*lake_publish.BATCH_TABLES, lake_publish.COMMIT_TABLE}
    assert published == {t["name"] for t in raw["tables"]}


def test_each_batch_is_published_once_and_the_lake_equals_the_warehouse(world, tmp_path):
    landing, rest = landing_in_two_batches(world, tmp_path)
    lake = tmp_path / "lake"
    with warehouse.connect(tmp_path / "warehouse.duckdb") as con:
        ingest_folder(con, landing)
        first = publish_batches(con, lake)
        second_batch(landing, rest)
        ingest_folder(con, landing)
        second = publish_batches(con, lake)
        again = publish_batches(con, lake)

        assert [b.batch_id for b in first] == [1] and [b.batch_id for b in second] == [2]
        assert again == [] and committed_batches(lake) == [1, 2]
        (renamed,) = con.execute("select count(*) from raw.nodes where batch_id = 2").fetchall()[0]
        assert renamed == 1, "the second batch should replace one node"
        ((events,),) = con.execute("select count(*) from raw.events").fetchall()
        assert sum(b.rows["events"] for b in first + second) == events
        ((quarantined,),) = con.execute("select count(*) from raw.quarantine").fetchall()
        assert quarantined > 0, "the world should quarantine some lines"
        for table in (*lake_publish.BATCH_TABLES, lake_publish.COMMIT_TABLE):
            assert _rows_differing(con, lake, table) == 0, table
        assert reconcile(con, lake) == []


def test_a_publish_cut_short_is_never_read_and_the_next_one_finishes_it(
    world, tmp_path, monkeypatch
):
    landing, _ = landing_in_two_batches(world, tmp_path)
    lake = tmp_path / "lake"
    write = lake_publish._write_folder

    def dies_at_skus(con, lake, table, batch_id):
        if table == "skus":
            raise KeyboardInterrupt("killed mid-publish")
        return write(con, lake, table, batch_id)

    with warehouse.connect(tmp_path / "warehouse.duckdb") as con:
        ingest_folder(con, landing)
        monkeypatch.setattr(lake_publish, "_write_folder", dies_at_skus)
        with pytest.raises(KeyboardInterrupt):
            publish_batches(con, lake)
        # The events of batch 1 are on disk, but with no commit record nobody reads them.
        assert any((lake / "events" / "batch_id=1").iterdir())
        assert committed_batches(lake) == [] and lake_table_sql(lake, "events") is None
        # A folder still being written is invisible to the readers' glob.
        hidden = lake / "events" / ".writing-batch_id=1"
        shutil.copytree(lake / "events" / "batch_id=1", hidden)

        monkeypatch.setattr(lake_publish, "_write_folder", write)
        assert [b.batch_id for b in publish_batches(con, lake)] == [1]
        assert not hidden.exists(), "the next publish clears what a cut-short one left"
        assert _rows_differing(con, lake, "events") == 0
        assert reconcile(con, lake) == []


def test_a_batch_still_running_is_not_published(world, tmp_path):
    landing, _ = landing_in_two_batches(world, tmp_path)
    with warehouse.connect(tmp_path / "warehouse.duckdb") as con:
        ingest_folder(con, landing)
        con.execute("update raw.ingest_batches set finished_at = null")
        assert publish_batches(con, tmp_path / "lake") == []
    assert committed_batches(tmp_path / "lake") == []


def test_the_lake_asset_publishes_only_when_a_lake_is_set(world, tmp_path, monkeypatch):
    landing, _ = landing_in_two_batches(world, tmp_path / "home")
    with warehouse.connect(tmp_path / "home" / "warehouse.duckdb") as con:
        ingest_folder(con, landing)
    resources = {"warehouse": WarehouseResource(home=str(tmp_path / "home"))}

    monkeypatch.delenv(LAKE_ENV, raising=False)
    result = dg.materialize([lake_batches], resources=resources)
    assert result.success and result.get_asset_materialization_events() == []

    monkeypatch.setenv(LAKE_ENV, "lake")  # relative to $OMSI_HOME
    result = dg.materialize([lake_batches], resources=resources)
    (event,) = result.get_asset_materialization_events()
    assert event.materialization.metadata["batches"].value == [1]
    assert committed_batches(tmp_path / "home" / "lake") == [1]


def test_omsi_lake_catches_up_and_fails_on_a_lake_that_lost_rows(world, tmp_path, monkeypatch):
    landing, _ = landing_in_two_batches(world, tmp_path)
    with warehouse.connect(tmp_path / "warehouse.duckdb") as con:
        ingest_folder(con, landing)
    monkeypatch.setenv("OMSI_HOME", str(tmp_path))
    monkeypatch.delenv(LAKE_ENV, raising=False)
    runner = CliRunner()

    caught_up = runner.invoke(app, ["lake"])
    assert caught_up.exit_code == 0, caught_up.output
    assert "1 batches (newest 1), 1 published now" in caught_up.output

    for path in (tmp_path / "lake" / "events" / "batch_id=1").iterdir():
        path.unlink()
    broken = runner.invoke(app, ["lake"])
    assert broken.exit_code == 1
    assert "differs: events, batch 1:" in broken.output
