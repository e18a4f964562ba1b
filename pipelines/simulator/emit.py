"""Event output: timestamps, deterministic ids, per-day buffers and the day files.

Events are produced when their cause is simulated (a delivery is known the day the order ships),
so they are buffered by the day they occur and a day's file is written as soon as the simulation
has passed that day. Memory is bounded by the furthest-ahead event (returns, a few weeks).
"""

from __future__ import annotations

import gzip as gzip_module
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import orjson

from pipelines.simulator.faults import Fault, FaultInjector

DAY = 86400
_dumps = orjson.dumps
_TOD = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z" for s in range(DAY)]


class Clock:
    """World time is integer seconds since the start date at 00:00 UTC."""

    def __init__(self, start: date) -> None:
        self.start = start
        self._days: list[str] = []

    def day_prefix(self, day: int) -> str:
        while day >= len(self._days):
            self._days.append((self.start + timedelta(days=len(self._days))).isoformat() + "T")
        return self._days[day]

    def ts(self, t: int) -> str:
        """RFC 3339 in UTC with a `Z` offset."""
        return self.day_prefix(t // DAY) + _TOD[t % DAY]

    def date_of(self, day: int) -> date:
        return self.start + timedelta(days=day)


class EventSink:
    def __init__(
        self,
        events_dir: Path,
        clock: Clock,
        *,
        seed: int,
        gzip: bool,
        injector: FaultInjector,
    ) -> None:
        self.dir = events_dir
        self.clock = clock
        self.prefix = f"ev{seed}-"
        self.gzip = gzip
        self.injector = injector
        self.seq = 0
        self.buckets: dict[int, list[bytes]] = {}
        self.late: dict[int, list[tuple[bytes, Fault]]] = {}
        self.counts: Counter[str] = Counter()
        self.faults: list[tuple[str, int, Fault]] = []
        self.lines_written = 0
        self.files: list[str] = []
        self.written_through = -1

    def emit(self, t: int, event_type: str, source: str, data: dict) -> None:
        self.seq += 1
        day = t // DAY
        bucket = self.buckets.get(day)
        if bucket is None:
            if day <= self.written_through:
                raise RuntimeError(f"event {event_type} at day {day} after that day was written")
            bucket = self.buckets[day] = []
        bucket.append(
            _dumps(
                {
                    "event_id": f"{self.prefix}{self.seq}",
                    "event_type": event_type,
                    "occurred_at": self.clock.day_prefix(day) + _TOD[t % DAY],
                    "source": source,
                    "schema_version": 1,
                    "data": data,
                }
            )
        )
        self.counts[event_type] += 1

    def file_name(self, day: int) -> str:
        suffix = ".jsonl.gz" if self.gzip else ".jsonl"
        return self.clock.date_of(day).isoformat() + suffix

    def flush_through(self, day: int) -> None:
        """Write every day file up to and including `day`."""
        pending = sorted(d for d in set(self.buckets) | set(self.late) if d <= day)
        for d in pending:
            self._write(d)
        self.written_through = max(self.written_through, day)

    def flush_all(self) -> None:
        while self.buckets or self.late:
            self.flush_through(max(set(self.buckets) | set(self.late)))

    def _write(self, day: int) -> None:
        lines = self.buckets.pop(day, [])
        content, late = self.injector.apply(day, lines)
        for target, line, fault in late:
            self.late.setdefault(max(target, day + 1), []).append((line, fault))
        content.extend(self.late.pop(day, []))
        if not content:
            return
        name = self.file_name(day)
        for line_no, (_, fault) in enumerate(content, start=1):
            if fault is not None:
                self.faults.append((name, line_no, fault))
        payload = b"\n".join(line for line, _ in content) + b"\n"
        path = self.dir / name
        if self.gzip:
            with (
                path.open("wb") as raw,
                gzip_module.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz,
            ):
                gz.write(payload)
        else:
            path.write_bytes(payload)
        self.lines_written += len(content)
        self.files.append(name)
