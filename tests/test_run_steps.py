"""Splitting a run's wall time by step: the parts come off their Dagster step, the lines add up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.dbt.builds import BuildTimes, build_times, build_times_of_run, record_build
from pipelines.run_steps import describe, record_steps, recorded_steps, split_run
from pipelines.warehouse import connect

WALLS = {
    "raw_tables": 10.0,
    "lake__raw_batches": 0.25,
    "dbt_models": 50.0,
    "ml__delivery_model": 4.0,
    "ml__inventory_model": 1.0,
    "ml__delivery_risk_scores": 0.5,
    "ml__inventory_risk_scores": 0.25,
    "serving__snapshot": 2.0,
}


def test_parts_come_off_their_step_and_the_rest_is_other() -> None:
    steps = split_run(
        80.0, WALLS, checks=1.5, dbt=BuildTimes(elapsed=40.0, models=12.0, tests=20.0)
    )
    assert {s.step: s.seconds for s in steps} == {
        "ingest": 8.5,
        "batch checks": 1.5,
        "lake": 0.25,
        "dbt models": 12.0,
        "dbt tests": 20.0,
        "dbt other": 18.0,
        "training": 5.0,
        "scoring": 0.75,
        "serving": 2.0,
        "dagster and other": 80.0 - sum(WALLS.values()),
    }
    assert sum(s.seconds for s in steps) == pytest.approx(80.0)


def test_a_run_that_built_nothing_has_zero_dbt_models_and_tests() -> None:
    steps = {s.step: s.seconds for s in split_run(20.0, {"raw_tables": 1.0, "dbt_models": 0.5})}
    assert (steps["dbt models"], steps["dbt tests"], steps["dbt other"]) == (0.0, 0.0, 0.5)
    assert "feed" not in steps and "serving" not in steps
    assert steps["dagster and other"] == 18.5


def test_a_step_of_no_known_kind_counts_as_other() -> None:
    steps = {s.step: s.seconds for s in split_run(10.0, {"some_new_step": 3.0, "feed__x": 1.0})}
    assert steps["dagster and other"] == 9.0 and steps["feed"] == 1.0


def _ran(node: str, start: float, stop: float) -> dict:
    """A run_results.json entry of a node that compiled and ran between those seconds."""

    def stamp(second: float) -> str:
        return f"2026-12-06T06:00:{second:06.3f}Z"

    middle = (start + stop) / 2
    return {
        "unique_id": node,
        "execution_time": stop - start,
        "timing": [
            {"name": "compile", "started_at": stamp(start), "completed_at": stamp(middle)},
            {"name": "execute", "started_at": stamp(middle), "completed_at": stamp(stop)},
        ],
    }


def test_dbt_times_are_wall_times_by_node_kind() -> None:
    results = {
        "elapsed_time": 9.0,
        "results": [
            _ran("model.omsi.fct_orders", 0.0, 2.0),
            # Beside the model (an incremental build runs several nodes at once): counted once.
            _ran("model.omsi.fct_shipments", 1.0, 2.5),
            _ran("seed.omsi.cost_model", 3.0, 3.5),
            # Tests while a model runs count as models' time; the rest as tests'.
            _ran("test.omsi.unique_fct_orders_order_id.1", 3.25, 4.25),
            _ran("unit_test.omsi.fct_orders.on_time", 5.0, 5.25),
            {"unique_id": "test.omsi.skipped", "execution_time": 0.0, "timing": []},
        ],
    }
    assert build_times(json.loads(json.dumps(results))) == BuildTimes(9.0, 3.0, 1.0)


def test_steps_and_build_times_are_kept_by_run(tmp_path: Path) -> None:
    with connect(tmp_path / "warehouse.duckdb") as con:
        assert recorded_steps(con, "run-a") == []
        record_build(con, "fp", full_refresh=False, run_id="run-a", times=BuildTimes(3, 1, 1))
        record_build(con, "fp", full_refresh=False)  # a build with no run (tests, scripts)
        assert build_times_of_run(con, "run-a") == BuildTimes(3, 1, 1)
        assert build_times_of_run(con, "run-b") is None
        steps = split_run(30.0, {"raw_tables": 2.0, "dbt_models": 5.0}, dbt=BuildTimes(3, 1, 1))
        record_steps(con, "run-a", steps)
        record_steps(con, "run-a", steps)  # recorded twice: still once
        assert recorded_steps(con, "run-a") == steps
    table = describe("run-a", steps)
    assert table.splitlines()[-1].split() == ["total", "30.0", "s"]
    assert "dbt tests" in table and "dagster and other" in table
