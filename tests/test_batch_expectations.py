"""The Great Expectations suite over a landed batch, validated a slice at a time so that a first
run's millions of events fit in memory: slicing must not change what the suite finds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines import warehouse
from pipelines.ingest import expectations
from pipelines.ingest import warm_checks as warm_checks_module
from pipelines.ingest.expectations import validate_landed_batch
from pipelines.ingest.warm_checks import warm_checks


def _land(
    wh: Path, rows: list[tuple[str, str, str]], batch_id: int, occurred_at: str = "2025-01-02"
) -> None:
    con = warehouse.connect(wh)
    for event_id, event_type, source in rows:
        con.execute(
            """
            insert into raw.events values (
                $id, $type, $at::timestamp, $source, 1, 'O1', '{}', 0,
                'events/f.jsonl', 1, $batch, now()::timestamp
            )
            """,
            {
                "id": event_id,
                "type": event_type,
                "source": source,
                "batch": batch_id,
                "at": occurred_at,
            },
        )
    con.close()


@pytest.mark.parametrize("slice_rows", [1_000_000, 3])
def test_every_copy_of_an_event_id_is_found_whatever_the_slices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slice_rows: int
) -> None:
    monkeypatch.setattr(expectations, "SLICE_ROWS", slice_rows)
    wh = tmp_path / "warehouse.duckdb"
    _land(wh, [("old", "order.placed", "web")], batch_id=1)
    # Batch 2: 20 events, one event_id landed twice and one type outside the contract.
    rows = [(f"e{i}", "order.placed", "web") for i in range(17)]
    rows += [("e3", "order.placed", "web"), ("e4", "order.placed", "web")]
    rows += [("e99", "order.exploded", "web")]
    _land(wh, rows, batch_id=2)

    con = warehouse.connect(wh, read_only=True)
    result = validate_landed_batch(con)
    con.close()

    assert (result.batch_id, result.rows) == (2, 20)
    failed = {(o.expectation, o.column): o.unexpected for o in result.failures()}
    assert failed == {
        ("expect_column_values_to_be_unique", "event_id"): 4,
        ("expect_column_values_to_be_in_set", "event_type"): 1,
    }
    assert len(result.outcomes) == 9


@pytest.mark.parametrize(
    "occurred_at", ["1999-12-31 23:59:59", "2400-01-01", "1500-06-01", "9999-12-31"]
)
def test_an_instant_outside_the_expected_range_fails_however_far_out(
    tmp_path: Path, occurred_at: str
) -> None:
    # The suite reads instants in nanoseconds, whose range ends in 1677 and 2262: an instant
    # beyond either end must still be counted as outside 2000 to tomorrow, not break the suite.
    wh = tmp_path / "warehouse.duckdb"
    _land(wh, [("a", "order.placed", "web")], batch_id=1)
    _land(wh, [("b", "order.placed", "web")], batch_id=1, occurred_at=occurred_at)

    con = warehouse.connect(wh, read_only=True)
    result = validate_landed_batch(con)
    con.close()

    failed = {(o.expectation, o.column): o.unexpected for o in result.failures()}
    assert failed == {("expect_column_values_to_be_between", "occurred_at"): 1}


def test_the_suite_runs_where_the_main_module_has_no_file(tmp_path: Path) -> None:
    # `python -c`, a notebook, a pytest-xdist worker: there, pyspark's Spark Connect ends the
    # process with status 0 on its first import, and Great Expectations imports it when it can.
    script = """
import pandas as pd
from pipelines.ingest.expectations import validate_batch
frame = pd.DataFrame({
    "event_id": ["e1", "e1"], "event_type": ["order.placed"] * 2,
    "occurred_at": pd.to_datetime(["2025-01-01", "2025-01-02"]).astype("datetime64[ns]"),
    "source": ["web", "web"], "schema_version": [1, 1],
})
result = validate_batch(frame, 1)
print("failed:", ",".join(o.expectation for o in result.failures()))
import pyspark.sql.connect  # and whoever needs it later still imports it
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "failed: expect_column_values_to_be_unique" in done.stdout, done.stderr[-2000:]


def _failures(wh: Path) -> dict[tuple[str, str | None], int]:
    con = warehouse.connect(wh, read_only=True)
    result = validate_landed_batch(con)
    con.close()
    assert result.rows == 20
    return {(o.expectation, o.column): o.unexpected for o in result.failures()}


def _batch_with_failures(wh: Path) -> None:
    rows = [(f"e{i}", "order.placed", "web") for i in range(18)]
    rows += [("e3", "order.placed", "web"), ("e99", "order.exploded", "web")]
    _land(wh, rows, batch_id=1)


def test_the_warm_worker_finds_what_the_suite_finds_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = tmp_path / "warehouse.duckdb"
    _batch_with_failures(wh)
    monkeypatch.setattr(expectations, "SLICE_ROWS", 7)  # three slices, three requests
    here = _failures(wh)
    assert here == {
        ("expect_column_values_to_be_unique", "event_id"): 2,
        ("expect_column_values_to_be_in_set", "event_type"): 1,
    }

    def not_here(*args, **kwargs):
        raise AssertionError("the suite ran in this process, not in the warm worker")

    with warm_checks():
        monkeypatch.setattr(expectations, "validated_frames", not_here)
        assert _failures(wh) == here


def test_a_worker_that_died_leaves_the_suite_to_this_process(tmp_path: Path) -> None:
    wh = tmp_path / "warehouse.duckdb"
    _batch_with_failures(wh)
    with warm_checks():
        worker = warm_checks_module._worker
        worker.kill()
        worker.wait()
        assert _failures(wh) == {
            ("expect_column_values_to_be_unique", "event_id"): 2,
            ("expect_column_values_to_be_in_set", "event_type"): 1,
        }
        assert warm_checks_module._worker is None  # not asked again


def test_a_worker_that_hangs_is_given_up_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = tmp_path / "warehouse.duckdb"
    _batch_with_failures(wh)
    monkeypatch.setattr(warm_checks_module, "REPLY_TIMEOUT_S", 1.0)
    with warm_checks():
        worker = warm_checks_module._worker
        os.kill(worker.pid, signal.SIGSTOP)  # alive, and never answers
        assert _failures(wh) == {
            ("expect_column_values_to_be_unique", "event_id"): 2,
            ("expect_column_values_to_be_in_set", "event_type"): 1,
        }
        assert warm_checks_module._worker is None  # not asked again
        assert worker.returncode is not None  # and not left stopped behind
