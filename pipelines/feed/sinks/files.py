"""The files sink (default): `$OMSI_HOME/feed/<snapshot_id>/` with Parquet and JSON Lines.

A snapshot is written into a hidden temporary folder, every file synced, then the folder is
renamed into place (one atomic step), and only then is `latest` (a symbolic link) moved to it.
A reader that follows `latest`, or lists folders holding a manifest.json, sees whole snapshots
only; a crash leaves a `.tmp-*` folder, removed by the next publish.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pyarrow.parquet as pq

from pipelines.feed.sinks import ALREADY_DELIVERED, DELIVERED, SinkResult
from pipelines.feed.snapshot import Snapshot
from pipelines.feed.state import fsync_dir

LATEST = "latest"
MANIFEST = "manifest.json"


def _sync(path: Path) -> None:
    with path.open("rb") as f:
        os.fsync(f.fileno())


def snapshot_folders(feed_dir: Path) -> list[Path]:
    """Published snapshots, oldest first (ids start with their as-of instant)."""
    if not feed_dir.is_dir():
        return []
    return sorted(
        p
        for p in feed_dir.iterdir()
        if p.is_dir() and not p.is_symlink() and (p / MANIFEST).is_file()
    )


def latest_snapshot(feed_dir: Path) -> str | None:
    link = feed_dir / LATEST
    return os.readlink(link) if link.is_symlink() else None


def publish_files(snapshot: Snapshot, feed_dir: Path, *, keep: int = 48) -> SinkResult:
    feed_dir.mkdir(parents=True, exist_ok=True)
    for leftover in feed_dir.glob(".tmp-*"):
        # Left by a publish that died; the lock held by our caller means none is in progress.
        shutil.rmtree(leftover, ignore_errors=True)
    target = feed_dir / snapshot.snapshot_id
    if (target / MANIFEST).is_file():
        _point_latest(feed_dir, snapshot.snapshot_id)
        return SinkResult("file", snapshot.snapshot_id, ALREADY_DELIVERED, str(target))

    tmp = feed_dir / f".tmp-{snapshot.snapshot_id}-{os.getpid()}"
    tmp.mkdir()
    for name, dataset in snapshot.datasets.items():
        pq.write_table(dataset.table, tmp / f"{name}.parquet", compression="zstd")
        (tmp / f"{name}.jsonl").write_bytes(dataset.jsonl)
        _sync(tmp / f"{name}.parquet")
        _sync(tmp / f"{name}.jsonl")
    # The manifest is written last: a folder with a manifest is a finished snapshot.
    (tmp / MANIFEST).write_bytes(snapshot.manifest_bytes())
    _sync(tmp / MANIFEST)
    fsync_dir(tmp)
    os.rename(tmp, target)
    fsync_dir(feed_dir)
    _point_latest(feed_dir, snapshot.snapshot_id)
    _prune(feed_dir, keep, current=snapshot.snapshot_id)
    return SinkResult("file", snapshot.snapshot_id, DELIVERED, str(target))


def _point_latest(feed_dir: Path, snapshot_id: str) -> None:
    link = feed_dir / LATEST
    if latest_snapshot(feed_dir) == snapshot_id:
        return
    tmp = feed_dir / f".{LATEST}.{os.getpid()}.tmp"
    tmp.unlink(missing_ok=True)
    # Relative, so the feed folder can be moved or mounted elsewhere.
    os.symlink(snapshot_id, tmp)
    os.replace(tmp, link)
    fsync_dir(feed_dir)


def _prune(feed_dir: Path, keep: int, *, current: str) -> None:
    folders = [p for p in snapshot_folders(feed_dir) if p.name != current]
    for old in folders[: max(len(folders) - (keep - 1), 0)]:
        # Remove the manifest first, so a half-removed folder is never taken for a snapshot.
        (old / MANIFEST).unlink(missing_ok=True)
        shutil.rmtree(old, ignore_errors=True)
