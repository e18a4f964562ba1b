"""Write what an adapter produces in the landing layout the ingest reads.

`events/<YYYY-MM>.jsonl` (one contract event per line) and `reference/{nodes,skus,carriers}.csv`.
Output is byte-for-byte reproducible: events are ordered by instant then event_id, JSON keys keep
the envelope's order, CSV uses `\\n` line ends, and every file is written to a temporary name and
renamed so an interrupted run never leaves a half-written file for the ingest to pick up.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.contract.reference_tables import reference_columns

NODE_COLUMNS = reference_columns("nodes")
SKU_COLUMNS = reference_columns("skus")
CARRIER_COLUMNS = reference_columns("carriers")


@dataclass(frozen=True)
class LandingEvent:
    """One contract event plus the instant it happened, which fixes its file and its order."""

    at: datetime  # timezone-aware; its local month names the file
    event: dict[str, Any]

    @property
    def sort_key(self) -> tuple[datetime, str]:
        return (self.at.astimezone(UTC), self.event["event_id"])

    @classmethod
    def enveloped(
        cls, source: str, event_id: str, event_type: str, at: datetime, data: dict[str, Any]
    ) -> LandingEvent:
        """`data` in the contract's envelope, keys in the envelope's order."""
        return cls(
            at=at,
            event={
                "event_id": event_id,
                "event_type": event_type,
                "occurred_at": at.isoformat(),
                "source": source,
                "schema_version": 1,
                "data": data,
            },
        )


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8", newline="")
    os.replace(tmp, path)


def write_events_by_month(events_dir: Path, events: Iterable[LandingEvent]) -> dict[str, int]:
    """Write events into one JSONL file per local calendar month; return lines per file name."""
    by_month: dict[str, list[LandingEvent]] = {}
    for item in events:
        by_month.setdefault(item.at.strftime("%Y-%m"), []).append(item)
    written: dict[str, int] = {}
    for month in sorted(by_month):
        batch = sorted(by_month[month], key=lambda item: item.sort_key)
        lines = [
            json.dumps(item.event, ensure_ascii=False, separators=(",", ":")) + "\n"
            for item in batch
        ]
        name = f"{month}.jsonl"
        _write_atomically(events_dir / name, "".join(lines))
        written[name] = len(lines)
    return written


def write_reference_csv(
    path: Path, columns: Sequence[str], rows: Iterable[Mapping[str, str]]
) -> int:
    """Write a reference CSV with exactly `columns`; a column a row lacks is left empty."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    count = 0
    for row in rows:
        unknown = set(row) - set(columns)
        if unknown:
            # A typo here would silently drop data, so fail loudly instead.
            raise ValueError(f"{path.name}: columns not in the contract: {sorted(unknown)}")
        writer.writerow(row)
        count += 1
    _write_atomically(path, buffer.getvalue())
    return count


def write_landing_folder(out: Path, converter: Any, report: Any) -> None:
    """Write a converted export as a landing folder: reference CSVs, events by month, counts.

    `converter` offers node_rows(), sku_rows(), carrier_rows() and events; the counts go on
    `report` (reference_rows, event_files, events_written), as every adapter reports them.
    """
    reference = out / "reference"
    report.reference_rows = {
        "nodes.csv": write_reference_csv(
            reference / "nodes.csv", NODE_COLUMNS, converter.node_rows()
        ),
        "skus.csv": write_reference_csv(reference / "skus.csv", SKU_COLUMNS, converter.sku_rows()),
        "carriers.csv": write_reference_csv(
            reference / "carriers.csv", CARRIER_COLUMNS, converter.carrier_rows()
        ),
    }
    report.event_files = write_events_by_month(out / "events", converter.events)
    counts = Counter(item.event["event_type"] for item in converter.events)
    report.events_written = dict(sorted(counts.items()))
