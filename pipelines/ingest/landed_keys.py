"""The 64-bit keys (DuckDB `hash(event_id)`) of every event in raw.events, held in memory.

Telling a line's first copy from a re-send needs the copies already landed, but joining each
chunk to raw.events scans its whole `event_id` column: a cost per chunk that grows with the
warehouse (0.15 s a chunk at 4 million events, 0.3 s at 9 million; 1.3 s at 11 million on a busy
machine). The keys are read once per ingest instead, and each chunk asks them which of its lines
might have landed before; usually none has (a source's re-sends sit in the same file as their
original, mostly in the same chunk), and then the chunk never reads raw.events. The same keys
find the lines repeated within the chunk, so that the judge looks at those lines alone. A key
only makes a line a candidate: two event_ids share a key once in 2^64, and the join on event_id
decides.

The keys must cover raw.events at all times, or a re-sent event would land twice: they are
loaded from the table, and a chunk's keys are added only once its transaction has committed (a
chunk rolled back leaves none behind; one added too early would cost nothing but a join).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa

# The key of an event_id, the same expression wherever it is computed.
KEY_SQL = "hash(event_id)"


class LandedKeys:
    """A sorted set of uint64 keys: membership by binary search, additions merged in place."""

    def __init__(self, keys: np.ndarray | None = None) -> None:
        given = np.empty(0, np.uint64) if keys is None else keys
        # The keys are the first `_size` of `_room`, which has room to grow: an addition is
        # merged in place rather than into a new array (one of 90 MB at 11 million events).
        self._room = _each_once(np.sort(np.asarray(given, np.uint64)))
        self._size = len(self._room)

    @classmethod
    def of_warehouse(cls, con: duckdb.DuckDBPyConnection) -> LandedKeys:
        """The keys of every event in raw.events: one scan of its event_id column."""
        return cls(con.execute(f"select {KEY_SQL} as key from raw.events").fetchnumpy()["key"])

    def __len__(self) -> int:
        return self._size

    def contains(self, keys: np.ndarray) -> np.ndarray:
        """A boolean mask: which of `keys` are in the set."""
        keys = np.asarray(keys, np.uint64)
        held = self._room[: self._size]
        if not len(held):
            return np.zeros(len(keys), dtype=bool)
        # Searched in order, each search starts where the last ended: on 8.6 million keys,
        # 430,000 sorted ones take 0.04 s, unsorted 0.5 s.
        order = np.argsort(keys)
        ordered = keys[order]
        at = np.minimum(np.searchsorted(held, ordered), len(held) - 1)
        found = np.empty(len(keys), dtype=bool)
        found[order] = held[at] == ordered
        return found

    def add(self, keys: np.ndarray) -> None:
        """Put `keys`, which are not in the set yet (see `contains`), in the set.

        Repeats among them are kept once; a key already in the set would be held twice, which
        `contains` does not mind.
        """
        new = _each_once(np.sort(np.asarray(keys, np.uint64)))
        size = self._size + len(new)
        if size > len(self._room):
            grown = np.empty(max(size, len(self._room) * 3 // 2), np.uint64)
            grown[: self._size] = self._room[: self._size]
            self._room = grown
        self._room[self._size : size] = new
        # A stable sort (timsort) finds the two sorted runs and merges them in one pass.
        self._room[:size].sort(kind="stable")
        self._size = size


def register_candidates(
    con: duckdb.DuckDBPyConnection, landed: LandedKeys
) -> tuple[np.ndarray, bool]:
    """Register `candidates`: the row_ids of the chunk's lines that may have another copy.

    Reads the valid lines of the chunk's `checked` (pipelines.ingest.events). A line's copies
    share its event_id, so its key: a line whose key neither has landed nor repeats in the
    chunk has no copy and lands, and the judge looks at the others alone (a key shared by two
    event_ids only makes a candidate). Returns the keys that had not landed, to add once the
    chunk commits, and whether any line's key had landed.
    """
    valid = con.execute(
        f"select row_id, {KEY_SQL} as key from checked where reason is null"
    ).fetchnumpy()
    keys = np.asarray(valid["key"], np.uint64)
    known = landed.contains(keys)
    candidates = np.asarray(valid["row_id"])[known | repeated(keys)]
    con.register("candidates", pa.table({"row_id": candidates}))
    return keys[~known], bool(known.any())


def repeated(keys: np.ndarray) -> np.ndarray:
    """A boolean mask: which of `keys` occur more than once among them."""
    keys = np.asarray(keys, np.uint64)
    order = np.argsort(keys)
    ordered = keys[order]
    same_as_next = ordered[1:] == ordered[:-1]
    found = np.zeros(len(keys), dtype=bool)
    found[order[1:][same_as_next]] = True
    found[order[:-1][same_as_next]] = True
    return found


def _each_once(ordered: np.ndarray) -> np.ndarray:
    """Sorted `ordered` with each key once."""
    # Not np.unique after a sort: numpy 2.4's takes 5 s on 4.3 million keys, np.sort 0.2 s.
    if len(ordered) < 2:
        return ordered
    again = ordered[1:] == ordered[:-1]
    return ordered[np.concatenate(([True], ~again))] if again.any() else ordered
