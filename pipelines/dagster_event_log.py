"""Dagster's SQLite run log, with one open connection per database file for the whole process.

Dagster's own SQLite event log storage creates an engine and a connection for every event it
writes (twice for an asset or check event, which it copies into the cross-run index), and each
commit waits for the disk. A run of this project starts by writing a "planned" event per asset
and per dbt test, about 900: on the shared 2-core machine that took 64 s of an `omsi run` (5,640
connections and 2,841 synced commits), before the first step started. This storage keeps each
file's connection open and lets SQLite's write-ahead log reach the disk at its checkpoints
(`synchronous=NORMAL`: a power cut may lose a run log's last events, never corrupt the file).
It also remembers which tables the index has: Dagster asks before every asset check event and
every event with tags, each time opening the file anew (0.9 s of a one-day run at 1M orders).

The files, their place and their schema are Dagster's own, so `dagster dev` (`make dev`) reads
the same runs with its default storage. `pipelines.runner.prepare_dagster_home` names this class
in the instance's dagster.yaml.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

# Database files whose connection stays open: the cross-run index and the runs used last.
HELD_FILES = 8


def _relaxed_sync(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("pragma synchronous = normal")
    cursor.close()


class HeldSqliteEventLogStorage(SqliteEventLogStorage):
    """SqliteEventLogStorage that holds one connection per shard (the index, each run)."""

    def __init__(self, base_dir: str, inst_data: Any = None) -> None:
        self._engines: dict[str, Engine] = {}
        self._tables_found: set[str] = set()
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Any) -> HeldSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.pop(shard, None)
        if engine is None:
            # One connection shared by the threads that write, one at a time under _db_lock.
            engine = create_engine(
                self.conn_string_for_shard(shard),
                poolclass=StaticPool,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            )
            event.listen(engine, "connect", _relaxed_sync)
        self._engines[shard] = engine  # now the most recently used
        # A long-lived process (the UI, the daemon) visits one file per run: keep the few in use.
        while len(self._engines) > HELD_FILES:
            oldest = next(iter(self._engines))
            self._engines.pop(oldest).dispose()
        return engine

    def has_table(self, table_name: str) -> bool:
        # Only a table found is remembered: migrations add tables and nothing here drops one.
        if table_name not in self._tables_found and super().has_table(table_name):
            self._tables_found.add(table_name)
        return table_name in self._tables_found

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def dispose(self) -> None:
        with self._db_lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()
        super().dispose()
