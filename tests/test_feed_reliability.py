"""`omsi feed` as a process: killed with SIGKILL in the middle of a publish, then run again, no
sink holds a partial snapshot and nothing is doubled; and no output ever holds a secret.

Real PostgreSQL (OMSI_TEST_PG_DSN), a real receiver on loopback, the real CLI in a subprocess.
The scores come from a synthetic warehouse (tests/feed_fixtures.py says why).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from pipelines.feed.config import load_config
from pipelines.feed.publish import load_snapshot
from pipelines.feed.receiver import Receiver, make_server
from pipelines.feed.sinks.files import MANIFEST, snapshot_folders
from pipelines.settings import OmsiHome
from tests.feed_fixtures import TEST_SECRET, build_synthetic_warehouse, free_port, pg_dsn, rescore

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]


@contextmanager
def receiving(receiver: Receiver, port: int, intercept=None) -> Iterator[None]:
    server = make_server(receiver, port=port, intercept=intercept)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def world(tmp_path: Path):
    dsn = pg_dsn()
    schema = f"feed_test_{time.time_ns()}"
    home = OmsiHome(tmp_path / "home")
    build_synthetic_warehouse(home, orders=1500)
    port = free_port()
    (home.root / "feed.toml").write_text(
        f"""
sinks = ["file", "postgres", "webhook"]

[postgres]
schema = "{schema}"

[webhook]
url = "http://127.0.0.1:{port}/feed"
max_batch_bytes = 16384
timeout_seconds = 2
max_attempts = 2
backoff_initial_seconds = 0.05
"""
    )
    env = os.environ | {
        "OMSI_HOME": str(home.root),
        "OMSI_FEED_POSTGRES_DSN": dsn,
        "OMSI_FEED_WEBHOOK_SECRET": TEST_SECRET,
    }
    yield {"home": home, "dsn": dsn, "schema": schema, "port": port, "env": env}
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))


def _feed(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "feed", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _start_feed(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "feed", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def _pg_state(dsn: str, schema: str) -> dict:
    """What a reader sees: the current snapshot and, per table, its snapshot ids and row count."""
    with psycopg.connect(dsn) as conn:
        history = conn.execute(
            sql.SQL(
                "select snapshot_id, row_counts from {}.feed_snapshots order by published_at"
            ).format(sql.Identifier(schema))
        ).fetchall()
        tables = {}
        for name in ("node_scores", "availability", "order_risk"):
            tables[name] = dict(
                conn.execute(
                    sql.SQL("select snapshot_id, count(*) from {}.{} group by 1").format(
                        sql.Identifier(schema), sql.Identifier(name)
                    )
                ).fetchall()
            )
    return {"history": history, "tables": tables}


def _assert_pg_holds(state: dict, snapshot_id: str) -> None:
    current, counts = state["history"][-1]
    assert current == snapshot_id
    for name, found in state["tables"].items():
        assert found == {snapshot_id: counts[name]}, name


def _assert_files_whole(home: OmsiHome) -> list[str]:
    import hashlib

    ids = []
    for folder in snapshot_folders(home.feed):
        manifest = json.loads((folder / MANIFEST).read_text())
        for name, info in manifest["datasets"].items():
            data = (folder / f"{name}.jsonl").read_bytes()
            assert hashlib.sha256(data).hexdigest() == info["sha256"]
            assert (folder / f"{name}.parquet").is_file()
        ids.append(folder.name)
    latest = home.feed / "latest"
    if latest.is_symlink():
        assert os.readlink(latest) in ids
    return ids


def test_kill_9_in_the_middle_of_each_sink_then_a_rerun_leaves_whole_snapshots(world) -> None:
    home, dsn, schema, env = world["home"], world["dsn"], world["schema"], world["env"]
    receiver = Receiver(TEST_SECRET)
    seen_per_id: dict[str, int] = {}
    slow = threading.Event()

    def counting(handler, headers, body) -> bool:
        seen_per_id[headers["webhook-id"]] = seen_per_id.get(headers["webhook-id"], 0) + 1
        if slow.is_set():
            time.sleep(0.3)
        return False

    with receiving(receiver, world["port"], counting):
        first = _feed(env)
        assert first.returncode == 0, first.stdout + first.stderr
        baseline = _assert_files_whole(home)
        assert len(baseline) == 1
        _assert_pg_holds(_pg_state(dsn, schema), baseline[0])
        assert list(receiver.applied) == baseline

        # 1. Killed inside the PostgreSQL transaction: a test connection holds a lock on the
        # last table, so the publish waits there with two tables already replaced.
        rescore(home, seed=2, orders=1500)
        # The lock is held by `blocker`; `watcher` polls outside any transaction, since
        # pg_stat_activity is frozen for the length of the transaction that reads it.
        with psycopg.connect(dsn) as blocker, psycopg.connect(dsn, autocommit=True) as watcher:
            blocker.execute(
                sql.SQL("lock table {}.order_risk in access exclusive mode").format(
                    sql.Identifier(schema)
                )
            )
            proc = _start_feed(env)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                waiting = watcher.execute(
                    "select count(*) from pg_stat_activity where wait_event_type = 'Lock' "
                    "and query ilike %s",
                    [f"%{schema}%order_risk%"],
                ).fetchone()[0]
                if waiting:
                    break
                assert proc.poll() is None, proc.stdout.read()
                time.sleep(0.05)
            else:
                pytest.fail("the publish never reached the PostgreSQL transaction")
            _kill(proc)
            blocker.rollback()
        # The server rolls the dead connection's transaction back: the old snapshot, whole.
        time.sleep(0.5)
        _assert_pg_holds(_pg_state(dsn, schema), baseline[0])
        after_kill = _assert_files_whole(home)
        # The files sink comes first in feed.toml: it had finished, whole, before the kill.
        assert len(after_kill) == 2 and not list(home.feed.glob(".tmp-*"))

        # 2. Killed while the webhook is sending the batches (each answer takes 0.3 s).
        slow.set()
        proc = _start_feed(env, "--sink", "webhook")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            new = [w for w in receiver.seen if baseline[0] not in w]
            if len(new) >= 3:
                break
            time.sleep(0.02)
        _kill(proc)
        slow.clear()
        assert len(receiver.applied) == 1, "the new snapshot must not apply half-sent"

        # 3. Killed while the files sink writes its temporary folder. The id is known before
        # (it is derived from the scores), so the poll watches for this snapshot's folder.
        rescore(home, seed=3, orders=1500)
        expected = load_snapshot(home, load_config(home.root, env=env)).snapshot_id
        proc = _start_feed(env, "--sink", "file")
        deadline = time.monotonic() + 120
        caught = False
        while time.monotonic() < deadline and proc.poll() is None:
            if list(home.feed.glob(f".tmp-{expected}-*")):
                proc.send_signal(signal.SIGKILL)
                caught = True
                break
        proc.wait(timeout=30)
        files_now = _assert_files_whole(home)
        if caught:
            assert expected not in files_now, "a killed write must not look published"
        else:  # the write finished between two polls: then it must be whole
            assert expected in files_now

        # The rerun publishes the newest scores everywhere, once.
        rerun = _feed(env)
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        newest = json.loads((home.feed / "latest" / MANIFEST).read_text())["snapshot_id"]

    assert not list(home.feed.glob(".tmp-*"))
    files = _assert_files_whole(home)
    assert len(files) == len(set(files)) and newest in files
    _assert_pg_holds(_pg_state(dsn, schema), newest)
    assert baseline[0] in receiver.applied and newest in receiver.applied
    assert receiver.rejected == []
    # Each message was applied once; the few sent again (in flight at a kill) were recognised.
    assert receiver.duplicates <= 2
    for snapshot_id, datasets in receiver.applied.items():
        folder = home.feed / snapshot_id
        if folder.is_dir():
            for name, rows in datasets.items():
                lines = (folder / f"{name}.jsonl").read_text().splitlines()
                assert rows == [json.loads(line) for line in lines]


def test_no_output_ever_shows_a_secret(world, tmp_path: Path) -> None:
    home, env = world["home"], world["env"]
    password = "Pa55-w0rd-never-shown"
    dsn = world["dsn"].replace("postgres@", f"postgres:{password}@")
    assert password in dsn, "the DSN should carry a password (trust auth ignores it)"
    env = env | {"OMSI_FEED_POSTGRES_DSN": dsn}
    outputs = []
    # The receiver is down: webhook batches go to dead letters with their reasons.
    run = _feed(env)
    outputs += [run.stdout, run.stderr]
    assert run.returncode == 1 and "dead letters" in run.stdout
    # A database that refuses: its error message must not carry the password either.
    bad = env | {"OMSI_FEED_POSTGRES_DSN": dsn.replace(":5432", f":{free_port()}")}
    run = _feed(bad, "--sink", "postgres")
    outputs += [run.stdout, run.stderr]
    assert run.returncode == 1 and "postgres: failed" in run.stdout
    run = _feed(env, "--retry-dead-letters")
    outputs += [run.stdout, run.stderr]
    status = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "status"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    outputs += [status.stdout, status.stderr]
    assert "dead letters" in status.stdout and "postgres" in status.stdout
    files = [p for p in home.root.rglob("*") if p.is_file()]
    assert any("dead-letters" in str(p) for p in files)
    with psycopg.connect(world["dsn"]) as conn:
        manifests = conn.execute(
            sql.SQL("select manifest::text from {}.feed_snapshots").format(
                sql.Identifier(world["schema"])
            )
        ).fetchall()
    outputs += [m[0] for m in manifests]
    secrets = [password, TEST_SECRET, TEST_SECRET.removeprefix("whsec_")]
    for text in outputs:
        for secret in secrets:
            assert secret not in text
    for path in files:
        data = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in data, f"{path} holds a secret"
