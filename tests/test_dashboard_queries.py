"""The dashboards' query layer, snapshot handling and reconciliation wording, without a browser."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from dashboards import queries
from dashboards.reconciliation import MAX_LISTED, reconciliation_problems
from dashboards.snapshot import (
    SnapshotError,
    age_text,
    current_version,
    open_read_only,
    serving_path,
)
from tests.dashboard_fixtures import write_serving_snapshot


@pytest.fixture
def snapshot(tmp_path: Path):
    fixture = write_serving_snapshot(tmp_path / "serving.duckdb")
    return fixture, current_version(fixture.path)


def test_serving_path_prefers_omsi_serving_then_omsi_home(tmp_path: Path) -> None:
    direct = tmp_path / "elsewhere.duckdb"
    assert serving_path({"OMSI_SERVING": str(direct), "OMSI_HOME": "/x"}) == direct
    assert serving_path({"OMSI_HOME": str(tmp_path)}) == tmp_path / "serving.duckdb"
    assert serving_path({}) == Path.cwd() / "data" / "serving.duckdb"


def test_version_is_none_until_published_and_changes_when_republished(tmp_path: Path) -> None:
    path = tmp_path / "serving.duckdb"
    assert current_version(path) is None

    write_serving_snapshot(path)
    first = current_version(path)
    write_serving_snapshot(path)

    assert first is not None and current_version(path) != first


def test_a_folder_is_not_a_snapshot(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="OMSI_SERVING"):
        current_version(tmp_path)


def test_totals_are_the_sums_of_the_file_rows(snapshot) -> None:
    fixture, version = snapshot
    totals = queries.ingest_totals(version)

    for column in ("lines_read", "landed", "duplicates", "quarantined"):
        assert totals[column] == fixture.total(column)
    assert totals["batches"] == len({row["batch_id"] for row in fixture.files})
    assert queries.batch_mismatches(version).empty


def test_sample_query_binds_the_reason(snapshot) -> None:
    fixture, version = snapshot
    reason = "unknown_event_type:o'brien"

    sample = queries.quarantine_sample(version, reason)

    assert len(sample) == sum(1 for s in fixture.samples if s["reason"] == reason)
    assert queries.quarantine_sample(version, "x' or '1'='1").empty


def test_reading_never_holds_the_file(snapshot) -> None:
    fixture, version = snapshot
    queries.ingest_files(version)

    # A pipeline can open it for writing and replace it while the dashboard has data cached.
    with duckdb.connect(str(fixture.path)) as writer:
        writer.execute("create table scratch as select 1 as x")
    replacement = write_serving_snapshot(fixture.path.with_name("next.duckdb"))
    os.replace(replacement.path, fixture.path)
    assert current_version(fixture.path) != version


def test_connection_is_read_only(snapshot) -> None:
    fixture, _ = snapshot
    with open_read_only(fixture.path) as con, pytest.raises(duckdb.Error):
        con.execute("delete from ingest_files")


def test_missing_tables_are_named(snapshot) -> None:
    fixture, _ = snapshot
    with duckdb.connect(str(fixture.path)) as con:
        con.execute("drop table quarantine_sample")

    version = current_version(fixture.path)

    assert queries.missing_tables(version, queries.INGEST_TABLES) == ["quarantine_sample"]


def test_a_broken_file_and_its_batch_are_reported(tmp_path: Path) -> None:
    fixture = write_serving_snapshot(
        tmp_path / "serving.duckdb", break_file="events/2024-05-01.jsonl"
    )
    with duckdb.connect(str(fixture.path)) as con:
        con.execute("update ingest_batches set landed = landed + 1 where batch_id = 2")
    version = current_version(fixture.path)

    problems = reconciliation_problems(
        queries.ingest_files(version), queries.batch_mismatches(version)
    )

    assert len(problems) == 2
    assert problems[0].startswith("Batch 2:") and "landed" in problems[0]
    assert "events/2024-05-01.jsonl" in problems[1]
    assert "7 lines unaccounted for" in problems[1]


def _files(unaccounted: list[int]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "batch_id": 1,
            "file": [f"f{i}.jsonl" for i in range(len(unaccounted))],
            "lines_read": [10 + gap for gap in unaccounted],
            "landed": 6,
            "duplicates": 3,
            "quarantined": 1,
        }
    )


def test_more_outcomes_than_lines_is_reported_too() -> None:
    (problem,) = reconciliation_problems(_files([0, -2]), pd.DataFrame())
    assert "f1.jsonl" in problem and "2 more outcomes than lines read" in problem


def test_long_problem_lists_are_cut() -> None:
    problems = reconciliation_problems(_files([1] * (MAX_LISTED + 5)), pd.DataFrame())
    assert len(problems) == MAX_LISTED + 1
    assert "5 more" in problems[-1]


@pytest.mark.parametrize(
    ("ago", "text"),
    [
        (timedelta(seconds=20), "just now"),
        (timedelta(minutes=7, seconds=59), "7 min ago"),
        (timedelta(hours=3, minutes=2), "3 h 2 min ago"),
        (timedelta(days=4, hours=1), "4 days ago"),
    ],
)
def test_age_text(ago: timedelta, text: str) -> None:
    now = datetime(2024, 5, 3, 12, 0)
    assert age_text(now - ago, now) == text
