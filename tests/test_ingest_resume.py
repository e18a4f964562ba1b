"""`kill -9` of a real `omsi ingest` after its first chunk commits, then a rerun.

Nothing is lost or doubled, and the lines the killed run had landed come back as `resumed`, so
that `duplicates` counts exactly what the source sent twice (the simulator's listed re-sends).
"""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines.ingest.readers import CHUNK_BYTES
from pipelines.simulator import generate
from pipelines.warehouse import connect

pytestmark = pytest.mark.slow

OMSI = Path(sys.executable).with_name("omsi")


@dataclass
class Resume:
    world: Path
    warehouse: Path
    killed: subprocess.Popen[str]
    killed_output: list[str]
    killed_batch: int
    # Lines the killed batch landed from files it never recorded as finished.
    landed_unfinished: int
    events_after_kill: int
    rerun: dict
    status: str


def _kill_after_first_chunk(world: Path, env: dict[str, str]) -> tuple[subprocess.Popen, list]:
    """Run `omsi ingest` and SIGKILL it as soon as it says a chunk of events has committed.

    Its progress goes to stderr after each chunk's commit; DuckDB lets no other process open
    the warehouse while it writes, so the output is what can be watched.
    """
    ingest = subprocess.Popen(
        [str(OMSI), "ingest", str(world)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = []
    assert ingest.stderr is not None
    for line in ingest.stderr:
        seen.append(line)
        if line.startswith("events:"):
            ingest.send_signal(signal.SIGKILL)
            break
    ingest.wait(timeout=60)
    ingest.stderr.close()
    return ingest, seen


@pytest.fixture(scope="module")
def resume(tmp_path_factory: pytest.TempPathFactory) -> Resume:
    root = tmp_path_factory.mktemp("resume")
    world = root / "world"
    # Faults on: the rerun must tell the source's re-sends from the lines it resumes.
    generate(world, orders=60_000, days=10, seed=11, bad_rate=0.01)
    size = sum(p.stat().st_size for p in (world / "events").iterdir())
    # At least two chunks, so that the kill comes before the last one.
    assert size > 1.2 * CHUNK_BYTES, size
    env = os.environ | {"OMSI_HOME": str(root / "home")}
    warehouse = root / "home" / "warehouse.duckdb"

    killed, output = _kill_after_first_chunk(world, env)
    with connect(warehouse, read_only=True) as con:
        killed_batch = con.execute("select max(batch_id) from raw.ingest_batches").fetchall()[0][0]
        events_after_kill = con.execute("select count(*) from raw.events").fetchall()[0][0]
        landed_unfinished = con.execute(
            """
            select count(*) from raw.events as e
            where e.batch_id = $b and e.file not in (
                select file from raw.ingest_files where batch_id = $b
            )
            """,
            {"b": killed_batch},
        ).fetchall()[0][0]

    rerun = subprocess.run(
        [str(OMSI), "ingest", str(world), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    status = subprocess.run(
        [str(OMSI), "status"], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return Resume(
        world=world,
        warehouse=warehouse,
        killed=killed,
        killed_output=output,
        killed_batch=killed_batch,
        landed_unfinished=landed_unfinished,
        events_after_kill=events_after_kill,
        rerun=json.loads(rerun.stdout),
        status=status.stdout,
    )


def _faults(world: Path) -> list[dict[str, str]]:
    with (world / "truth" / "injected_faults.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def _event_lines(world: Path) -> int:
    return sum(p.read_bytes().count(b"\n") for p in (world / "events").iterdir())


def test_the_first_run_was_killed_mid_way(resume: Resume) -> None:
    assert resume.killed.returncode == -signal.SIGKILL, "".join(resume.killed_output)
    with connect(resume.warehouse, read_only=True) as con:
        finished = con.execute(
            "select finished_at from raw.ingest_batches where batch_id = $b",
            {"b": resume.killed_batch},
        ).fetchall()[0][0]
    assert finished is None
    assert 0 < resume.events_after_kill < _event_lines(resume.world)
    # The killed run had landed lines of a file it did not finish: the case this is about.
    assert resume.landed_unfinished > 0


def test_the_rerun_reports_resumed_lines_not_duplicates(resume: Resume) -> None:
    summary = resume.rerun
    assert summary["batch_id"] == resume.killed_batch + 1
    assert summary["reconciles"] is True
    for f in summary["files"]:
        outcomes = f["landed"] + f["duplicates"] + f["resumed"] + f["quarantined"]
        assert f["lines_read"] == outcomes, f
    assert summary["resumed"] == resume.landed_unfinished
    # Duplicates are the source's re-sends in the files this run read, and nothing else.
    read_here = {f["file"] for f in summary["files"] if not f["skipped"]}
    resent = [
        f
        for f in _faults(resume.world)
        if f["expected"] == "duplicate" and f"events/{f['file']}" in read_here
    ]
    assert summary["duplicates"] == len(resent)


def test_nothing_is_lost_or_doubled(resume: Resume) -> None:
    faults = _faults(resume.world)
    resent = sum(f["expected"] == "duplicate" for f in faults)
    rejected = sum(f["expected"] not in ("landed", "duplicate") for f in faults)
    assert resent > 0 and rejected > 0
    with connect(resume.warehouse, read_only=True) as con:
        events, distinct = con.execute(
            "select count(*), count(distinct event_id) from raw.events"
        ).fetchall()[0]
        quarantined, distinct_lines = con.execute(
            "select count(*), count(distinct (file, line_no)) from raw.quarantine"
        ).fetchall()[0]
        # Over both batches: each file has one row, from the batch that finished it.
        rows, files, duplicates, rejections = con.execute(
            """
            select count(*), count(distinct file), sum(duplicates), sum(quarantined)
            from raw.ingest_files where kind = 'events'
            """
        ).fetchall()[0]
    assert events == distinct == _event_lines(resume.world) - resent - rejected
    assert quarantined == distinct_lines == rejected
    assert rows == files == len(list((resume.world / "events").iterdir()))
    assert (duplicates, rejections) == (resent, rejected)


def test_status_reconciles_over_both_batches(resume: Resume) -> None:
    found = re.search(
        r"lines read ([\d,]+) = landed ([\d,]+) \+ duplicates ([\d,]+) \+ resumed ([\d,]+) "
        r"\+ quarantined ([\d,]+)",
        resume.status,
    )
    assert found, resume.status
    read, landed, duplicates, resumed, quarantined = (
        int(n.replace(",", "")) for n in found.groups()
    )
    assert read == landed + duplicates + resumed + quarantined
    assert resumed == resume.landed_unfinished
    assert "(1 cut short)" in resume.status
    with connect(resume.warehouse, read_only=True) as con:
        reference = con.execute(
            "select sum(landed) from raw.ingest_files where kind <> 'events'"
        ).fetchall()[0][0]
        events = con.execute("select count(*) from raw.events").fetchall()[0][0]
    # The resumed lines are rows of raw.events that the killed batch landed and never counted.
    assert landed + resumed == events + reference
