"""The dashboard app rendered headless by Streamlit's AppTest, against fixture serving snapshots."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from streamlit.proto.Metric_pb2 import Metric as MetricProto
from streamlit.testing.v1 import AppTest

from tests.dashboard_fixtures import KPI_DAILY, ServingFixture, write_serving_snapshot

APP = Path(__file__).resolve().parents[1] / "dashboards" / "app.py"
INTAKE = "app_pages/ingest.py"
METRIC_COLUMNS = {
    "Lines read": "lines_read",
    "Landed": "landed",
    "Duplicates": "duplicates",
    "Resumed": "resumed",
    "Quarantined": "quarantined",
}


@pytest.fixture
def serving(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ServingFixture:
    fixture = write_serving_snapshot(tmp_path / "serving.duckdb")
    monkeypatch.setenv("OMSI_SERVING", str(fixture.path))
    return fixture


def run_app(
    query_params: dict[str, str | list[str]] | None = None, page: str | None = None
) -> AppTest:
    """Run the app on its landing page, or on `page` (a path such as INTAKE)."""
    # Generous timeout: the first run in a process imports pandas, duckdb and pyarrow.
    app = AppTest.from_file(APP, default_timeout=30)
    if page is not None:
        # Pages are known by path only once st.navigation has run.
        app.run()
        app.switch_page(page)
    app.query_params.update(query_params or {})
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def run_intake(query_params: dict[str, str] | None = None) -> AppTest:
    return run_app(query_params, page=INTAKE)


def rendered_metrics(app: AppTest) -> dict[str, int]:
    return {m.label: int(m.value.replace(",", "")) for m in app.metric}


def sample_table(app: AppTest):
    # The sample explorer's table is the one with a raw-line column.
    (table,) = [d.value for d in app.dataframe if "raw" in d.value.columns]
    return table


def test_totals_equal_fixture_sums_and_reconcile(serving: ServingFixture) -> None:
    app = run_intake()

    assert rendered_metrics(app) == {
        label: serving.total(column) for label, column in METRIC_COLUMNS.items()
    }
    assert not app.error
    assert any("Reconciled" in s.value for s in app.success)
    files_table = app.dataframe[0].value
    assert sorted(files_table["file"]) == sorted(row["file"] for row in serving.files)
    assert (files_table["unaccounted"] == 0).all()


def test_every_metric_has_a_definition(serving: ServingFixture) -> None:
    app = run_intake()

    assert all(m.help for m in app.metric)
    captions = " ".join(c.value for c in app.caption).lower()
    for label in METRIC_COLUMNS:
        assert f"**{label.lower()}** =" in captions


def test_counts_that_do_not_reconcile_show_an_error_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = "events/2024-05-02.jsonl"
    fixture = write_serving_snapshot(tmp_path / "serving.duckdb", break_file=broken)
    monkeypatch.setenv("OMSI_SERVING", str(fixture.path))

    app = run_intake()

    assert not app.success
    # The reconciliation names the file; the Data health checks below count it as a failure.
    error, checks = app.error
    assert broken in error.value
    assert "7 lines unaccounted for" in error.value
    assert "ingest reconciles" in checks.value
    assert rendered_metrics(app)["Lines read"] == fixture.total("lines_read")
    # Mismatched files are listed first so nobody has to hunt for them.
    assert app.dataframe[0].value["file"].iloc[0] == broken


@pytest.mark.parametrize("page", [None, INTAKE])
def test_missing_snapshot_says_what_to_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, page: str | None
) -> None:
    monkeypatch.delenv("OMSI_SERVING", raising=False)
    monkeypatch.setenv("OMSI_HOME", str(tmp_path / "fresh-home"))

    app = run_app(page=page)

    (message,) = [i.value for i in app.info]
    assert str(tmp_path / "fresh-home" / "serving.duckdb") in message
    assert "omsi run" in message and "make demo" in message
    assert not app.metric and not app.dataframe and not app.error


@pytest.mark.parametrize("page", [None, INTAKE])
def test_unreadable_snapshot_shows_an_error_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, page: str | None
) -> None:
    garbage = tmp_path / "serving.duckdb"
    garbage.write_bytes(b"this is not a duckdb database" * 200)
    monkeypatch.setenv("OMSI_SERVING", str(garbage))

    app = run_app(page=page)

    assert any("omsi run" in e.value for e in app.error)
    assert not app.metric


def test_snapshot_without_a_needed_table_names_it(serving: ServingFixture) -> None:
    with duckdb.connect(str(serving.path)) as con:
        con.execute("drop table events_by_type")

    app = run_intake()

    assert any("`events_by_type`" in e.value and "omsi run" in e.value for e in app.error)
    assert not app.metric


def test_reason_filter_changes_the_sample_and_the_link(serving: ServingFixture) -> None:
    app = run_intake()
    first_reason = max(serving.reasons, key=serving.reasons.get)
    assert app.selectbox(key="reason").value == first_reason
    assert set(sample_table(app)["reason"]) == {first_reason}

    # The quote in this reason would break SQL built by pasting; bound parameters do not care.
    chosen = "unknown_event_type:o'brien"
    app.selectbox(key="reason").select(chosen).run()

    shown = sample_table(app)
    expected = [s for s in serving.samples if s["reason"] == chosen]
    assert set(shown["reason"]) == {chosen}
    assert sorted(shown["line_no"]) == sorted(s["line_no"] for s in expected)
    assert app.query_params["reason"] == chosen


def test_a_shared_link_opens_on_its_reason(serving: ServingFixture) -> None:
    app = run_intake({"reason": "missing_field:order_id"})

    assert app.selectbox(key="reason").value == "missing_field:order_id"
    assert set(sample_table(app)["file"]) == {"events/2024-05-02.jsonl"}


def test_a_link_to_an_unknown_reason_falls_back_and_says_so(serving: ServingFixture) -> None:
    app = run_intake({"reason": "no_such_reason"})

    assert app.selectbox(key="reason").value == max(serving.reasons, key=serving.reasons.get)
    assert any("no_such_reason" in c.value for c in app.caption)


def test_a_newly_published_snapshot_shows_on_the_next_rerun(serving: ServingFixture) -> None:
    app = run_intake()
    assert app.success

    republished = write_serving_snapshot(serving.path, break_file="reference/nodes.csv")
    app.run()

    assert rendered_metrics(app)["Lines read"] == republished.total("lines_read")
    assert any("reference/nodes.csv" in e.value for e in app.error)


def test_sidebar_shows_snapshot_age(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built_at = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=5, seconds=20)
    fixture = write_serving_snapshot(tmp_path / "serving.duckdb", built_at=built_at)
    monkeypatch.setenv("OMSI_SERVING", str(fixture.path))

    app = run_app()

    sidebar_text = " ".join(m.value for m in app.sidebar.markdown)
    assert "5 min ago" in sidebar_text
    assert f"{built_at:%Y-%m-%d %H:%M:%S} UTC" in " ".join(c.value for c in app.sidebar.caption)


# --- Overview ---------------------------------------------------------------------------------

# The fixture's Mon and Tue; the previous period is the Sat and Sun before.
CURRENT = {"period": ["2024-05-06", "2024-05-07"]}
HEADLINE_LABELS = ["On-time delivery", "Cancellation rate", "Inventory record accuracy"]


def tiles(app: AppTest) -> dict[str, object]:
    return {m.label: m for m in app.metric}


def kpi_table(app: AppTest):
    (table,) = [d.value for d in app.dataframe if "definition" in d.value.columns]
    return table.set_index("kpi")


def test_overview_is_the_landing_page(serving: ServingFixture) -> None:
    app = run_app()

    assert [t.value for t in app.title] == ["Overview"]
    assert not app.error
    # No period in the link and four days of data: the later two, compared with the two before.
    assert app.date_input(key="period").value == (date(2024, 5, 6), date(2024, 5, 7))
    assert tiles(app)["On-time delivery"].value == "45.8%"
    assert tiles(app)["On-time delivery"].delta == "-39.2 pp"


def test_overview_tiles_are_period_ratios_with_deltas(serving: ServingFixture) -> None:
    app = run_app(CURRENT)

    shown = tiles(app)
    # Only headline KPIs the snapshot has, in headline order (click-to-ship is no headline).
    assert list(shown) == HEADLINE_LABELS
    # 27/59, not the mean of daily values 14/15 and 13/44 (61.4%); previous 17/20.
    assert shown["On-time delivery"].value == "45.8%"
    assert shown["On-time delivery"].delta == "-39.2 pp"
    assert shown["On-time delivery"].proto.color == MetricProto.MetricColor.RED
    # Fewer cancellations are good news: green although the change is negative.
    assert shown["Cancellation rate"].value == "2.0%"
    assert shown["Cancellation rate"].delta == "-1.0 pp"
    assert shown["Cancellation rate"].proto.color == MetricProto.MetricColor.GREEN
    assert shown["Inventory record accuracy"].value == "78.6%"
    assert all(m.proto.delta_description == "vs previous 2 days" for m in app.metric)


def test_every_tile_shows_its_definition(serving: ServingFixture) -> None:
    app = run_app(CURRENT)

    shown = tiles(app)
    assert shown["On-time delivery"].help.startswith("On time / delivered.")
    assert "27 / 59" in shown["On-time delivery"].help
    assert shown["Cancellation rate"].help.startswith("Cancelled / placed.")
    assert all(m.help for m in app.metric)


def test_overview_table_has_every_kpi_with_its_definition(serving: ServingFixture) -> None:
    app = run_app(CURRENT)

    table = kpi_table(app)
    assert sorted(table.index) == sorted(
        [
            "on_time_rate",
            "cancellation_rate",
            "inventory_record_accuracy",
            "click_to_ship_hours",
            "cost_to_serve_per_order",
            "mystery_rate",
        ]
    )
    assert table.loc["click_to_ship_hours", "value"] == "30.0 h"
    assert table.loc["click_to_ship_hours", "previous"] == "40.0 h"
    assert table.loc["click_to_ship_hours", "change"] == "-10.0 h"
    assert table.loc["cost_to_serve_per_order", "value"] == "12.50"
    assert (
        table.loc["inventory_record_accuracy", "definition"] == "Counts within tolerance / counts."
    )
    assert (table.loc["on_time_rate", "numerator"], table.loc["on_time_rate", "denominator"]) == (
        27,
        59,
    )
    assert table.loc["mystery_rate", "label"] == "mystery_rate"


def test_a_channel_filter_keeps_kpis_without_a_channel_and_says_so(
    serving: ServingFixture,
) -> None:
    app = run_app({**CURRENT, "channel": "web"})

    assert app.multiselect(key="channel").value == ["web"]
    shown = tiles(app)
    assert shown["On-time delivery"].value == "38.0%"
    # Not split by channel: the same as without the filter, and the page says why.
    assert shown["Inventory record accuracy"].value == "78.6%"
    assert "Not split by channel" in shown["Inventory record accuracy"].help
    (note,) = [i.value for i in app.info]
    assert "not split by channel" in note and "Inventory record accuracy" in note
    table = kpi_table(app)
    assert table.loc["inventory_record_accuracy", "not_split_by"] == "channel"
    assert table.loc["on_time_rate", "not_split_by"] == ""


def test_changing_a_filter_reruns_with_the_new_selection(serving: ServingFixture) -> None:
    app = run_app(CURRENT)

    app.multiselect(key="channel").set_value(["app"]).run()

    shown = tiles(app)
    # No app orders were on time or late; the app day had no orders to cancel: no value.
    assert "On-time delivery" not in shown
    assert shown["Cancellation rate"].value == "–"
    assert shown["Inventory record accuracy"].value == "78.6%"


def test_overview_without_the_kpi_marts_says_what_to_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixture = write_serving_snapshot(tmp_path / "serving.duckdb", kpis=False)
    monkeypatch.setenv("OMSI_SERVING", str(fixture.path))

    app = run_app()

    (error,) = [e.value for e in app.error]
    assert "`kpi_daily`" in error and "omsi run" in error and "marts" in error
    assert not app.metric and not app.dataframe
    # The intake page does not need the marts.
    assert run_intake().metric


def test_an_empty_kpi_mart_says_so(serving: ServingFixture) -> None:
    with duckdb.connect(str(serving.path)) as con:
        con.execute("delete from kpi_daily")

    app = run_app()

    (info,) = [i.value for i in app.info]
    assert "`kpi_daily` is empty" in info and "omsi run" in info
    assert not app.metric and not app.error


def test_the_trend_kpi_drills_down_to_its_daily_rows(serving: ServingFixture) -> None:
    app = run_app({**CURRENT, "kpi": "on_time_rate", "channel": "web"})

    (rows,) = [
        d.value
        for d in app.dataframe
        if "numerator" in d.value.columns and "kpi_date" in d.value.columns
    ]
    # The fixture's web on-time rows on Mon and Tue: 9/10 and 10/40, the tile's 19/50.
    expected = [
        r for r in KPI_DAILY
        if r[4] == "on_time_rate" and r[1] == "web" and r[0] in CURRENT["period"]
    ]  # fmt: skip
    assert len(rows) == len(expected) == 2
    assert (rows["numerator"].sum(), rows["denominator"].sum()) == (19, 50)
    assert tiles(app)["On-time delivery"].value == "38.0%"
    assert any(
        b.label == "Download on_time_rate daily rows (CSV)" for b in app.get("download_button")
    )
