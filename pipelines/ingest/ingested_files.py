"""Which landed files were ingested before, so that a run skips them when they come again unchanged.

A file is the same when its path and SHA-256 match a file ingested before. Hashing every file
of the landing folder on every run, though, reads the whole folder: 3 GB and about 2 s for
the 409 day files of a 1,000,000-order year, growing with every file that lands. So each
file's record also keeps its size and modification time (to the nanosecond) when it was read,
and a file whose path, size and modification time match its record is skipped without being
read, as rsync and make decide. Content changed in place without changing size or
modification time is not seen that way; touching the file (or `omsi ingest --force`) has it
read. A file whose stamp changed but whose content did not (touched, or copied with a new
time) is hashed once, skipped, and its record takes the new stamp.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

# A file's size and modification time in nanoseconds, as `os.stat` gives them.
Stamp = tuple[int, int]


def file_stamp(path: Path) -> Stamp:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


@dataclass
class IngestedFiles:
    """What the warehouse's `raw.ingest_files` says was read before (empty: read everything)."""

    checksums: set[tuple[str, str]] = field(default_factory=set)  # (file, sha256)
    stamps: set[tuple[str, int, int]] = field(default_factory=set)  # (file, size, mtime_ns)
    # Skipped by their checksum with a new stamp: (mtime_ns, file, sha256), written back by
    # `restamp` once the batch's files are read. Appended from the reader thread.
    restamped: list[tuple[int, str, str]] = field(default_factory=list)

    @classmethod
    def of_warehouse(cls, con: duckdb.DuckDBPyConnection) -> IngestedFiles:
        rows = con.execute(
            "select distinct file, sha256, size_bytes, modified_ns from raw.ingest_files"
        ).fetchall()
        return cls(
            checksums={(file, sha) for file, sha, _, _ in rows},
            # Records from before stamps were kept have none: those files are hashed once more.
            stamps={(file, size, ns) for file, _, size, ns in rows if ns is not None},
        )

    def unchanged(self, relative: str, stamp: Stamp) -> bool:
        """The file's path, size and modification time are those of a file ingested before."""
        return (relative, *stamp) in self.stamps

    def same_content(self, relative: str, sha256: str, stamp: Stamp) -> bool:
        """A file of this path and checksum was ingested before; its record takes `stamp`."""
        if (relative, sha256) not in self.checksums:
            return False
        # The same content has the same size: the modification time is what changed.
        self.restamped.append((stamp[1], relative, sha256))
        return True

    def restamp(self, con: duckdb.DuckDBPyConnection) -> None:
        """Give the records of files skipped by their checksum the stamp they were found with."""
        if self.restamped:
            con.executemany(
                "update raw.ingest_files set modified_ns = ? where file = ? and sha256 = ?",
                self.restamped,
            )
