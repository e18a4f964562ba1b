"""A simulated world's injected faults come out of ingest exactly as truth/injected_faults.csv says."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from pipelines import warehouse
from pipelines.ingest import ingest_folder
from pipelines.simulator import generate


def _ingest(tmp: Path, bad_rate: float):
    world = tmp / "world"
    generate(world, orders=3000, days=20, seed=23, bad_rate=bad_rate)
    con = warehouse.connect(tmp / "wh.duckdb")
    result = ingest_folder(con, world)
    return world, con, result


@pytest.fixture(scope="module")
def faulty(tmp_path_factory):
    world, con, result = _ingest(tmp_path_factory.mktemp("faulty"), 0.02)
    yield world, con, result
    con.close()


def _faults(world: Path) -> list[dict[str, str]]:
    with (world / "truth" / "injected_faults.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def test_every_file_reconciles_and_truth_is_not_ingested(faulty):
    world, con, result = faulty
    files = {r.file for r in result.files}
    assert files, "nothing ingested"
    assert not any(f.startswith("truth/") for f in files)
    events = sorted(p.name for p in (world / "events").iterdir())
    assert {f"events/{name}" for name in events} <= files
    for r in result.files:
        assert r.lines_read == r.landed + r.duplicates + r.quarantined, r
    (from_truth,) = con.execute(
        "select count(*) from raw.events where file like 'truth/%'"
    ).fetchall()[0]
    assert from_truth == 0


def test_each_injected_fault_has_its_expected_outcome(faulty):
    world, con, _ = faulty
    faults = _faults(world)
    kinds = {f["fault"] for f in faults}
    # A 2% world of this size makes every kind of fault at least once.
    assert {"invalid_json", "exact_duplicate", "conflicting_duplicate", "late_arriving"} <= kinds
    quarantined = {
        (file, line_no): reason
        for file, line_no, reason in con.execute(
            "select file, line_no, reason from raw.quarantine"
        ).fetchall()
    }
    landed = {
        (file, line_no): event_id
        for file, line_no, event_id in con.execute(
            "select file, line_no, event_id from raw.events"
        ).fetchall()
    }
    listed = set()
    for fault in faults:
        key = (f"events/{fault['file']}", int(fault["line"]))
        listed.add(key)
        expected = fault["expected"]
        if expected == "landed":
            assert landed.get(key) == fault["event_id"], fault
            assert key not in quarantined, fault
        elif expected == "duplicate":
            assert key not in landed, fault
            assert key not in quarantined, fault
        else:
            assert quarantined.get(key) == expected, fault
            assert key not in landed, fault
    stray = {key: reason for key, reason in quarantined.items() if key not in listed}
    assert not stray, list(stray.items())[:5]


def test_duplicates_counted_match_the_listed_duplicates(faulty):
    world, _, result = faulty
    expected = sum(f["expected"] == "duplicate" for f in _faults(world))
    assert expected > 0
    assert sum(r.duplicates for r in result.files) == expected


def test_a_clean_world_lands_everything(tmp_path):
    world, con, result = _ingest(tmp_path, 0.0)
    try:
        assert _faults(world) == []
        assert sum(r.quarantined for r in result.files) == 0
        assert sum(r.duplicates for r in result.files) == 0
        written = sum(len(p.read_bytes().splitlines()) for p in (world / "events").iterdir())
        (stored,) = con.execute("select count(*) from raw.events").fetchall()[0]
        assert stored == written
        (quarantined,) = con.execute("select count(*) from raw.quarantine").fetchall()[0]
        assert quarantined == 0
    finally:
        con.close()
