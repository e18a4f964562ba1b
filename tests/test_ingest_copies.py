"""Copies of an event in another chunk or batch than their original are judged like any other.

Ingest finds a line's earlier copies in raw.events only through the in-memory set of landed
keys (pipelines/ingest/landed_keys.py): these tests put the copies where only that set can
find them, in an earlier batch or an earlier chunk of the same batch.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pytest

from pipelines.ingest import events as ingest_events
from pipelines.ingest import ingest_folder, landed_keys
from pipelines.ingest import run as ingest_run
from pipelines.ingest.landed_keys import LandedKeys, repeated
from pipelines.ingest.readers import jsonl_chunks
from pipelines.ingest.run import FileResult
from pipelines.warehouse import connect
from tests.test_ingest import assert_reconciles, by_file, event, jsonl, write


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with connect(tmp_path / "warehouse.duckdb") as con:
        yield con


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every chunk one line: each copy in a chunk of its own, after its original's commit."""
    monkeypatch.setattr(ingest_run, "CHUNK_BYTES", 1)
    monkeypatch.setattr(ingest_run, "jsonl_chunks", functools.partial(jsonl_chunks, chunk_bytes=1))


def _copies(tag: str) -> tuple[bytes, bytes]:
    """Originals, and later copies: an exact re-send, a changed one, a new event sent twice."""
    e1, e2, e3 = event(f"{tag}-1"), event(f"{tag}-2", "shipment.delivered"), event(f"{tag}-3")
    changed = {**e2, "data": {**e2["data"], "order_id": "o-other"}}
    return jsonl(e1, e2), jsonl(e1, changed, e3, e3)


def _assert_copies_judged(con: duckdb.DuckDBPyConnection, later: FileResult, tag: str) -> None:
    assert (later.lines_read, later.landed, later.duplicates, later.quarantined) == (4, 1, 2, 1)
    stored = con.execute("select event_id, file, line_no from raw.events order by 1").fetchall()
    assert stored == [
        (f"{tag}-1", "a.jsonl", 1),
        (f"{tag}-2", "a.jsonl", 2),
        (f"{tag}-3", "b.jsonl", 3),
    ]
    quarantine = con.execute("select file, line_no, reason, detail from raw.quarantine").fetchall()
    assert quarantine == [
        (
            "b.jsonl",
            2,
            "conflicting_duplicate",
            f"event_id {tag}-2 already landed with different content from a.jsonl line 2",
        )
    ]


def test_copies_of_events_landed_by_an_earlier_batch(tmp_path: Path, warehouse) -> None:
    first, later = _copies("p")
    ingest_folder(warehouse, write(tmp_path / "one", {"a.jsonl": first}))
    # The same relative paths as the first batch's files, so that the details name them alike.
    write(tmp_path / "two", {"b.jsonl": later})
    result = ingest_folder(warehouse, tmp_path / "two")
    assert_reconciles(result)
    _assert_copies_judged(warehouse, by_file(result)["b.jsonl"], "p")


def test_copies_in_later_chunks_of_the_same_batch(tmp_path: Path, warehouse, small_chunks) -> None:
    first, later = _copies("c")
    landing = write(tmp_path / "landing", {"a.jsonl": first, "b.jsonl": later})
    result = ingest_folder(warehouse, landing)
    assert_reconciles(result)
    _assert_copies_judged(warehouse, by_file(result)["b.jsonl"], "c")


def test_a_duplicate_split_from_its_original_across_chunks_of_one_file(
    tmp_path: Path, warehouse, small_chunks
) -> None:
    e1, e2 = event("s-1"), event("s-2")
    changed = {**e1, "source": "resent-with-changes"}
    landing = write(tmp_path / "landing", {"a.jsonl": jsonl(e1, e2, e1, changed)})
    result = ingest_folder(warehouse, landing)
    assert_reconciles(result)
    f = by_file(result)["a.jsonl"]
    assert (f.lines_read, f.landed, f.duplicates, f.quarantined) == (4, 2, 1, 1)
    assert warehouse.execute("select line_no, reason from raw.quarantine").fetchall() == [
        (4, "conflicting_duplicate")
    ]


def test_a_key_that_collides_only_makes_a_candidate(
    tmp_path: Path, warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With every key taken for landed and repeated (as if all collided), event_ids decide."""
    first, later = _copies("k")
    ingest_folder(warehouse, write(tmp_path / "one", {"a.jsonl": first}))
    everything = lambda *args: np.ones(len(args[-1]), bool)  # noqa: E731
    monkeypatch.setattr(LandedKeys, "contains", everything)
    monkeypatch.setattr(landed_keys, "repeated", everything)
    result = ingest_folder(warehouse, write(tmp_path / "two", {"b.jsonl": later}))
    _assert_copies_judged(warehouse, by_file(result)["b.jsonl"], "k")


def test_a_chunk_rolled_back_adds_no_key(
    tmp_path: Path, warehouse, small_chunks, monkeypatch: pytest.MonkeyPatch
) -> None:
    added: list[np.ndarray] = []
    real_add = LandedKeys.add

    def add(self: LandedKeys, keys: np.ndarray) -> None:
        added.append(keys)
        real_add(self, keys)

    def land_then_fail(*args, **kwargs):
        landing = ingest_events.land_chunk(*args, **kwargs)
        if added:  # the second chunk: its writes are rolled back
            raise RuntimeError("cut short")
        return landing

    monkeypatch.setattr(LandedKeys, "add", add)
    monkeypatch.setattr(ingest_run, "land_chunk", land_then_fail)
    landing = write(tmp_path / "landing", {"a.jsonl": jsonl(event("r-1"), event("r-2"))})
    with pytest.raises(RuntimeError, match="cut short"):
        ingest_folder(warehouse, landing)
    assert len(added) == 1 and len(added[0]) == 1
    assert warehouse.execute("select event_id from raw.events").fetchall() == [("r-1",)]
    # The rerun finds r-1 landed by the batch cut short, and lands r-2.
    monkeypatch.setattr(ingest_run, "land_chunk", ingest_events.land_chunk)
    f = by_file(ingest_folder(warehouse, landing))["a.jsonl"]
    assert (f.landed, f.resumed, f.duplicates) == (1, 1, 0)


# --- the key set --------------------------------------------------------------------------------


def test_the_key_set_answers_membership_and_grows() -> None:
    top = np.iinfo(np.uint64).max
    keys = LandedKeys(np.array([7, top, 3, 7], np.uint64))
    assert len(keys) == 3
    probe = np.array([3, 4, 7, top, 0, top - 1], np.uint64)
    assert keys.contains(probe).tolist() == [True, False, True, True, False, False]
    keys.add(np.array([4, 4, 0], np.uint64))
    assert len(keys) == 5
    assert keys.contains(probe).tolist() == [True, True, True, True, True, False]
    for start in range(100, 10_000, 1000):  # growing past the room it has
        keys.add(np.arange(start + 999, start - 1, -1, dtype=np.uint64))
    assert len(keys) == 5 + 10 * 1000
    assert keys.contains(np.arange(100, 10_100, dtype=np.uint64)).all()
    assert keys.contains(np.array([5, 99, 10_100, top - 1], np.uint64)).tolist() == [False] * 4
    assert keys.contains(np.array([], np.uint64)).tolist() == []


def test_repeated_marks_every_copy_of_a_key() -> None:
    keys = np.array([5, 9, 5, 1, 9, 5, 2], np.uint64)
    assert repeated(keys).tolist() == [True, True, True, False, True, True, False]
    assert repeated(np.array([], np.uint64)).tolist() == []
    assert repeated(np.array([3], np.uint64)).tolist() == [False]


def test_an_empty_key_set_contains_nothing() -> None:
    keys = LandedKeys()
    assert keys.contains(np.array([0, 1], np.uint64)).tolist() == [False, False]
    keys.add(np.array([], np.uint64))
    assert len(keys) == 0


def test_the_key_set_of_a_warehouse_holds_its_events(tmp_path: Path, warehouse) -> None:
    first, _ = _copies("w")
    ingest_folder(warehouse, write(tmp_path / "one", {"a.jsonl": first}))
    keys = LandedKeys.of_warehouse(warehouse)
    ids = ["w-1", "w-2", "w-3"]
    hashed = warehouse.execute("select hash(unnest($ids))", {"ids": ids}).fetchnumpy()
    assert len(keys) == 2
    assert keys.contains(next(iter(hashed.values()))).tolist() == [True, True, False]
