"""The routing feed in the Dagster code location: its asset, job and schedule, a real
in-process run that publishes, and a refusal when a blocking check upstream failed.

The scores come from a synthetic warehouse (tests/feed_fixtures.py says why); the check
failure is recorded in a real Dagster instance as a check evaluation.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from pipelines.definitions import REFRESH_JOB, defs
from pipelines.defs.feed.assets import FEED_KEY, MART_KEYS, SCORE_KEYS
from pipelines.defs.feed.schedules import FEED_JOB, build_feed_schedule
from pipelines.defs.warehouse_resource import WarehouseResource
from pipelines.feed.sinks.files import snapshot_folders
from pipelines.settings import OmsiHome
from tests.feed_fixtures import build_synthetic_warehouse


def test_the_feed_hangs_below_the_scores_and_has_its_own_job_and_schedule() -> None:
    graph = defs.resolve_asset_graph()
    node = graph.get(FEED_KEY)
    assert set(SCORE_KEYS) | set(MART_KEYS) <= set(node.parent_keys)
    assert node.group_name == "feed"
    assert FEED_KEY not in defs.resolve_job_def(REFRESH_JOB).asset_layer.selected_asset_keys
    assert defs.resolve_job_def(FEED_JOB).asset_layer.selected_asset_keys == {FEED_KEY}
    schedule = defs.resolve_schedule_def("routing_feed_schedule")
    assert schedule.cron_schedule == "0 * * * *"
    assert schedule.job_name == FEED_JOB


def test_the_schedule_reads_its_cron_from_feed_toml(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "feed.toml").write_text('[schedule]\ncron = "*/15 * * * *"\n')
    monkeypatch.setenv("OMSI_HOME", str(tmp_path))
    assert build_feed_schedule().cron_schedule == "*/15 * * * *"


@pytest.fixture
def home(tmp_path: Path) -> OmsiHome:
    home = OmsiHome(tmp_path / "home")
    build_synthetic_warehouse(home)
    return home


def _run(home: OmsiHome, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    job = defs.resolve_job_def(FEED_JOB)
    return job.execute_in_process(
        instance=instance,
        resources={"warehouse": WarehouseResource(home=str(home.root))},
        raise_on_error=False,
    )


def test_a_failed_blocking_check_upstream_stops_the_publish_and_is_named(home: OmsiHome) -> None:
    with dg.instance_for_test() as instance:
        instance.report_runless_asset_event(
            dg.AssetCheckEvaluation(
                asset_key=dg.AssetKey(["raw", "events"]),
                check_name="landed_events_suite",
                passed=False,
            )
        )
        result = _run(home, instance)
        assert not result.success
        failure = result.get_step_failure_events()[0].step_failure_data.error
        assert "raw/events:landed_events_suite" in failure.message
        assert snapshot_folders(home.feed) == []

        # Once the check passes again, the same job publishes.
        instance.report_runless_asset_event(
            dg.AssetCheckEvaluation(
                asset_key=dg.AssetKey(["raw", "events"]),
                check_name="landed_events_suite",
                passed=True,
            )
        )
        result = _run(home, instance)
        assert result.success
        materialization = result.asset_materializations_for_node("feed__routing_feed")[0]
        snapshot_id = materialization.metadata["snapshot_id"].value
        assert [p.name for p in snapshot_folders(home.feed)] == [snapshot_id]
        assert materialization.metadata["sink.file"].value == "delivered"


def test_the_schedule_runs_only_when_the_scores_are_newer_than_the_last_snapshot() -> None:
    schedule = build_feed_schedule("0 * * * *")
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(instance=instance)
        assert isinstance(schedule.evaluate_tick(context).skip_message, str)
        for key in SCORE_KEYS:
            instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key))
        assert len(schedule.evaluate_tick(context).run_requests) == 1
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=FEED_KEY))
        assert "already" in schedule.evaluate_tick(context).skip_message
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=SCORE_KEYS[0]))
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=SCORE_KEYS[1]))
        assert len(schedule.evaluate_tick(context).run_requests) == 1


def test_scores_older_than_the_last_build_are_not_published(home: OmsiHome) -> None:
    import duckdb

    with duckdb.connect(str(home.warehouse)) as con:
        # A warehouse build after the last scoring: the scores describe older marts.
        con.execute(
            """
            create schema ops;
            create table ops.dbt_builds (finished_at timestamp, through_batch_id bigint,
                project_fingerprint varchar, full_refresh boolean);
            insert into ops.dbt_builds
            select max(scored_at) + interval 1 hour, 1, 'x', false from ml.delivery_risk_scores;
            """
        )
    with dg.instance_for_test() as instance:
        result = _run(home, instance)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert "older than the warehouse build" in failure.message and "omsi run" in failure.message
    assert snapshot_folders(home.feed) == []
