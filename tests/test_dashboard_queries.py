"""The dashboards' query layer, snapshot handling and reconciliation wording, without a browser."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from dashboards import health, queries
from dashboards.kpis import HEADLINE_KPIS, default_period, format_value, metric_delta
from dashboards.queries import KpiSelection
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

    for column in ("lines_read", "landed", "duplicates", "resumed", "quarantined"):
        assert totals[column] == fixture.total(column)
    assert totals["resumed"] > 0
    assert totals["batches"] == len({row["batch_id"] for row in fixture.files})
    assert queries.batch_mismatches(version).empty


def _batch_check(path: Path, unfinished: list[tuple[int, str]]) -> pd.Series:
    """The 'every ingest batch finished' check once `unfinished` (batch_id, landing_dir) are in."""
    with duckdb.connect(str(path)) as con:
        con.executemany(
            "insert into ingest_batches (batch_id, landing_dir, started_at) values (?, ?, now())",
            unfinished,
        )
    version = current_version(path)
    checks = health.check_results(
        version, queries.ingest_files(version), queries.batch_mismatches(version)
    )
    return checks.set_index("check").loc["every ingest batch finished"]


def test_a_batch_cut_short_and_finished_by_a_later_one_passes(tmp_path: Path) -> None:
    fixture = write_serving_snapshot(tmp_path / "serving.duckdb")
    # Batch 0 was killed; batch 1, over the same folder, finished what it had left.
    check = _batch_check(fixture.path, [(0, "data/landing")])
    assert check["status"] == "pass"
    assert "1 cut short and finished by a later batch" in check["detail"]


def test_a_batch_cut_short_with_no_later_batch_fails(tmp_path: Path) -> None:
    fixture = write_serving_snapshot(tmp_path / "serving.duckdb")
    # Batch 0 read another folder, batch 9 came last: nothing finished either.
    check = _batch_check(fixture.path, [(0, "elsewhere"), (9, "data/landing")])
    assert check["status"] == "fail"
    assert check["detail"].startswith("2 unfinished")


def test_sample_query_binds_the_reason(snapshot) -> None:
    fixture, version = snapshot
    reason = "unknown_event_type:o'brien"

    sample = queries.quarantine_sample(version, reason)

    assert len(sample) == sum(1 for s in fixture.samples if s["reason"] == reason)
    assert queries.quarantine_sample(version, "x' or '1'='1").empty


def test_a_snapshot_replaced_while_held_open_is_read_anew(snapshot) -> None:
    fixture, version = snapshot
    before = queries.ingest_totals(version)

    # The pipeline publishes by renaming a complete new file over the one the dashboard holds
    # open (its connection is kept per version, see queries.KEEP_CONNECTIONS_OPEN): nothing
    # blocks the rename, and the next read of the new version sees the new file.
    replacement = write_serving_snapshot(
        fixture.path.with_name("next.duckdb"), break_file="reference/skus.csv"
    )
    os.replace(replacement.path, fixture.path)
    version_after = current_version(fixture.path)
    assert version_after != version

    after = queries.ingest_totals(version_after)
    assert after["lines_read"] == before["lines_read"] + 7
    # The old version still reads as it was: a page mid-rerun on it is never cut off.
    assert queries.ingest_totals(version)["lines_read"] == before["lines_read"]


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
            "landed": 4,
            "duplicates": 3,
            "resumed": 2,
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


# --- KPIs -------------------------------------------------------------------------------------

# The fixture's "current" period (Mon and Tue); its previous period is the Sat and Sun before.
CURRENT = KpiSelection(date(2024, 5, 6), date(2024, 5, 7))


def _by_kpi(frame: pd.DataFrame) -> dict[str, pd.Series]:
    return {row["kpi"]: row for _, row in frame.iterrows()}


def test_kpis_are_sums_of_numerators_over_sums_of_denominators(snapshot) -> None:
    _, version = snapshot

    kpis = _by_kpi(queries.kpi_rollup(version, CURRENT))

    # On time: web 9/10 and 10/40, store 5/5 and 3/4. Daily values (14/15, 13/44) average to
    # 0.614; the KPI is 27/59 = 0.458.
    on_time = kpis["on_time_rate"]
    assert (on_time["numerator"], on_time["denominator"]) == (27, 59)
    assert on_time["value"] == pytest.approx(27 / 59)
    assert on_time["value"] != pytest.approx((14 / 15 + 13 / 44) / 2)
    assert on_time["days"] == 2
    # Hours: 240 h over 10 orders, then 120 h over 2: 30 h per order, not (24 + 60) / 2 = 42.
    assert kpis["click_to_ship_hours"]["value"] == pytest.approx(30.0)
    # Accuracy: 45/50 and 10/20 -> 55/70 (0.786), not 0.7.
    assert kpis["inventory_record_accuracy"]["value"] == pytest.approx(55 / 70)
    # A day with a zero denominator adds nothing: 2/100 + 0/0.
    assert kpis["cancellation_rate"]["value"] == pytest.approx(0.02)
    assert set(kpis) == {
        "on_time_rate",
        "inventory_record_accuracy",
        "cancellation_rate",
        "click_to_ship_hours",
        "cost_to_serve_per_order",
        "mystery_rate",
    }


def test_a_channel_filter_keeps_kpis_that_have_no_channel(snapshot) -> None:
    _, version = snapshot

    kpis = _by_kpi(queries.kpi_rollup(version, replace(CURRENT, channel=("web",))))

    assert kpis["on_time_rate"]["value"] == pytest.approx(19 / 50)
    assert kpis["on_time_rate"]["by_channel"]
    # Inventory accuracy has no channel: every row is channel 'all', kept whole and flagged.
    ira = kpis["inventory_record_accuracy"]
    assert (ira["numerator"], ira["denominator"]) == (55, 70)
    assert not ira["by_channel"] and not ira["by_fulfillment_method"] and ira["by_node_type"]
    # Cancellations have a channel but no node type; the app day is filtered out.
    cancellation = kpis["cancellation_rate"]
    assert (cancellation["numerator"], cancellation["denominator"]) == (2, 100)
    assert cancellation["by_channel"] and not cancellation["by_node_type"]


def test_filters_combine_and_a_zero_denominator_has_no_value(snapshot) -> None:
    _, version = snapshot

    app = _by_kpi(queries.kpi_rollup(version, replace(CURRENT, channel=("app",))))
    assert "on_time_rate" not in app
    assert app["cancellation_rate"]["denominator"] == 0
    assert pd.isna(app["cancellation_rate"]["value"])

    store_nodes = _by_kpi(
        queries.kpi_rollup(
            version, replace(CURRENT, channel=("store", "web"), node_type=("store",))
        )
    )
    assert store_nodes["on_time_rate"]["value"] == pytest.approx(8 / 9)
    assert store_nodes["inventory_record_accuracy"]["value"] == pytest.approx(10 / 20)
    # No node type: the node filter leaves cancellations whole.
    assert store_nodes["cancellation_rate"]["value"] == pytest.approx(0.02)


def test_trend_buckets_are_ratios_of_sums_too(snapshot) -> None:
    _, version = snapshot
    everything = KpiSelection(date(2024, 5, 4), date(2024, 5, 7))

    daily = queries.kpi_rollup(version, everything, "day", ["on_time_rate"])
    weekly = queries.kpi_rollup(version, everything, "week", ["on_time_rate"])

    assert set(daily["kpi"]) == set(weekly["kpi"]) == {"on_time_rate"}
    assert [d.date() for d in pd.to_datetime(daily["bucket"])] == [
        date(2024, 5, 4),
        date(2024, 5, 5),
        date(2024, 5, 6),
        date(2024, 5, 7),
    ]
    assert daily["value"].tolist() == pytest.approx([0.8, 0.9, 14 / 15, 13 / 44])
    # ISO weeks: Sat and Sun belong to the week of Mon 29 April.
    assert [d.date() for d in pd.to_datetime(weekly["bucket"])] == [
        date(2024, 4, 29),
        date(2024, 5, 6),
    ]
    assert weekly["value"].tolist() == pytest.approx([17 / 20, 27 / 59])
    with pytest.raises(ValueError, match="grain"):
        queries.kpi_rollup_query(everything, "month; drop table kpi_daily")


def test_rollup_sql_runs_without_streamlit_and_binds_filter_values(snapshot) -> None:
    fixture, _ = snapshot
    quoted = replace(CURRENT, channel=("web' or '1'='1",))

    with duckdb.connect(str(fixture.path), read_only=True) as con:
        rows = con.execute(*queries.kpi_rollup_query(quoted)).df()

    # Only the KPIs without a channel survive a channel nobody has.
    assert set(rows["kpi"]) == {"inventory_record_accuracy"}


def test_summary_compares_with_the_previous_period_and_adds_definitions(snapshot) -> None:
    _, version = snapshot
    assert CURRENT.previous() == KpiSelection(date(2024, 5, 4), date(2024, 5, 5))

    kpis = _by_kpi(queries.kpi_summary(version, CURRENT))

    assert kpis["on_time_rate"]["previous_value"] == pytest.approx(17 / 20)
    assert kpis["inventory_record_accuracy"]["previous_value"] == pytest.approx(0.8)
    assert kpis["cancellation_rate"]["previous_value"] == pytest.approx(0.03)
    assert kpis["click_to_ship_hours"]["previous_value"] == pytest.approx(40.0)
    assert pd.isna(kpis["cost_to_serve_per_order"]["previous_value"])
    assert kpis["on_time_rate"]["label"] == "On-time delivery"
    assert kpis["click_to_ship_hours"]["unit"] == "hours"
    assert not kpis["cancellation_rate"]["higher_is_better"]
    # No definition row: the KPI still shows, under its name.
    assert kpis["mystery_rate"]["label"] == "mystery_rate"
    assert pd.isna(kpis["mystery_rate"]["definition"])
    # Defined but never measured: nothing to show.
    assert "wismo_rate" not in kpis


def test_summary_without_the_definitions_table_still_has_every_kpi(snapshot) -> None:
    fixture, _ = snapshot
    with duckdb.connect(str(fixture.path)) as con:
        con.execute("drop table kpi_definitions")

    summary = queries.kpi_summary(current_version(fixture.path), CURRENT)

    assert sorted(summary["label"]) == sorted(summary["kpi"])
    assert len(summary) == 6


def test_bounds_list_dimension_values_without_all(snapshot) -> None:
    _, version = snapshot

    bounds = queries.kpi_bounds(version)

    assert pd.Timestamp(bounds["first_date"]).date() == date(2024, 5, 4)
    assert pd.Timestamp(bounds["last_date"]).date() == date(2024, 5, 7)
    assert list(bounds["channel"]) == ["app", "store", "web"]
    assert list(bounds["fulfillment_method"]) == ["delivery", "pickup"]
    assert list(bounds["node_type"]) == ["dc", "store"]


def test_a_snapshot_without_marts_lacks_kpi_daily(tmp_path: Path) -> None:
    fixture = write_serving_snapshot(tmp_path / "serving.duckdb", kpis=False)

    assert queries.missing_tables(current_version(fixture.path), queries.KPI_TABLES) == [
        "kpi_daily"
    ]


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (27 / 59, "ratio", "45.8%"),
        (1.0, "ratio", "100.0%"),
        (30.0, "hours", "30.0 h"),
        (2.26, "days", "2.3 days"),
        (1234.5678, "currency", "1,234.57"),
        (0.25, None, "0.250"),
        (None, "ratio", "–"),
        (float("nan"), "hours", "–"),
    ],
)
def test_format_value(value, unit, text) -> None:
    assert format_value(value, unit) == text


@pytest.mark.parametrize(
    ("current", "previous", "unit", "higher_is_better", "expected"),
    [
        (0.38, 0.80, "ratio", True, {"delta": "-42.0 pp", "delta_color": "normal"}),
        (0.02, 0.03, "ratio", False, {"delta": "-1.0 pp", "delta_color": "inverse"}),
        (30.0, 40.0, "hours", False, {"delta": "-10.0 h", "delta_color": "inverse"}),
        (12.5, 12.0, "currency", False, {"delta": "+0.50", "delta_color": "inverse"}),
        # Rounds to nothing: grey, no arrow, never a red "-0.0".
        (
            0.5,
            0.50001,
            "ratio",
            True,
            {"delta": "0.0 pp", "delta_color": "off", "delta_arrow": "off"},
        ),
        (0.5, 0.4, "ratio", None, {"delta": "+10.0 pp", "delta_color": "off"}),
        (0.5, float("nan"), "ratio", True, {"delta": None}),
    ],
)
def test_metric_delta(current, previous, unit, higher_is_better, expected) -> None:
    assert metric_delta(current, previous, unit, higher_is_better) == expected


def test_default_period_is_the_last_four_weeks_or_the_later_half() -> None:
    assert default_period(date(2024, 1, 1), date(2024, 3, 31)) == (
        date(2024, 3, 4),
        date(2024, 3, 31),
    )
    # 21 days of data: the last 10, so the 10 before them are there to compare with.
    assert default_period(date(2024, 3, 11), date(2024, 3, 31)) == (
        date(2024, 3, 22),
        date(2024, 3, 31),
    )
    assert default_period(date(2024, 3, 31), date(2024, 3, 31)) == (
        date(2024, 3, 31),
        date(2024, 3, 31),
    )


def test_the_kpi_definitions_seed_fits_the_page() -> None:
    """The seed the marts publish has the columns and units the Overview formats."""
    seed = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds" / "kpi_definitions.csv"
    if not seed.exists():
        pytest.skip(f"{seed} is not there yet")
    definitions = duckdb.sql(f"select * from read_csv('{seed}', header = true)").df()

    assert list(definitions.columns) == list(queries.KPI_DEFINITION_COLUMNS)
    assert definitions["kpi"].is_unique
    assert set(definitions["unit"]) <= {"ratio", "hours", "days", "currency"}
    assert definitions["higher_is_better"].dtype == bool
    assert definitions["definition"].notna().all() and definitions["label"].notna().all()
    assert set(HEADLINE_KPIS) <= set(definitions["kpi"])
