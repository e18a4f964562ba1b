"""What the feed remembers between runs, under `$OMSI_HOME/feed/`.

- `sinks.json`: per sink, the last snapshot delivered and when, and the last failure (redacted);
- `dead-letters/`: webhook batches whose retries ran out, one JSON file each;
- `webhook-acks/<snapshot_id>.txt`: webhook ids the receiver acknowledged, so that a rerun
  after a crash does not send them again;
- `.lock`: held by the one process publishing (an OS lock, released even by `kill -9`).

Every file is written under a temporary name and renamed, so a crash leaves the old version.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


class FeedBusyError(RuntimeError):
    """Another `omsi feed` is publishing right now."""


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that a reader (or a crash) sees the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def now_utc() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class FeedState:
    def __init__(self, feed_dir: Path) -> None:
        self.root = feed_dir

    @property
    def dead_letters(self) -> Path:
        return self.root / "dead-letters"

    @property
    def acks(self) -> Path:
        return self.root / "webhook-acks"

    @contextmanager
    def lock(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise FeedBusyError(
                    "another `omsi feed` (or the scheduled feed) is publishing from this "
                    "$OMSI_HOME; run it again when that one has finished"
                ) from None
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # -- per-sink delivery record -------------------------------------------------------------

    def sinks(self) -> dict[str, dict[str, Any]]:
        path = self.root / "sinks.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def record(self, sink: str, **fields: Any) -> None:
        sinks = self.sinks()
        sinks[sink] = sinks.get(sink, {}) | fields
        write_atomically(self.root / "sinks.json", json.dumps(sinks, indent=2).encode() + b"\n")

    def delivered(self, sink: str) -> str | None:
        return self.sinks().get(sink, {}).get("last_snapshot_id")

    # -- webhook acknowledgements -------------------------------------------------------------

    def acked(self, snapshot_id: str) -> set[str]:
        path = self.acks / f"{snapshot_id}.txt"
        return set(path.read_text().split()) if path.exists() else set()

    def ack(self, snapshot_id: str, webhook_id: str) -> None:
        # One line appended and synced: a crash loses at most the line being written, and then
        # the batch is sent again under the same webhook-id, which receivers de-duplicate.
        self.acks.mkdir(parents=True, exist_ok=True)
        with (self.acks / f"{snapshot_id}.txt").open("a") as f:
            f.write(webhook_id + "\n")
            f.flush()
            os.fsync(f.fileno())

    # -- dead letters -------------------------------------------------------------------------

    def dead_letter_files(self) -> list[Path]:
        if not self.dead_letters.is_dir():
            return []
        return sorted(self.dead_letters.glob("*.json"))

    def read_dead_letter(self, path: Path) -> dict[str, Any]:
        return json.loads(path.read_text())

    def write_dead_letter(self, letter: dict[str, Any]) -> Path:
        # Named so that sorting the folder gives snapshot order, then send order.
        name = f"{letter['snapshot_id']}.{letter['sequence']:05d}.{letter['webhook_id']}.json"
        path = self.dead_letters / name
        write_atomically(path, json.dumps(letter, indent=2).encode() + b"\n")
        return path

    def dead_letter_path(self, snapshot_id: str, sequence: int, webhook_id: str) -> Path:
        return self.dead_letters / f"{snapshot_id}.{sequence:05d}.{webhook_id}.json"
