"""The dashboard app rendered headless by Streamlit's AppTest, against fixture serving snapshots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from tests.dashboard_fixtures import ServingFixture, write_serving_snapshot

APP = Path(__file__).resolve().parents[1] / "dashboards" / "app.py"
METRIC_COLUMNS = {
    "Lines read": "lines_read",
    "Landed": "landed",
    "Duplicates": "duplicates",
    "Quarantined": "quarantined",
}


@pytest.fixture
def serving(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ServingFixture:
    fixture = write_serving_snapshot(tmp_path / "serving.duckdb")
    monkeypatch.setenv("OMSI_SERVING", str(fixture.path))
    return fixture


def run_app(query_params: dict[str, str] | None = None) -> AppTest:
    # Generous timeout: the first run in a process imports pandas, duckdb and pyarrow.
    app = AppTest.from_file(APP, default_timeout=30)
    app.query_params.update(query_params or {})
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def rendered_metrics(app: AppTest) -> dict[str, int]:
    return {m.label: int(m.value.replace(",", "")) for m in app.metric}


def sample_table(app: AppTest):
    # The sample explorer's table is the one with a raw-line column.
    (table,) = [d.value for d in app.dataframe if "raw" in d.value.columns]
    return table


def test_totals_equal_fixture_sums_and_reconcile(serving: ServingFixture) -> None:
    app = run_app()

    assert rendered_metrics(app) == {
        label: serving.total(column) for label, column in METRIC_COLUMNS.items()
    }
    assert not app.error
    assert any("Reconciled" in s.value for s in app.success)
    files_table = app.dataframe[0].value
    assert sorted(files_table["file"]) == sorted(row["file"] for row in serving.files)
    assert (files_table["unaccounted"] == 0).all()


def test_every_metric_has_a_definition(serving: ServingFixture) -> None:
    app = run_app()

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

    app = run_app()

    assert not app.success
    (error,) = app.error
    assert broken in error.value
    assert "7 lines unaccounted for" in error.value
    assert rendered_metrics(app)["Lines read"] == fixture.total("lines_read")
    # Mismatched files are listed first so nobody has to hunt for them.
    assert app.dataframe[0].value["file"].iloc[0] == broken


def test_missing_snapshot_says_what_to_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMSI_SERVING", raising=False)
    monkeypatch.setenv("OMSI_HOME", str(tmp_path / "fresh-home"))

    app = run_app()

    (message,) = [i.value for i in app.info]
    assert str(tmp_path / "fresh-home" / "serving.duckdb") in message
    assert "omsi run" in message and "make demo" in message
    assert not app.metric and not app.dataframe and not app.error


def test_unreadable_snapshot_shows_an_error_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    garbage = tmp_path / "serving.duckdb"
    garbage.write_bytes(b"this is not a duckdb database" * 200)
    monkeypatch.setenv("OMSI_SERVING", str(garbage))

    app = run_app()

    assert any("omsi run" in e.value for e in app.error)
    assert not app.metric


def test_snapshot_without_a_needed_table_names_it(serving: ServingFixture) -> None:
    with duckdb.connect(str(serving.path)) as con:
        con.execute("drop table events_by_type")

    app = run_app()

    assert any("`events_by_type`" in e.value and "omsi run" in e.value for e in app.error)
    assert not app.metric


def test_reason_filter_changes_the_sample_and_the_link(serving: ServingFixture) -> None:
    app = run_app()
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
    app = run_app({"reason": "missing_field:order_id"})

    assert app.selectbox(key="reason").value == "missing_field:order_id"
    assert set(sample_table(app)["file"]) == {"events/2024-05-02.jsonl"}


def test_a_link_to_an_unknown_reason_falls_back_and_says_so(serving: ServingFixture) -> None:
    app = run_app({"reason": "no_such_reason"})

    assert app.selectbox(key="reason").value == max(serving.reasons, key=serving.reasons.get)
    assert any("no_such_reason" in c.value for c in app.caption)


def test_a_newly_published_snapshot_shows_on_the_next_rerun(serving: ServingFixture) -> None:
    app = run_app()
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
