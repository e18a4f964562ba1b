"""`omsi experiment` end to end on a small world: the real pipeline in the loop, both branches
measured from their own marts, the control exactly a plain world of the same seed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from pipelines.simulator import generate
from pipelines.warehouse import connect

# The smallest world whose risk models pass their gates by the switch day (a smaller one has
# no scores to feed, and the experiment says so).
ORDERS, DAYS, SEED, SWITCH = 4000, 30, 42, 20
OMSI = Path(sys.executable).with_name("omsi")
METRIC_FIELDS = {"control", "treatment", "relative_change", "ci_low", "ci_high"}


@pytest.fixture(scope="module")
def experiment(tmp_path_factory) -> tuple[Path, dict, subprocess.CompletedProcess]:
    home = tmp_path_factory.mktemp("home")
    # One refresh: the pipeline runs on the switch day, then once per branch at the end.
    args = [str(OMSI), "experiment", "--orders", str(ORDERS), "--days", str(DAYS)]
    args += ["--seed", str(SEED), "--switch-day", str(SWITCH), "--refresh-days", "30"]
    args += ["--resamples", "300", "--json"]
    done = subprocess.run(
        args,
        env={**os.environ, "OMSI_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=1800,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert len(lines) == 1, f"--json must print one object and nothing else: {done.stdout[:500]}"
    return home, json.loads(lines[0]), done


def _world_files(world: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(world)): p.read_bytes() for p in sorted(world.rglob("*")) if p.is_file()
    }


def test_the_result_names_every_metric_with_its_interval(experiment):
    home, result, done = experiment
    metrics = result["metrics"]
    assert set(metrics) == {
        "late_deliveries",
        "stock_cancellations",
        "cost_to_serve_per_order",
        "on_time_rate",
        "split_rate",
        "km_per_shipment",
        "orders_with_rejection",
    }
    for name, m in metrics.items():
        assert set(m) == METRIC_FIELDS, name
        assert m["ci_low"] <= m["ci_high"], name
    assert result["switch_day"] == SWITCH and result["orders_compared"] > 0
    assert set(result["node_mix"]) == {"control", "treatment"}
    assert "pipeline ok" in done.stderr  # progress on standard error, never on standard output
    saved = json.loads(Path(home, "experiments", result["experiment"], "result.json").read_text())
    assert saved["metrics"] == metrics
    with connect(home / "warehouse.duckdb", read_only=True) as con:
        rows = con.execute(
            "select metric, relative_change from ml.experiment_results where experiment = ?",
            [result["experiment"]],
        ).fetchall()
    assert dict(rows) == {k: m["relative_change"] for k, m in metrics.items()}


def test_the_control_is_a_plain_world_and_the_treatment_its_twin_until_the_switch(
    experiment, tmp_path
):
    _, result, _ = experiment
    control = Path(result["branches"]["control"]) / "landing" / "world"
    treatment = Path(result["branches"]["treatment"]) / "landing" / "world"
    plain = tmp_path / "plain"
    generate(plain, orders=ORDERS, days=DAYS, seed=SEED)
    assert _world_files(control) == _world_files(plain)
    # Before the switch day both route alike and share every draw: the same day files.
    days = sorted(p.name for p in (control / "events").glob("*.jsonl"))[:SWITCH]
    for name in days:
        assert (treatment / "events" / name).read_bytes() == (
            control / "events" / name
        ).read_bytes()
    after = sorted(p.name for p in (control / "events").glob("*.jsonl"))[SWITCH:]
    assert any(
        (treatment / "events" / n).read_bytes() != (control / "events" / n).read_bytes()
        for n in after
    ), "the feed's routing changed nothing"


def test_the_treatment_routed_on_the_snapshot_its_own_pipeline_published(experiment):
    _, result, _ = experiment
    [snapshot] = result["snapshots"]
    assert snapshot["day"] == SWITCH
    feed = Path(result["branches"]["treatment"]) / "feed"
    assert (feed / snapshot["snapshot_id"] / "manifest.json").exists()
    meta = json.loads((feed.parent / "landing" / "world" / "truth" / "world.json").read_text())
    assert meta["routing"]["snapshots"] == result["snapshots"]


def test_each_branch_is_measured_from_its_own_marts(experiment):
    """The marts' late orders agree with the simulator's truth for each branch: the marts count
    completed orders that missed their promise; the truth also counts lost ones."""
    _, result, _ = experiment
    for branch in ("control", "treatment"):
        truth = pd.read_parquet(
            Path(result["branches"][branch]) / "landing/world/truth/order_drivers.parquet"
        )
        since = truth["placed_at"].astype(str) >= result["switch_date"]
        truly_late = int(truth.loc[since, "is_late"].fillna(False).sum())
        measured = result["metrics"]["late_deliveries"][branch]
        assert 0.9 * truly_late <= measured <= truly_late, branch
        stock = int((truth.loc[since, "cancel_reason"] == "out_of_stock").sum())
        assert result["metrics"]["stock_cancellations"][branch] == stock, branch
