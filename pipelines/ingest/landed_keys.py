"""The 64-bit keys (DuckDB `hash(event_id)`) of every event in raw.events, held in memory.

Telling a line's first copy from a re-send needs the copies already landed, but joining each
chunk to raw.events scans its whole `event_id` column: a cost per chunk that grows with the
warehouse (on 10.8 million events, 1.3 s a chunk, more than the chunk's own work). The keys are
read once per ingest instead, and each chunk asks them which of its lines might have landed
before; usually none has (a source's re-sends sit in the same file as their original, mostly in
the same chunk), and then the chunk never reads raw.events. A key in the set only makes a line
a candidate: two event_ids share a key once in 2^64, and the join on event_id decides.

The keys must cover raw.events at all times, or a re-sent event would land twice: they are
loaded from the table, and a chunk's keys are added only once its transaction has committed (a
chunk rolled back leaves none behind; one added too early would cost nothing but a join).
"""

from __future__ import annotations

import duckdb
import numpy as np

# The key of an event_id, the same expression wherever it is computed.
KEY_SQL = "hash(event_id)"


class LandedKeys:
    """A sorted set of uint64 keys: membership by binary search, additions merged in place."""

    def __init__(self, keys: np.ndarray | None = None) -> None:
        given = np.empty(0, np.uint64) if keys is None else np.asarray(keys, np.uint64)
        self._keys = np.unique(given)

    @classmethod
    def of_warehouse(cls, con: duckdb.DuckDBPyConnection) -> LandedKeys:
        """The keys of every event in raw.events: one scan of its event_id column."""
        found = con.execute(f"select {KEY_SQL} as key from raw.events").fetchnumpy()["key"]
        return cls(np.asarray(found, np.uint64))

    def __len__(self) -> int:
        return len(self._keys)

    def contains(self, keys: np.ndarray) -> np.ndarray:
        """A boolean mask: which of `keys` are in the set."""
        keys = np.asarray(keys, np.uint64)
        if not len(self._keys):
            return np.zeros(len(keys), dtype=bool)
        at = np.searchsorted(self._keys, keys)
        return self._keys[np.minimum(at, len(self._keys) - 1)] == keys

    def add(self, keys: np.ndarray) -> None:
        """Put `keys` in the set (those already there, or repeated, are kept once)."""
        new = np.unique(np.asarray(keys, np.uint64))
        new = new[~self.contains(new)]
        if len(new):
            # One copy of the set per call, no sort of it: cheap beside a chunk's work.
            self._keys = np.insert(self._keys, np.searchsorted(self._keys, new), new)
