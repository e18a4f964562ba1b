"""The Dagster code location: it loads, its graph is wired as intended, and a real run works.

The run tests materialize every asset in-process against a temporary `$OMSI_HOME` holding the
Olist excerpt, with a real DuckDB file, a real dbt build and a real Dagster instance.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from typer.testing import CliRunner

from pipelines.adapters.olist import convert_olist
from pipelines.cli import app
from pipelines.dbt.commands import build_args, dbt_env
from pipelines.dbt.data_test_scope import DataTestScope
from pipelines.dbt.project_files import build_fingerprint
from pipelines.definitions import REFRESH_JOB, defs
from pipelines.defs.dbt.assets import dbt_models
from pipelines.defs.ingest.sensors import build_landing_sensor
from pipelines.defs.warehouse_resource import WarehouseResource
from pipelines.runner import prepare_dagster_home, run_refresh
from pipelines.serving import publish_snapshot
from pipelines.settings import OmsiHome
from tests.snapshot_tables import differing_rows

FIXTURE = Path(__file__).parent / "fixtures" / "olist"
pytestmark = pytest.mark.slow


def test_definitions_validate_with_the_dagster_cli(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-m", "pipelines.definitions"],
        capture_output=True,
        text=True,
        env=os.environ | {"OMSI_HOME": str(tmp_path)},
        timeout=300,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "All code locations passed validation" in result.stdout + result.stderr


def test_asset_graph_is_wired_as_designed():
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    raw = {
        f"raw/{t}"
        for t in (
            "events",
            "quarantine",
            "nodes",
            "skus",
            "carriers",
            "ingest_files",
            "ingest_batches",
        )
    }
    assert raw <= keys
    assert "serving/snapshot" in keys
    staging = {k for k in keys if k.startswith("staging/")}
    assert "staging/stg_oms__orders_placed" in staging and len(staging) >= 20
    # Staging models read the raw tables ingest writes, and serving comes after every model.
    placed = graph.get(dg.AssetKey(["staging", "stg_oms__orders_placed"]))
    assert dg.AssetKey(["raw", "events"]) in placed.parent_keys
    serving = graph.get(dg.AssetKey(["serving", "snapshot"]))
    assert {
        dg.AssetKey(["staging", "stg_oms__orders_placed"]),
        dg.AssetKey(["raw", "events"]),
    } <= set(serving.parent_keys)
    # The folder is the group: the graph reads like the dbt tree.
    assert placed.group_name == "staging"
    marts = {k for k in keys if k.startswith("marts/")}
    assert {"marts/fct_orders", "marts/kpi_daily", "marts/fct_cost_to_serve"} <= marts
    orders = graph.get(dg.AssetKey(["marts", "fct_orders"]))
    assert orders.group_name == "marts"
    assert dg.AssetKey(["marts", "fct_order_lines"]) in orders.parent_keys
    assert dg.AssetKey(["marts", "kpi_daily"]) in serving.parent_keys
    assert graph.get(dg.AssetKey(["raw", "events"])).group_name == "ingest"

    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    assert ("raw/events", "landed_events_suite") in checks
    assert ("raw/ingest_files", "ingest_reconciles") in checks
    # dbt source tests surface as checks on the raw assets.
    assert any(asset == "raw/events" and "unique" in name for asset, name in checks)
    # ... and the marts' own tests as checks on the marts.
    assert any(asset == "marts/fct_orders" and "unique" in name for asset, name in checks)

    # The risk models: feature tables from dbt, then training, then scoring, before serving.
    assert {"ml/ml_delivery_features", "ml/delivery_model", "ml/delivery_risk_scores"} <= keys
    assert {"ml/ml_inventory_features", "ml/inventory_model", "ml/inventory_risk_scores"} <= keys
    scores = graph.get(dg.AssetKey(["ml", "delivery_risk_scores"]))
    assert dg.AssetKey(["ml", "delivery_model"]) in scores.parent_keys
    assert (
        dg.AssetKey(["ml", "ml_delivery_features"])
        in graph.get(dg.AssetKey(["ml", "delivery_model"])).parent_keys
    )
    assert dg.AssetKey(["ml", "inventory_risk_scores"]) in serving.parent_keys
    assert {
        scores.group_name,
        graph.get(dg.AssetKey(["ml", "ml_delivery_features"])).group_name,
    } == {"ml"}
    assert ("ml/delivery_model", "promoted_model_meets_gates") in checks
    assert ("ml/inventory_risk_scores", "scores_cover_open_rows") in checks
    assert ("ml/delivery_risk_scores", "feature_drift_below_warning") in checks

    assert {s.name for s in defs.schedules} == {
        "daily_refresh",
        "routing_feed_schedule",
        "weekly_training",
    }
    assert {s.name for s in defs.sensors} == {"landing_sensor"}
    assert defs.resolve_job_def(REFRESH_JOB) is not None


def test_what_a_scoped_build_leaves_out_is_built_from_reference_files_alone_and_reaches_serving():
    graph = defs.resolve_asset_graph()
    dbt_keys = set(dbt_models.keys)
    left_out = {key for key in dbt_keys if "reference_only" in dbt_models.tags_by_key.get(key, {})}
    assert {"marts/dim_nodes", "staging/stg_reference__skus"} <= {
        key.to_user_string() for key in left_out
    }
    reference = {dg.AssetKey(["raw", table]) for table in ("nodes", "skus", "carriers")}
    seeds = {key for key in dbt_keys if not graph.get(key).parent_keys}
    serving = dg.AssetKey(["serving", "snapshot"])
    for key in left_out:
        # Every input of theirs is a reference table, a seed or another such model ...
        assert graph.get(key).parent_keys <= reference | seeds | left_out, key
        # ... and serving, which does not wait for them, waits for a model built from them.
        below, reached = set(graph.get(key).child_keys), set()
        while below and serving not in reached:
            child = below.pop()
            reached.add(child)
            if child != serving:
                below |= set(graph.get(child).child_keys) - reached
        assert serving in reached, key


def test_dbt_build_args():
    assert build_args() == ["build"]
    assert build_args(full_refresh=True) == ["build", "--full-refresh"]
    # Cut to the new batches: some tests wait for full builds, and nodes run four at a time.
    scoped = DataTestScope(after_batch=7)
    assert build_args(scope=scoped) == ["build", "--threads", "4", *scoped.exclude_args()]
    assert build_args(full_refresh=True, scope=scoped) == ["build", "--full-refresh"]
    # On Spark: the spark target, one node at a time.
    assert build_args(scope=scoped, engine="spark") == [
        "build",
        "--target",
        "spark",
        *scoped.exclude_args(),
    ]
    assert build_args(full_refresh=True, engine="spark") == [
        "build",
        "--full-refresh",
        "--target",
        "spark",
    ]


def test_the_engine_decides_the_lake_the_spark_folder_and_the_build_record(tmp_path, monkeypatch):
    home = OmsiHome(tmp_path)
    monkeypatch.delenv("OMSI_LAKE", raising=False)
    monkeypatch.delenv("OMSI_SPARK_DIR", raising=False)
    monkeypatch.delenv("OMSI_ENGINE", raising=False)
    assert (home.engine, home.lake) == ("duckdb", None)
    assert set(dbt_env(home)) == {"OMSI_WAREHOUSE"}
    duckdb_build = build_fingerprint(home.engine)
    monkeypatch.setenv("OMSI_ENGINE", "Spark")
    assert (home.engine, home.lake, home.spark) == ("spark", tmp_path / "lake", tmp_path / "spark")
    assert dbt_env(home)["OMSI_LAKE"] == str(tmp_path / "lake")
    # Another engine's tables are other tables: the first build on it is a full one.
    assert build_fingerprint(home.engine) != duckdb_build
    monkeypatch.setenv("OMSI_ENGINE", "postgres")
    with pytest.raises(ValueError, match="duckdb, spark"):
        _ = home.engine


def _home_with_olist(tmp_path: Path) -> OmsiHome:
    home = OmsiHome(tmp_path / "home").ensure()
    convert_olist(FIXTURE, home.landing / "olist")
    return home


def _materialized(home: OmsiHome, key: list[str]) -> dg.EventLogEntry | None:
    instance = dg.DagsterInstance.from_config(str(prepare_dagster_home(home)))
    return instance.get_latest_materialization_event(dg.AssetKey(key))


@pytest.fixture(scope="module")
def built_home(tmp_path_factory) -> tuple[OmsiHome, dg.ExecuteInProcessResult, float]:
    """The first run on the Olist excerpt, and its wall time measured around it."""
    home = _home_with_olist(tmp_path_factory.mktemp("run"))
    messages: list[str] = []
    started = time.perf_counter()
    result = run_refresh(home, progress=messages.append)
    wall = time.perf_counter() - started
    assert result.success, "\n".join(messages[-40:])
    return home, result, wall


def test_a_run_lands_builds_and_publishes(built_home):
    home, result, _ = built_home
    lines = sum(1 for p in (home.landing / "olist" / "events").glob("*.jsonl") for _ in p.open())
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        events = con.execute("select count(*) from raw.events").fetchall()[0][0]
        quarantined = con.execute("select count(*) from raw.quarantine").fetchall()[0][0]
        placed = con.execute("select count(*) from staging.stg_oms__orders_placed").fetchall()[0][0]
        raw_placed = con.execute(
            "select count(*) from raw.events where event_type = 'order.placed'"
        ).fetchall()[0][0]
    assert events == lines and quarantined == 0
    assert placed == raw_placed > 250

    with duckdb.connect(str(home.serving), read_only=True) as con:
        tables = {r[0] for r in con.execute("show tables").fetchall()}
        landed = con.execute(
            "select sum(landed) from ingest_files where kind = 'events'"
        ).fetchall()[0][0]
        by_type = con.execute("select sum(events) from events_by_type").fetchall()[0][0]
    assert {"serving_manifest", "ingest_files", "quarantine_reasons", "events_by_type"} <= tables
    # Data health reads the build record: which batch the marts were built through.
    assert "dbt_builds" in tables
    # The marts are published for the dashboards, and Olist's orders all reach fct_orders.
    assert {"fct_orders", "kpi_daily", "kpi_definitions"} <= tables
    with duckdb.connect(str(home.serving), read_only=True) as con:
        assert con.execute("select count(*) from fct_orders").fetchall()[0][0] == raw_placed
    assert landed == by_type == events

    # The run is recorded in the instance `make dev` shows, with ingest's reconciliation.
    event = _materialized(home, ["raw", "events"])
    metadata = event.asset_materialization.metadata
    # Reference rows count among the lines read too, and all of them landed.
    assert metadata["lines_read"].value == metadata["landed"].value > lines
    assert _materialized(home, ["serving", "snapshot"]) is not None
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["landed_events_suite"] and checks["ingest_reconciles"]


def _run_steps(home: OmsiHome, run_id: str) -> dict[str, float]:
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        rows = con.execute(
            "select step, seconds from ops.run_steps where run_id = ? order by position", [run_id]
        ).fetchall()
    return dict(rows)


def test_the_shadow_replay_runs_on_the_olist_import(built_home, tmp_path, monkeypatch):
    home, _, _ = built_home
    # A copy, so that the run tests after this one find the home as the run left it.
    copy = OmsiHome(tmp_path / "home")
    copy.root.mkdir()
    shutil.copy2(home.warehouse, copy.warehouse)
    shutil.copytree(home.models, copy.models)
    monkeypatch.setenv("OMSI_HOME", str(copy.root))
    outcome = CliRunner().invoke(app, ["replay", "--json"])
    assert outcome.exit_code == 0, outcome.output
    summary = json.loads(outcome.stdout)
    with duckdb.connect(str(copy.warehouse), read_only=True) as con:
        (decisions,) = con.execute("select count(*) from ml.ml_delivery_features").fetchall()[0]
        (records,) = con.execute("select count(*) from marts.fct_inventory_positions").fetchall()[0]
    # Olist keeps no stock records (a seller that sold the item is a candidate) and sends no
    # rejections, so no out-of-stock cancellation is expected either way.
    assert records == 0
    assert summary["decisions"] == decisions > 250
    assert summary["expected_cancellations_chosen"] == summary["expected_cancellations_shadow"] == 0
    assert summary["late_estimate"] in {"model", "history"}
    with duckdb.connect(str(copy.serving), read_only=True) as con:
        (rows,) = con.execute("select count(*) from fct_shadow_routing").fetchall()[0]
    assert rows == decisions


def test_the_run_records_where_its_time_went(built_home):
    home, result, wall = built_home
    steps = _run_steps(home, result.run_id)
    assert list(steps) == [
        "ingest",
        "batch checks",
        "dbt models",
        "dbt tests",
        "dbt other",
        "training",
        "scoring",
        "serving",
        "dagster and other",
    ]
    assert all(seconds >= 0 for seconds in steps.values()), steps
    # They add up to the wall time measured around the run, less recording them.
    assert wall - 2 < sum(steps.values()) <= wall
    assert steps["ingest"] > 0 and steps["batch checks"] > 0 and steps["serving"] > 0

    # dbt's models and tests are dbt's own figures, and with the rest of its step make it up.
    instance = dg.DagsterInstance.from_config(str(prepare_dagster_home(home)))
    walls = {
        s.step_key: s.end_time - s.start_time for s in instance.get_run_step_stats(result.run_id)
    }
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        elapsed, models, tests = con.execute(
            "select elapsed_seconds, models_seconds, tests_seconds from ops.dbt_builds "
            "where run_id = ?",
            [result.run_id],
        ).fetchall()[0]
    assert (steps["dbt models"], steps["dbt tests"]) == (models, tests)
    assert models > 0 and tests > 0 and models + tests <= elapsed <= walls["dbt_models"]
    dbt_step = steps["dbt models"] + steps["dbt tests"] + steps["dbt other"]
    assert dbt_step == pytest.approx(walls["dbt_models"])
    assert steps["ingest"] + steps["batch checks"] == pytest.approx(walls["raw_tables"])
    assert steps["serving"] == pytest.approx(walls["serving__snapshot"])
    # The Dagster run carries the same figures, for the UI (`make dev`).
    tags = instance.get_run_by_id(result.run_id).tags
    assert tags["omsi/seconds.dbt_tests"] == f"{tests:.1f}"
    assert float(tags["omsi/seconds.dagster_and_other"]) == pytest.approx(
        steps["dagster and other"], abs=0.05
    )


def test_a_second_run_without_new_files_adds_nothing_and_skips_the_build(built_home):
    home, _, _ = built_home
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        before = con.execute("select count(*) from raw.events").fetchall()[0][0]
    published = home.serving.stat().st_mtime_ns
    messages: list[str] = []
    result = run_refresh(home, progress=messages.append)
    assert result.success, "\n".join(messages)
    # Nothing new: dbt says why it did not run, and the snapshot is left as it was. The
    # terminal gets that line, not Dagster's list of every output the step did not yield.
    assert any("the marts are up to date" in m for m in messages)
    assert max(len(m) for m in messages) < 300, max(messages, key=len)[:300]
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "raw/events" in materialized
    assert not any(k.startswith(("staging/", "marts/", "serving/")) for k in materialized)
    assert home.serving.stat().st_mtime_ns == published
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        after = con.execute("select count(*) from raw.events").fetchall()[0][0]
        last = con.execute(
            "select lines_read, files, files_skipped from raw.ingest_batches order by batch_id desc limit 1"
        ).fetchall()[0]
    assert after == before
    assert last[0] == 0 and last[1] == 0 and last[2] > 0
    # Nothing built: no dbt model or test time, and the run's time still all accounted for.
    steps = _run_steps(home, result.run_id)
    assert (steps["dbt models"], steps["dbt tests"]) == (0, 0)
    assert steps["ingest"] > 0 and all(seconds >= 0 for seconds in steps.values()), steps


def test_omsi_run_ends_with_where_the_time_went(built_home, monkeypatch):
    home, _, _ = built_home
    monkeypatch.setenv("OMSI_HOME", str(home.root))
    # A touched file is a change to look at (the run then finds its content landed already).
    touched = next((home.landing / "olist" / "events").glob("*.jsonl"))
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 1_000_000_000))
    outcome = CliRunner().invoke(app, ["run"])
    assert outcome.exit_code == 0, outcome.output
    printed = outcome.stdout[outcome.stdout.index("where the time went") :].splitlines()
    run = re.search(r"Dagster run (\w+)", printed[0]).group(1)
    instance = dg.DagsterInstance.from_config(str(prepare_dagster_home(home)))
    (run_id,) = [r.run_id for r in instance.get_runs() if r.run_id.startswith(run)]
    steps = _run_steps(home, run_id)
    shown = {line[:20].strip(): float(line[20:].split()[0]) for line in printed[1:-2]}
    assert shown == {step: pytest.approx(seconds, abs=0.05) for step, seconds in steps.items()}
    assert printed[-2].split()[0] == "total"


def test_omsi_run_with_nothing_new_returns_before_dagster_starts(built_home, monkeypatch):
    home, _, _ = built_home
    monkeypatch.setenv("OMSI_HOME", str(home.root))
    instance = dg.DagsterInstance.from_config(str(prepare_dagster_home(home)))
    runs = len(instance.get_runs())
    first = CliRunner().invoke(app, ["run"])  # records the landing folder as it found it
    assert first.exit_code == 0, first.output
    published = home.serving.stat().st_mtime_ns

    again = CliRunner().invoke(app, ["run"])
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith("nothing new: the landing folder holds the files run")
    assert len(instance.get_runs()) <= runs + 1  # the second started no Dagster run
    assert home.serving.stat().st_mtime_ns == published

    # A touched file is something to look at again.
    touched = next((home.landing / "olist" / "events").glob("*.jsonl"))
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 1_000_000_000))
    third = CliRunner().invoke(app, ["run"])
    assert third.exit_code == 0, third.output
    assert "nothing new" not in third.stdout and "where the time went" in third.stdout


def test_a_failing_blocking_check_stops_everything_downstream(tmp_path):
    home = _home_with_olist(tmp_path)
    # Valid per the contract, but from the future: the batch suite rejects the whole batch.
    future = {
        "event_id": "clock-bug-1",
        "event_type": "shipment.delivered",
        "occurred_at": "2099-01-01T00:00:00Z",
        "source": "tms",
        "schema_version": 1,
        "data": {"shipment_id": "s1", "order_id": "o1"},
    }
    (home.landing / "late.jsonl").write_text(json.dumps(future) + "\n")
    result = run_refresh(home, progress=lambda _: None)

    assert not result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["landed_events_suite"] is False
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "raw/events" in materialized
    assert not any(k.startswith("staging/") for k in materialized)
    assert not home.serving.exists()


def test_landing_sensor_requests_a_run_only_when_files_change(tmp_path):
    home = OmsiHome(tmp_path / "home").ensure()
    sensor = build_landing_sensor(REFRESH_JOB)
    warehouse = WarehouseResource(home=str(home.root))

    context = dg.build_sensor_context(cursor=None, resources={"warehouse": warehouse})
    assert isinstance(sensor(context), dg.SkipReason)  # empty landing folder

    convert_olist(FIXTURE, home.landing / "olist")
    context = dg.build_sensor_context(cursor=None, resources={"warehouse": warehouse})
    request = sensor(context)
    assert isinstance(request, dg.RunRequest)

    unchanged = dg.build_sensor_context(cursor=request.run_key, resources={"warehouse": warehouse})
    assert isinstance(sensor(unchanged), dg.SkipReason)

    (home.landing / "more.jsonl").write_text("")
    changed = dg.build_sensor_context(cursor=request.run_key, resources={"warehouse": warehouse})
    assert isinstance(sensor(changed), dg.RunRequest)


def test_the_dashboard_reads_what_the_run_published(built_home, monkeypatch):
    from streamlit.testing.v1 import AppTest

    home, _, _ = built_home
    monkeypatch.setenv("OMSI_SERVING", str(home.serving))
    app = AppTest.from_file(
        str(Path(__file__).parents[1] / "dashboards" / "app.py"), default_timeout=60
    )
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    # The landing page is the Overview over the published kpi_daily: its on-time tile is the
    # mart's ratio of sums over the page's default period.
    tiles = {m.label: m.value for m in app.metric}
    period = app.date_input[0].value
    with duckdb.connect(str(home.serving), read_only=True) as con:
        (on_time,) = con.execute(
            """
            select sum(numerator) / sum(denominator) from kpi_daily
            where kpi = 'on_time_rate' and kpi_date between ? and ?
            """,
            list(period),
        ).fetchall()[0]
    assert tiles["On-time delivery"] == f"{on_time:.1%}"

    app.switch_page("app_pages/ingest.py")
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    metrics = {m.label: int(m.value.replace(",", "")) for m in app.metric}
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        read, landed = con.execute(
            "select sum(lines_read), sum(landed) from raw.ingest_files"
        ).fetchall()[0]
    assert metrics["Lines read"] == read and metrics["Landed"] == landed
    assert any("Reconciled" in s.value for s in app.success)


def _failed_checks(result: dg.ExecuteInProcessResult) -> set[str]:
    return {e.check_name for e in result.get_asset_check_evaluations() if not e.passed}


def _assert_same_tables(one: Path, other: Path) -> None:
    """Every table but the manifest holds the same rows (as multisets) in both snapshots."""
    differing = differing_rows(one, other)
    assert "fct_orders" in differing and not any(differing.values()), differing


def test_an_incremental_run_tests_what_it_wrote_and_the_nightly_check_finds_history(
    built_home, tmp_path
):
    home, first, _ = built_home
    # A copy, so that the tests after this one find the home as the first run left it.
    copy = OmsiHome(tmp_path / "home")
    shutil.copytree(home.root, copy.root)
    # New events: one order of the excerpt again under new ids, so the run writes new rows.
    source = sorted((copy.landing / "olist" / "events").glob("*.jsonl"))[0]
    events = [json.loads(line) for line in source.open()]
    order_id = next(e["data"]["order_id"] for e in events if e["event_type"] == "order.placed")
    (placed,) = [
        e for e in events if e["event_type"] == "order.placed" and e["data"]["order_id"] == order_id
    ]
    placed["event_id"] += "-again"
    placed["data"]["order_id"] += "-again"
    (copy.landing / "again.jsonl").write_text(json.dumps(placed) + "\n")
    # And a row in history broken after the build that tested it.
    with duckdb.connect(str(copy.warehouse)) as con:
        (broken,) = con.execute(
            "select order_id from staging.stg_oms__orders_placed order by order_id limit 1"
        ).fetchall()[0]
        con.execute(
            "update staging.stg_oms__orders_placed set channel = null where order_id = ?", [broken]
        )
        (through,) = con.execute(
            "select through_batch_id from ops.dbt_builds order by finished_at desc limit 1"
        ).fetchall()[0]

    messages: list[str] = []
    incremental = run_refresh(copy, progress=messages.append)
    # The run tested the rows it wrote, not the broken one, and said so.
    assert incremental.success, "\n".join(messages[-40:])
    assert any(f"rows of batches after {through}" in m for m in messages), messages
    checked = {e.check_name for e in incremental.get_asset_check_evaluations()}
    everything = {e.check_name for e in first.get_asset_check_evaluations()}
    assert "stg_oms__orders_placed_columns_not_null" in checked
    assert not any(name.startswith("relationships_") for name in checked)
    assert {name for name in everything if name.startswith("relationships_")}
    # The replay's candidates wait for full builds (and `omsi replay`).
    built = {e.asset_key.path[-1] for e in incremental.get_asset_materialization_events()}
    built_first = {e.asset_key.path[-1] for e in first.get_asset_materialization_events()}
    assert "ml_delivery_features" in built and "ml_shadow_candidates" not in built
    assert "ml_shadow_candidates" in built_first
    # What is built from reference files alone is left as it is (tests/test_dbt_builds.py has
    # which tests still run).
    assert "dim_nodes" not in built and "dim_nodes" in built_first
    # Serving brought the old snapshot's order facts up to date for the changed orders only, and
    # every table equals a snapshot copied whole from the same warehouse.
    events = incremental.get_asset_materialization_events()
    serving = [
        e.materialization.metadata["order_facts"].value
        for e in events
        if e.asset_key.path == ["serving", "snapshot"]
    ]
    assert serving, sorted("/".join(e.asset_key.path) for e in events)[-30:]
    assert serving == ["changed orders: 1"]
    _, whole = publish_snapshot(copy.warehouse, tmp_path / "whole.duckdb", whole=True)
    assert whole is None
    _assert_same_tables(copy.serving, tmp_path / "whole.duckdb")
    with duckdb.connect(str(copy.warehouse), read_only=True) as con:
        scopes = con.execute(
            "select tests_after_batch from ops.dbt_builds order by finished_at"
        ).fetchall()
        (rebuilt,) = con.execute(
            "select count(*) from marts.fct_orders where order_id = ?", [order_id + "-again"]
        ).fetchall()[0]
    assert scopes[0] == (None,) and scopes[-1] == (through,) and rebuilt == 1

    # The nightly full check reads every row: it finds the broken one (and the views over it).
    nightly = run_refresh(copy, full_checks=True, progress=lambda _: None)
    assert not nightly.success
    failed = _failed_checks(nightly)
    assert "stg_oms__orders_placed_columns_not_null" in failed
    assert all("channel" in name or name.endswith("_columns_not_null") for name in failed), failed
    # A model's not-null test fails once per column holding nulls: channel alone.
    not_null = [
        e.metadata["dagster_dbt/failed_row_count"].value
        for e in nightly.get_asset_check_evaluations()
        if not e.passed and e.check_name.endswith("_columns_not_null")
    ]
    assert not_null and set(not_null) == {1}, not_null
