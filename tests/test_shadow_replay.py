"""The shadow replay over real simulated worlds built with dbt (pipelines/replay/, `omsi replay`).

One world (3,000 orders over 40 days) is built three times: as generated; with every event after
an instant T dropped or moved later (the replay of every decision made by T must not change);
and with one node's deliveries delayed for two weeks (its penalty must rise, and the feed's rule
must then move its orders to other nodes).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from models.registry import Registry, load_artifact
from models.training import TrainedModel
from pipelines import warehouse
from pipelines.cli import app
from pipelines.ml.training_run import train_model
from pipelines.replay.shadow import Estimator, replay
from pipelines.simulator import generate
from tests.dbt_runner import run_dbt
from tests.world_builds import build, rewrite_events

pytestmark = pytest.mark.slow

START = datetime(2024, 9, 1, tzinfo=UTC)
CUT = START + timedelta(days=24, hours=13)
# The late node's deliveries on these days arrive this much later.
LATE_FROM, LATE_TO, LATE_BY = START + timedelta(days=8), START + timedelta(days=22), 4
# The replay's dbt models and their marts, without tests (they run once, after a replay).
REPLAY_PATH = [
    "build",
    "--select",
    "+ml_shadow_candidates",
    "+fct_shadow_routing",
    "+agg_shadow_routing_daily",
    "--exclude",
    "resource_type:test",
    "resource_type:unit_test",
]
REPLAY_TESTS = ["test", "--select", "ml_routing_penalties", "ml_shadow_candidates",
                "fct_shadow_routing+"]  # fmt: skip
AT = datetime(2024, 12, 1)


def _at(event: dict) -> datetime:
    return datetime.fromisoformat(event["occurred_at"].replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("replay")
    generated = root / "world"
    generate(generated, orders=3000, days=40, seed=5, start=START.date())
    landing = root / "landing"
    shutil.copytree(generated / "events", landing / "events")
    shutil.copytree(generated / "reference", landing / "reference")
    home = root / "home"
    build(landing, home / "warehouse.duckdb", root / "dbt-full", REPLAY_PATH)
    yield {"root": root, "generated": generated, "home": home, "wh": home / "warehouse.duckdb"}


@pytest.fixture(scope="module")
def model(world: dict[str, Any]) -> Estimator:
    """The delivery model of the whole world, promoted or not: one estimator for every replay."""
    registry = Registry(world["root"] / "models")
    con = warehouse.connect(world["wh"])
    try:
        outcome = train_model(con, registry, "delivery")
    finally:
        con.close()
    version = registry.versions("delivery")[-1]
    trained = TrainedModel.from_payload(load_artifact(version))
    return Estimator.of_model(outcome.version, trained.predict)


def _replayed(wh: Path, estimator: Estimator) -> tuple[pd.DataFrame, pd.DataFrame]:
    con = duckdb.connect(str(wh), read_only=True)
    try:
        features = con.execute("select * from ml.ml_delivery_features").df()
        candidates = con.execute("select * from ml.ml_shadow_candidates").df()
    finally:
        con.close()
    return replay(features, candidates, estimator, AT), candidates


def _sorted(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    return frame.sort_values(by).reset_index(drop=True)


def test_the_replay_ignores_every_event_after_a_decisions_cutoff(world, model) -> None:
    counts = {"dropped": 0, "moved": 0}

    def edit(event: dict) -> dict | None:
        at = _at(event)
        if at <= CUT:
            return event
        if (counts["dropped"] + counts["moved"]) % 2 == 0:
            counts["dropped"] += 1
            return None
        counts["moved"] += 1
        return event | {"occurred_at": (at + timedelta(days=3)).isoformat()}

    root = world["root"]
    rewrite_events(world["generated"], root / "cut-landing", edit)
    assert counts["dropped"] > 1000 and counts["moved"] > 1000
    cut_wh = root / "cut" / "warehouse.duckdb"
    build(root / "cut-landing", cut_wh, root / "dbt-cut", REPLAY_PATH)

    full, full_candidates = _replayed(world["wh"], model)
    cut, cut_candidates = _replayed(cut_wh, model)
    decided = CUT.replace(tzinfo=None)
    before = [_sorted(f[f["cutoff_at"] <= decided], ["order_id"]) for f in (full, cut)]
    assert len(before[0]) > 1000
    # Not vacuous: some of those decisions had rivals, and some moved.
    assert before[0]["is_changed"].sum() > 5
    pd.testing.assert_frame_equal(before[0], before[1], check_exact=True)
    rivals = [
        _sorted(c[c["cutoff_at"] <= decided], ["order_id", "node_id"])
        for c in (full_candidates, cut_candidates)
    ]
    pd.testing.assert_frame_equal(rivals[0], rivals[1], check_exact=True)
    # The comparison sees a difference where there is one: decisions after T do change.
    after = [f[f["cutoff_at"] > decided] for f in (full, cut)]
    both = set(after[0]["order_id"]) & set(after[1]["order_id"])
    later = [_sorted(f[f["order_id"].isin(both)], ["order_id"]) for f in after]
    assert len(later[0]) > 100 and not later[0].equals(later[1])


def _busiest_contested_node(wh: Path) -> str:
    """The node the OMS chose most often for delivery orders others could have taken."""
    with duckdb.connect(str(wh), read_only=True) as con:
        return con.execute(
            """
            select node_id from ml.ml_shadow_candidates
            where is_chosen and is_replayed and candidate_nodes > 3
            group by node_id order by count(*) desc, node_id limit 1
            """
        ).fetchall()[0][0]


def test_a_node_that_turned_late_loses_its_orders_to_the_feeds_rule(world, model) -> None:
    late_node = _busiest_contested_node(world["wh"])
    shipped_there = set()
    for path in (world["generated"] / "events").iterdir():
        for line in path.read_bytes().splitlines():
            event = json.loads(line)
            if event["event_type"] == "shipment.shipped" and event["data"]["node_id"] == late_node:
                shipped_there.add(event["data"]["shipment_id"])

    def edit(event: dict) -> dict:
        at = _at(event)
        if (
            event["event_type"] == "shipment.delivered"
            and event["data"]["shipment_id"] in shipped_there
            and LATE_FROM <= at < LATE_TO
        ):
            return event | {"occurred_at": (at + timedelta(days=LATE_BY)).isoformat()}
        return event

    root = world["root"]
    rewrite_events(world["generated"], root / "late-landing", edit)
    late_wh = root / "late" / "warehouse.duckdb"
    build(root / "late-landing", late_wh, root / "dbt-late", REPLAY_PATH)

    # The days after the late fortnight, while it is still in the feed's 28-day history.
    window = (
        (LATE_TO + timedelta(days=LATE_BY + 1)).replace(tzinfo=None),
        (LATE_TO + timedelta(days=LATE_BY + 10)).replace(tzinfo=None),
    )

    def share_moved(wh: Path) -> tuple[float, int]:
        decisions, candidates = _replayed(wh, model)
        rivalled = candidates[candidates["is_chosen"] & (candidates["candidate_nodes"] > 1)]
        mine = decisions[
            (decisions["chosen_node_id"] == late_node)
            & decisions["order_id"].isin(rivalled["order_id"])
            & decisions["cutoff_at"].between(*window)
        ]
        return float(mine["is_changed"].mean()), len(mine)

    before, orders = share_moved(world["wh"])
    after, orders_after = share_moved(late_wh)
    assert orders > 20 and orders_after > 20
    assert after > 0.8 and after > before + 0.4, (late_node, before, after)
    with duckdb.connect(str(late_wh), read_only=True) as con:
        (penalty,) = con.execute(
            "select min(routing_penalty) from ml.ml_routing_penalties"
            " where node_id = ? and penalty_date between ? and ?",
            [late_node, window[0].date(), window[1].date()],
        ).fetchall()[0]
    assert penalty > 10  # most of its recent deliveries late x 25.00 a late order


def test_omsi_replay_writes_the_mart_and_serving_with_history_then_the_model(
    world, monkeypatch
) -> None:
    home = world["home"]
    monkeypatch.setenv("OMSI_HOME", str(home))
    runner = CliRunner()
    result = runner.invoke(app, ["replay", "--json"])
    assert result.exit_code == 0, result.output
    assert "no delivery model is promoted" in result.stderr
    summary = json.loads(result.stdout)
    assert summary["late_estimate"] == "history" and summary["model_version"] is None
    with duckdb.connect(str(world["wh"]), read_only=True) as con:
        (decisions,) = con.execute("select count(*) from ml.ml_delivery_features").fetchall()[0]
    assert summary["decisions"] == decisions
    assert 0 < summary["changed"] < summary["replayed"] <= decisions
    assert summary["share_changed"] == pytest.approx(summary["changed"] / decisions)

    registry = Registry(home / "models")
    con = warehouse.connect(world["wh"])
    try:
        outcome = train_model(con, registry, "delivery")
    finally:
        con.close()
    if not outcome.promoted:  # six weeks can leave it below its gates; promote it by hand
        registry.promote(registry.versions("delivery")[-1], {"test": "by hand"})
    result = runner.invoke(app, ["replay"])
    assert result.exit_code == 0, result.output
    assert "an estimate from the model, not a measurement" in result.stdout.lower()
    assert f"changed by the feed's rule: {summary['changed']:,}" in result.stdout

    with duckdb.connect(str(home / "serving.duckdb"), read_only=True) as serving:
        rows = serving.execute(
            "select count(*), count(distinct model_version), min(late_estimate),"
            " sum(is_changed::int) from fct_shadow_routing"
        ).fetchall()[0]
        by_node = serving.execute(
            "select sum(decisions), sum(changed_decisions) from agg_shadow_routing_daily"
        ).fetchall()[0]
        tables = {name for (name,) in serving.execute("show tables").fetchall()}
    assert rows == (decisions, 1, "model", summary["changed"])
    assert by_node == (decisions, summary["changed"])
    assert "ml_shadow_candidates" not in tables and "shadow_routing_decisions" not in tables
    # The marts' data tests hold on a real replay.
    code, output, _ = run_dbt(REPLAY_TESTS, world["wh"], world["root"] / "dbt-tests")
    assert code == 0, output[-6000:]
