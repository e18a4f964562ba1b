"""The routing feed's snapshot and its files and PostgreSQL sinks.

These tests run on a synthetic warehouse (tests/feed_fixtures.py says why): they test the
feed's own logic (schema, manifest, hashes, atomic publishing, re-publishing) for any scores.
The PostgreSQL tests use the real server (OMSI_TEST_PG_DSN, default the local one).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path

import duckdb
import psycopg
import pyarrow.parquet as pq
import pytest
from psycopg import sql

from pipelines.feed.config import ConfigError, Secret, load_config
from pipelines.feed.datasets import FeedInputError
from pipelines.feed.publish import load_snapshot, publish
from pipelines.feed.schemas import DATASETS, columns, schema_errors
from pipelines.feed.sinks import ALREADY_DELIVERED, DELIVERED
from pipelines.feed.sinks.files import latest_snapshot, publish_files, snapshot_folders
from pipelines.feed.sinks.postgres import publish_postgres
from pipelines.settings import OmsiHome
from tests.feed_fixtures import build_synthetic_warehouse, pg_dsn, rescore


@pytest.fixture
def home(tmp_path: Path) -> OmsiHome:
    home = OmsiHome(tmp_path / "home")
    build_synthetic_warehouse(home)
    return home


@pytest.fixture
def pg_schema():
    """A schema of its own per test, dropped afterwards (other engineers share the server)."""
    dsn = pg_dsn()
    name = f"feed_test_{time.time_ns()}"
    yield dsn, name
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(name)))


def test_the_file_sink_writes_a_complete_snapshot_its_manifest_describes(home: OmsiHome) -> None:
    report = publish(home, load_config(home.root), sinks=["file"], log=lambda _: None)
    assert report.ok and report.results[0].outcome == DELIVERED
    snapshot_id = report.snapshot.snapshot_id
    folder = home.feed / snapshot_id
    assert latest_snapshot(home.feed) == snapshot_id
    manifest = json.loads((folder / "manifest.json").read_text())
    assert schema_errors("manifest", manifest) == []
    assert manifest["snapshot_id"] == snapshot_id and manifest["schema_version"] == 1
    assert manifest["model_versions"]["delivery"].startswith("delivery-")
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        for name, table in (
            ("order_risk", "delivery_risk_scores"),
            ("availability", "inventory_risk_scores"),
        ):
            assert (
                manifest["datasets"][name]["rows"]
                == con.execute(f"select count(*) from ml.{table}").fetchall()[0][0]
            )
        nodes = con.execute("select count(*) from marts.dim_nodes").fetchall()[0][0]
    assert manifest["datasets"]["node_scores"]["rows"] == nodes
    for name in DATASETS:
        jsonl = (folder / f"{name}.jsonl").read_bytes()
        assert hashlib.sha256(jsonl).hexdigest() == manifest["datasets"][name]["sha256"]
        records = [json.loads(line) for line in jsonl.splitlines()]
        assert len(records) == manifest["datasets"][name]["rows"]
        for record in records:
            assert list(record) == columns(name)
            assert schema_errors(name, record) == []
        parquet = pq.read_table(folder / f"{name}.parquet")
        assert parquet.column_names == columns(name)
        assert parquet.num_rows == len(records)
        # Parquet and JSON Lines hold the same rows.
        assert json.loads(report.snapshot.datasets[name].jsonl.splitlines()[0]) == records[0]
    assert not list(home.feed.glob(".tmp-*"))


def test_rows_are_the_ml_tables_and_the_penalty_follows_the_cost_model(home: OmsiHome) -> None:
    snapshot = load_snapshot(home, load_config(home.root))
    con = duckdb.connect(str(home.warehouse), read_only=True)
    con.execute("set TimeZone = 'UTC'")
    order_risk = {r["order_id"]: r for r in snapshot.datasets["order_risk"].table.to_pylist()}
    ml = con.execute("select * from ml.delivery_risk_scores").fetch_df().to_dict("records")
    assert len(ml) == len(order_risk)
    for row in ml:
        mine = order_risk[row["order_id"]]
        assert mine["p_late"] == row["p_late"]  # exactly, not approximately
        assert mine["suggested_action"] == row["suggested_action"]
        assert (
            mine["factor_1"] == row["factor_1"] and mine["contribution_1"] == row["contribution_1"]
        )
    rates = dict(
        con.execute("select component, cast(rate as double) from marts.cost_model").fetchall()
    )
    means = dict(
        con.execute(
            "select node_id, avg(p_late) from ml.delivery_risk_scores group by all"
        ).fetchall()
    )
    for node in snapshot.datasets["node_scores"].table.to_pylist():
        if node["late_risk_source"] == "model":
            assert node["late_risk"] == pytest.approx(means[node["node_id"]], abs=1e-12)
        expected = (
            node["late_risk"] * rates["late_order"] + node["p_reject"] * rates["reallocation"]
        )
        assert node["routing_penalty"] == round(expected, 2)
        assert node["reliability"] == pytest.approx(1 - node["p_reject"])
    # The node without stock records has no record accuracy rather than a made-up one.
    assert any(
        n["record_accuracy"] is None for n in snapshot.datasets["node_scores"].table.to_pylist()
    )


def test_the_same_scores_give_the_same_snapshot_and_republishing_is_a_no_op(home: OmsiHome) -> None:
    config = load_config(home.root)
    first = load_snapshot(home, config)
    assert load_snapshot(home, config).snapshot_id == first.snapshot_id
    assert publish_files(first, home.feed).outcome == DELIVERED
    folder = home.feed / first.snapshot_id
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    assert publish_files(first, home.feed).outcome == ALREADY_DELIVERED
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before
    rescore(home, seed=2)
    second = load_snapshot(home, config)
    assert second.snapshot_id != first.snapshot_id
    publish_files(second, home.feed)
    assert latest_snapshot(home.feed) == second.snapshot_id
    assert [p.name for p in snapshot_folders(home.feed)] == sorted(
        [first.snapshot_id, second.snapshot_id]
    )


def test_old_file_snapshots_are_pruned_to_the_configured_number(home: OmsiHome) -> None:
    config = load_config(home.root)
    ids = []
    for seed in range(3, 7):
        rescore(home, seed=seed)
        snapshot = load_snapshot(home, config)
        publish_files(snapshot, home.feed, keep=2)
        ids.append(snapshot.snapshot_id)
    assert [p.name for p in snapshot_folders(home.feed)] == ids[-2:]


def test_missing_score_tables_say_what_to_run(tmp_path: Path) -> None:
    home = OmsiHome(tmp_path / "home")
    build_synthetic_warehouse(home)
    with duckdb.connect(str(home.warehouse)) as con:
        con.execute("drop table ml.inventory_risk_scores")
    with pytest.raises(FeedInputError, match=r"ml.inventory_risk_scores.*`omsi run`"):
        load_snapshot(home, load_config(home.root))
    with pytest.raises(FeedInputError, match="omsi run"):
        load_snapshot(OmsiHome(tmp_path / "empty"), load_config(tmp_path))


def test_a_broken_score_is_refused_before_anything_is_published(home: OmsiHome) -> None:
    with duckdb.connect(str(home.warehouse)) as con:
        con.execute("update ml.delivery_risk_scores set p_late = 1.5 where order_id = 'O1'")
    report_error = None
    try:
        publish(home, load_config(home.root), sinks=["file"], log=lambda _: None)
    except ValueError as exc:
        report_error = str(exc)
    assert report_error and "p_late" in report_error and "above the maximum" in report_error
    assert snapshot_folders(home.feed) == []


def test_the_configuration_file_is_checked_and_secrets_never_print(tmp_path: Path) -> None:
    (tmp_path / "feed.toml").write_text('sinks = ["file", "webhok"]\n')
    with pytest.raises(ConfigError, match="webhok"):
        load_config(tmp_path)
    (tmp_path / "feed.toml").write_text(
        'sinks = ["webhook"]\n[webhook]\nurl = "http://x"\ntimeout = 3\n'
    )
    with pytest.raises(ConfigError, match="timeout"):
        load_config(tmp_path)
    (tmp_path / "feed.toml").write_text(
        'sinks = ["postgres", "webhook"]\n[postgres]\ndsn = "postgresql://u:filepass99@h/db"\n'
        '[webhook]\nurl = "http://127.0.0.1:9/"\n'
    )
    config = load_config(
        tmp_path, env={"OMSI_FEED_WEBHOOK_SECRET": "whsec_c2VjcmV0c2VjcmV0c2VjcmV0"}
    )
    assert "filepass99" not in repr(config) and "c2VjcmV0" not in repr(config)
    assert (
        config.redact("password filepass99 and c2VjcmV0c2VjcmV0c2VjcmV0") == "password *** and ***"
    )
    assert str(Secret("x")) == "***"
    (tmp_path / "feed.toml").write_text('[webhook]\nurl = "https://feed:urlpass55@x/"\n')
    assert load_config(tmp_path).redact("https://feed:urlpass55@x/") == "https://feed:***@x/"
    (tmp_path / "feed.toml").write_text("[webhook]\nmax_batch_bytes = 100\n")
    with pytest.raises(ConfigError, match="max_batch_bytes"):
        load_config(tmp_path)
    (tmp_path / "feed.toml").unlink()
    env = {"OMSI_FEED_POSTGRES_DSN": "postgresql://u:envpass77@h/db"}
    assert load_config(tmp_path, env=env).postgres.dsn.reveal().endswith("envpass77@h/db")


def _pg_rows(dsn: str, schema: str, dataset: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        cols = sql.SQL(", ").join(map(sql.Identifier, ["snapshot_id", *columns(dataset)]))
        return conn.execute(
            sql.SQL("select {} from {}.{} order by 2, 3").format(
                cols, sql.Identifier(schema), sql.Identifier(dataset)
            )
        ).fetchall()


def test_postgres_holds_exactly_the_snapshot_and_republishing_changes_nothing(
    home, pg_schema
) -> None:
    dsn, schema = pg_schema
    config = load_config(home.root)
    first = load_snapshot(home, config)
    assert publish_postgres(first, dsn, schema=schema).outcome == DELIVERED
    for name in DATASETS:
        rows = _pg_rows(dsn, schema, name)
        expected = first.datasets[name].table.to_pylist()
        assert len(rows) == len(expected)
        assert {r[0] for r in rows} == {first.snapshot_id}
        # Values come back exactly (doubles included), in key order.
        assert [tuple(r[1:]) for r in rows] == [tuple(e.values()) for e in expected]
    assert publish_postgres(first, dsn, schema=schema).outcome == ALREADY_DELIVERED
    rescore(home, seed=9)
    second = load_snapshot(home, config)
    publish_postgres(second, dsn, schema=schema)
    rows = _pg_rows(dsn, schema, "order_risk")
    # Orders that left the snapshot are gone; only the new snapshot's rows remain.
    assert {r[1] for r in rows} == {
        r["order_id"] for r in second.datasets["order_risk"].table.to_pylist()
    }
    assert {r[0] for r in rows} == {second.snapshot_id}
    with psycopg.connect(dsn) as conn:
        history = conn.execute(
            sql.SQL("select snapshot_id from {}.feed_snapshots order by published_at").format(
                sql.Identifier(schema)
            )
        ).fetchall()
    assert [h[0] for h in history] == [first.snapshot_id, second.snapshot_id]


def test_a_reader_polling_postgres_during_many_publishes_never_sees_a_mix(home, pg_schema) -> None:
    dsn, schema = pg_schema
    config = load_config(home.root)
    snapshots = []
    for seed in range(20, 32):
        rescore(home, seed=seed)
        snapshots.append(load_snapshot(home, config))
    assert len({s.snapshot_id for s in snapshots}) == len(snapshots)
    publish_postgres(snapshots[0], dsn, schema=schema)
    counts = {s.snapshot_id: {n: d.rows for n, d in s.datasets.items()} for s in snapshots}
    done = threading.Event()
    seen: list[str] = []
    problems: list[str] = []

    def reader() -> None:
        with psycopg.connect(dsn) as conn:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            while not done.is_set():
                with conn.transaction():
                    current = conn.execute(
                        sql.SQL(
                            "select snapshot_id from {}.feed_snapshots order by published_at desc limit 1"
                        ).format(sql.Identifier(schema))
                    ).fetchone()[0]
                    for name in DATASETS:
                        found = dict(
                            conn.execute(
                                sql.SQL(
                                    "select snapshot_id, count(*) from {}.{} group by 1"
                                ).format(sql.Identifier(schema), sql.Identifier(name))
                            ).fetchall()
                        )
                        if found != {current: counts[current][name]}:
                            problems.append(f"{name}: {found} while {current} is current")
                seen.append(current)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for _ in range(2):
            for snapshot in snapshots[1:]:
                publish_postgres(snapshot, dsn, schema=schema)
            # The second round re-publishes: each is a no-op, and the newest stays current.
    finally:
        done.set()
        thread.join()
    assert problems == []
    assert len(set(seen)) >= 3, "the reader should have seen several snapshots go by"
    assert seen[-1] == snapshots[-1].snapshot_id


def test_the_documented_examples_follow_the_published_schemas() -> None:
    import re

    text = (Path(__file__).resolve().parents[1] / "docs" / "routing-feed.md").read_text()
    examples = re.findall(r"<!-- example: (\w+) -->\s*```json\n(.*?)```", text, re.S)
    assert {name for name, _ in examples} == {*DATASETS, "manifest"}
    for name, body in examples:
        assert schema_errors(name, json.loads(body)) == [], name


def test_omsi_feed_on_a_home_without_scores_says_what_to_run(tmp_path: Path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from pipelines.cli import app

    monkeypatch.setenv("OMSI_HOME", str(tmp_path / "home"))
    runner = CliRunner()
    assert runner.invoke(app, ["feed", "--help"]).exit_code == 0
    result = runner.invoke(app, ["feed"])
    assert result.exit_code == 1 and "omsi run" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["feed", "--sink", "ftp"])
    assert result.exit_code == 1 and "file, postgres, webhook" in result.output
    status = runner.invoke(app, ["status"])
    assert status.exit_code == 0
    assert "file: nothing delivered yet" in status.output
    assert "dead letters: none waiting" in status.output


def test_omsi_feed_publishes_and_status_shows_the_delivery(home: OmsiHome, monkeypatch) -> None:
    from typer.testing import CliRunner

    from pipelines.cli import app

    monkeypatch.setenv("OMSI_HOME", str(home.root))
    runner = CliRunner()
    result = runner.invoke(app, ["feed"])
    assert result.exit_code == 0, result.output
    snapshot_id = latest_snapshot(home.feed)
    assert f"snapshot {snapshot_id}" in result.output and "file: delivered" in result.output
    again = runner.invoke(app, ["feed"])
    assert again.exit_code == 0 and "file: already delivered" in again.output
    status = runner.invoke(app, ["status"])
    assert f"file: last snapshot {snapshot_id} delivered" in status.output
