"""A feed changes under us: schema drift is reported, a renamed required field is explained,
a large quarantine share is said loudly, and `omsi quarantine` helps fix and re-send.

The feed: order.placed events where some lines gain a new field (`gift_note`, and `wrap` on
their line items) and, from some point on, `customer_id` arrives renamed `customer_ref`; plus
clean refunds, so that one event type is broken and the other is not.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.warehouse import connect
from tests.contract_corpus import FULL_DATA, envelope

ORDERS = 40
RENAMED_FROM = 25  # orders from this one on send customer_ref instead of customer_id
GIFT_EVERY = 3  # every third order carries a gift note and a wrapped second line


def _order(i: int) -> dict[str, Any]:
    data = copy.deepcopy(FULL_DATA["order.placed"])
    data["order_id"] = f"o-{i}"
    if i % GIFT_EVERY == 0:
        data["gift_note"] = "happy birthday"
        data["lines"][1]["wrap"] = "red"
    if i >= RENAMED_FROM:
        data["customer_ref"] = data.pop("customer_id")
    event = envelope("order.placed", data)
    event["event_id"] = f"placed-{i}"
    return event


def _refund(i: int) -> dict[str, Any]:
    event = envelope("refund.issued", {**FULL_DATA["refund.issued"], "order_id": f"o-{i}"})
    event["event_id"] = f"refund-{i}"
    return event


def _write(path: Path, events: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(e) + "\n" for e in events))


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("OMSI_HOME", str(tmp_path / "home"))
    return CliRunner()


@pytest.fixture
def feed(tmp_path: Path) -> Path:
    folder = tmp_path / "feed"
    _write(folder / "orders.jsonl", [_order(i) for i in range(ORDERS)])
    _write(folder / "refunds.jsonl", [_refund(i) for i in range(10)])
    return folder


def test_drift_is_reported_and_the_rename_named(runner: CliRunner, feed: Path) -> None:
    renamed = ORDERS - RENAMED_FROM
    gifts = [i for i in range(ORDERS) if i % GIFT_EVERY == 0]
    result = runner.invoke(app, ["ingest", str(feed), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["reconciles"]
    assert summary["quarantined"] == renamed
    assert summary["landed"] == ORDERS - renamed + 10

    drift = {(d["event_type"], d["field_path"]): d for d in summary["schema_drift"]}
    assert set(drift) == {
        ("order.placed", "gift_note"),
        ("order.placed", "lines.wrap"),
        ("order.placed", "customer_ref"),
    }
    assert drift["order.placed", "gift_note"]["lines"] == len(gifts)
    assert drift["order.placed", "lines.wrap"]["lines"] == len(gifts)
    # first file and line: line numbers are 1-based, order i is on line i + 1
    assert drift["order.placed", "gift_note"]["first_line_no"] == gifts[0] + 1
    ref = drift["order.placed", "customer_ref"]
    assert (ref["lines"], ref["first_file"], ref["first_line_no"]) == (
        renamed,
        "orders.jsonl",
        RENAMED_FROM + 1,
    )
    assert ref["likely_rename_of"] == "customer_id" and ref["missing_lines"] == renamed
    # an added field that happens to sit on a few broken lines is no rename
    assert drift["order.placed", "gift_note"]["likely_rename_of"] is None

    with connect(_warehouse(), read_only=True) as con:
        quarantined = con.execute(
            "select line_no, reason from raw.quarantine order by 1"
        ).fetchall()
        kept = con.execute(
            "select json_extract_string(data, '$.gift_note') from raw.events"
            " where event_id = 'placed-0'"
        ).fetchall()
    assert quarantined == [
        (i + 1, "missing_field:customer_id") for i in range(RENAMED_FROM, ORDERS)
    ]
    assert kept == [("happy birthday",)]  # unknown fields are kept

    # the table summary says the same
    text = runner.invoke(app, ["ingest", str(feed), "--force"]).stdout
    assert "schema drift" in text
    assert "customer_ref on 15 line(s)".replace("15", str(renamed)) in text
    assert "likely a rename of required customer_id" in text
    status = runner.invoke(app, ["status"]).stdout
    assert "customer_ref" in status and "likely a rename of required customer_id" in status


def _warehouse() -> Path:
    return Path(os.environ["OMSI_HOME"]) / "warehouse.duckdb"


def test_a_large_quarantine_share_is_said_loudly(runner: CliRunner, feed: Path) -> None:
    renamed = ORDERS - RENAMED_FROM
    result = runner.invoke(app, ["ingest", str(feed)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    tail = out[out.index("WARNING") :]
    share = f"{renamed / ORDERS:.0%}"
    assert f"{share} of order.placed events quarantined as missing_field:customer_id" in tail
    assert f"({renamed} of {ORDERS} lines)" in tail
    assert f"orders.jsonl line {RENAMED_FROM + 1}" in tail  # the example line
    assert "rename customer_ref back to customer_id" in tail  # what to change
    assert "refund.issued" not in tail  # a clean event type is not flagged
    assert "reconciles" in out  # and the batch still reconciles


def test_json_summary_carries_the_alerts(runner: CliRunner, feed: Path) -> None:
    summary = json.loads(runner.invoke(app, ["ingest", str(feed), "--json"]).stdout)
    alerts = {(a["scope"], a["name"], a["reason"]) for a in summary["quarantine_alerts"]}
    assert alerts == {
        ("event_type", "order.placed", "missing_field:customer_id"),
        ("file", "orders.jsonl", "missing_field:customer_id"),
    }
    assert summary["reconciles"]


def test_quarantine_lists_shows_exports_and_a_resend_resolves(
    runner: CliRunner, feed: Path, tmp_path: Path
) -> None:
    renamed = ORDERS - RENAMED_FROM
    assert runner.invoke(app, ["ingest", str(feed)]).exit_code == 0

    listed = runner.invoke(app, ["quarantine"])
    assert listed.exit_code == 0, listed.output
    row = next(line for line in listed.stdout.splitlines() if line.startswith("missing_field"))
    assert row.split()[:3] == ["missing_field:customer_id", str(renamed), "0"]
    assert f"{renamed} open of {renamed} quarantined lines" in listed.stdout

    shown = runner.invoke(app, ["quarantine", "show", "missing_field:customer_id", "--limit", "2"])
    assert shown.exit_code == 0
    assert f"orders.jsonl line {RENAMED_FROM + 1}" in shown.stdout
    assert f"orders.jsonl line {RENAMED_FROM + 3}" not in shown.stdout  # the limit holds

    export = tmp_path / "fix" / "to_fix.jsonl"
    exported = runner.invoke(
        app, ["quarantine", "export", "missing_field:customer_id", "--out", str(export)]
    )
    assert exported.exit_code == 0, exported.output
    lines = export.read_text().splitlines()
    assert [json.loads(line)["event_id"] for line in lines] == [
        f"placed-{i}" for i in range(RENAMED_FROM, ORDERS)
    ]
    csv_export = tmp_path / "fix.csv"
    runner.invoke(app, ["quarantine", "export", "--out", str(csv_export)])
    assert csv_export.read_text().startswith("file,line_no,reason,detail,event_id,raw")

    # fix the first half and re-send them: they land, and leave the open count
    fixed = [json.loads(line) for line in lines[: renamed // 2]]
    for event in fixed:
        event["data"]["customer_id"] = event["data"].pop("customer_ref")
    resend = tmp_path / "resend"
    _write(resend / "fixed.jsonl", fixed)
    again = json.loads(runner.invoke(app, ["ingest", str(resend), "--json"]).stdout)
    assert again["landed"] == len(fixed) and again["quarantined"] == 0

    listed = runner.invoke(app, ["quarantine"]).stdout
    row = next(line for line in listed.splitlines() if line.startswith("missing_field"))
    assert row.split()[:3] == [
        "missing_field:customer_id",
        str(renamed - len(fixed)),
        str(len(fixed)),
    ]
    still_open = runner.invoke(app, ["quarantine", "show", "--limit", "100"]).stdout
    assert f"placed-{RENAMED_FROM}" not in still_open
    assert f"placed-{ORDERS - 1}" in still_open
    resolved = runner.invoke(app, ["quarantine", "show", "--all", "--limit", "100"]).stdout
    assert f"orders.jsonl line {RENAMED_FROM + 1}: missing_field:customer_id (resolved)" in resolved


def test_data_intake_page_shows_the_drift(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Data intake page lists the drift the serving snapshot carries, renames named."""
    import duckdb
    import pandas as pd
    from streamlit.testing.v1 import AppTest

    from tests.dashboard_fixtures import write_serving_snapshot

    fixture = write_serving_snapshot(tmp_path / "serving.duckdb")
    with duckdb.connect(str(fixture.path)) as con:
        con.execute(
            """
            create table schema_drift as select * from (values
                (2, 'order.placed', 'customer_ref', 15, 'orders.jsonl', 26, 'customer_id', 15),
                (2, 'order.placed', 'gift_note', 14, 'orders.jsonl', 1, 'customer_id', 5)
            ) as t(batch_id, event_type, field_path, lines, first_file, first_line_no,
                   missing_field, missing_lines)
            """
        )
    monkeypatch.setenv("OMSI_SERVING", str(fixture.path))
    app = AppTest.from_file(
        Path(__file__).resolve().parents[1] / "dashboards" / "app.py", default_timeout=30
    )
    app.run()
    app.switch_page("app_pages/ingest.py")
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert "Schema drift" in [h.value for h in app.subheader]
    (drift,) = [d.value for d in app.dataframe if "likely_rename_of" in d.value.columns]
    renames = dict(zip(drift["field"], drift["likely_rename_of"], strict=True))
    assert renames["data.customer_ref"] == "customer_id"
    assert pd.isna(renames["data.gift_note"])  # an added field, not a rename


def test_omsi_run_reads_back_the_findings_of_its_batches(tmp_path: Path, feed: Path) -> None:
    """What `omsi run` prints at its end: drift and alerts of the batches after the last one."""
    from pipelines.ingest import ingest_folder
    from pipelines.ingest.findings import batches_after, findings_since

    wh = tmp_path / "run.duckdb"
    assert batches_after(wh) == 0  # no warehouse yet
    with connect(wh) as con:
        ingest_folder(con, feed)
    before = batches_after(wh)
    assert findings_since(wh, before) == ([], [])  # nothing ran since
    drift, alerts = findings_since(wh, 0)
    assert {d.field_path for d in drift} == {"gift_note", "lines.wrap", "customer_ref"}
    (by_type,) = [a for a in alerts if a.scope == "event_type"]
    assert by_type.reason == "missing_field:customer_id"
    assert "rename customer_ref back to customer_id" in by_type.advice
