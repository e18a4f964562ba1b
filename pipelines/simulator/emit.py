"""Event output: timestamps, deterministic ids, per-day buffers and the day files.

Events are produced when their cause is simulated (a delivery is known the day the order ships),
so they are buffered by the day they occur and a day's file is written as soon as the simulation
has passed that day. Memory is bounded by the furthest-ahead event (returns, a few weeks).
"""

from __future__ import annotations

import csv
import gzip as gzip_module
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import orjson

from pipelines.simulator.faults import Fault, FaultInjector

DAY = 86400
_dumps = orjson.dumps
TIME_OF_DAY = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z" for s in range(DAY)]


class Clock:
    """World time is integer seconds since the start date at 00:00 UTC."""

    def __init__(self, start: date) -> None:
        self.start = start
        self.prefixes: list[str] = []

    def day_prefix(self, day: int) -> str:
        while day >= len(self.prefixes):
            self.prefixes.append(
                (self.start + timedelta(days=len(self.prefixes))).isoformat() + "T"
            )
        return self.prefixes[day]

    def ts(self, t: int) -> str:
        """RFC 3339 in UTC with a `Z` offset."""
        return self.day_prefix(t // DAY) + TIME_OF_DAY[t % DAY]

    def date_of(self, day: int) -> date:
        return self.start + timedelta(days=day)


class _Written(list):
    """The bucket of a day whose file is written: adding to it is a bug in the simulation."""

    def append(self, line: bytes) -> None:
        raise RuntimeError(f"an event after its day was written: {line[:120]!r}")

    def extend(self, lines) -> None:
        raise RuntimeError("events after their day was written")


_WRITTEN = _Written()


def _write_file(path: Path, payload: bytes, gzip: bool) -> None:
    if gzip:
        with (
            path.open("wb") as raw,
            gzip_module.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz,
        ):
            gz.write(payload)
    else:
        path.write_bytes(payload)


class EventSink:
    def __init__(
        self,
        events_dir: Path,
        clock: Clock,
        *,
        seed: int,
        gzip: bool,
        injector: FaultInjector,
        faults_path: Path,
    ) -> None:
        self.dir = events_dir
        self.clock = clock
        self.prefixes = clock.prefixes  # the clock's own list, grown by day_prefix()
        self.prefix = f"ev{seed}-"
        self.gzip = gzip
        self.injector = injector
        self.seq = 0
        # Lines by the day they occur, indexed by day: a list index is the cheapest lookup on the
        # path every event takes. A written day holds _WRITTEN, so a late event fails loudly.
        self.buckets: list[list[bytes]] = []
        self.late: dict[int, list[tuple[bytes, Fault]]] = {}
        self.counts: defaultdict[str, int] = defaultdict(int)
        self.fault_file = faults_path.open("w", newline="", encoding="utf-8")
        self.fault_log = csv.writer(self.fault_file, lineterminator="\n")
        self.fault_log.writerow(["file", "line", "event_id", "fault", "expected", "detail"])
        self.fault_count = 0
        self.lines_written = 0
        self.files: list[str] = []
        self.written_through = -1
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="omsi-day-files")
        self._in_flight: Future | None = None

    def emit(self, t: int, event_type: str, source: str, data: dict) -> None:
        self.emit_json(t, event_type, source, _dumps(data).decode())

    def emit_json(self, t: int, event_type: str, source: str, data: str) -> None:
        """Emit an event whose `data` object is already written as compact JSON text."""
        self.seq += 1
        day = t // DAY
        try:
            bucket = self.buckets[day]
        except IndexError:
            bucket = self._open(day)
        try:
            prefix = self.prefixes[day]
        except IndexError:
            prefix = self.clock.day_prefix(day)
        # The envelope is a template rather than a dict for orjson: the same bytes with one
        # encode, sized exactly (orjson's output keeps a ~4 KB buffer, which made every event
        # buffered for a future day cost 4 KB). Bytes rather than str: 16 bytes less per line
        # held for a future day.
        bucket.append(
            f'{{"event_id":"{self.prefix}{self.seq}","event_type":"{event_type}",'
            f'"occurred_at":"{prefix}{TIME_OF_DAY[t % DAY]}","source":"{source}",'
            f'"schema_version":1,"data":{data}}}'.encode()
        )
        self.counts[event_type] += 1

    def emit_many(self, event_type: str, source: str, times: list[int], datas: list[str]) -> None:
        """Emit events of one type and source, each at its time with its JSON data.

        The same lines as one `emit_json` call per event, without a call and the type's head
        written anew per event: the order flow gathers its common events by type for this.
        """
        if not times:
            return
        head = f'","event_type":"{event_type}","occurred_at":"'
        mid = f'","source":"{source}","schema_version":1,"data":'
        buckets, prefixes, pfx = self.buckets, self.prefixes, self.prefix
        seq = self.seq
        for t, data in zip(times, datas, strict=True):
            seq += 1
            day = t // DAY
            try:
                bucket = buckets[day]
                prefix = prefixes[day]
            except IndexError:
                bucket = self._open(day)
                prefix = self.clock.day_prefix(day)
            bucket.append(
                f'{{"event_id":"{pfx}{seq}{head}{prefix}{TIME_OF_DAY[t % DAY]}{mid}{data}}}'.encode()
            )
        self.seq = seq
        self.counts[event_type] += len(times)

    def _open(self, day: int) -> list[bytes]:
        if day <= self.written_through:
            raise RuntimeError(f"an event at day {day} after that day was written")
        while len(self.buckets) <= day:
            done = len(self.buckets) <= self.written_through
            self.buckets.append(_WRITTEN if done else [])
        return self.buckets[day]

    def emit_same_time(self, t: int, event_type: str, source: str, datas: list[str]) -> None:
        """Emit many events of one type at one instant (snapshots), each with its JSON data."""
        if not datas:
            return
        self.emit_json(t, event_type, source, datas[0])
        bucket = self.buckets[t // DAY]
        head = f'","event_type":"{event_type}","occurred_at":"{self.clock.ts(t)}",'
        head += f'"source":"{source}","schema_version":1,"data":'
        first, prefix = self.seq + 1, self.prefix
        bucket.extend(
            f'{{"event_id":"{prefix}{seq}{head}{data}}}'.encode()
            for seq, data in enumerate(datas[1:], start=first)
        )
        self.seq += len(datas) - 1
        self.counts[event_type] += len(datas) - 1

    def file_name(self, day: int) -> str:
        suffix = ".jsonl.gz" if self.gzip else ".jsonl"
        return self.clock.date_of(day).isoformat() + suffix

    def flush_through(self, day: int) -> None:
        """Write every day file up to and including `day`."""
        first = self.written_through + 1
        last = max([day, *(d for d in self.late if d <= day)])
        for d in range(first, last + 1):
            self._write(d)
        self.written_through = max(self.written_through, last)

    def flush_all(self) -> None:
        """Write every remaining day file and close the fault list."""
        while len(self.buckets) > self.written_through + 1 or self.late:
            self.flush_through(max([len(self.buckets) - 1, *self.late]))
        self._wait_for_writer()
        self._writer.shutdown()
        self.fault_file.close()

    def _write(self, day: int) -> None:
        lines: list = []
        if day < len(self.buckets):
            lines = self.buckets[day]
            self.buckets[day] = _WRITTEN
        if self.injector.bad_rate <= 0:
            # A clean world has no faults to place: write the lines as they are.
            if lines:
                n = len(lines)
                lines.append(b"")  # the file's final newline, without copying the joined text
                self._store(day, b"\n".join(lines), n)
            return
        content, late = self.injector.apply(day, lines)
        for target, line, fault in late:
            self.late.setdefault(max(target, day + 1), []).append((line, fault))
        content.extend(self.late.pop(day, []))
        if not content:
            return
        name = self.file_name(day)
        for line_no, (_, fault) in enumerate(content, start=1):
            if fault is not None:
                # Streamed out rather than kept: a big faulty world has hundreds of thousands.
                self.fault_log.writerow(
                    [name, line_no, fault.event_id, fault.kind, fault.outcome, fault.detail]
                )
                self.fault_count += 1
        self._store(day, b"\n".join(line for line, _ in content) + b"\n", len(content))

    def _store(self, day: int, payload: bytes, lines: int) -> None:
        name = self.file_name(day)
        # Disk writes and gzip release the GIL: a writer thread does them while the simulation
        # runs on. One file in flight at most, so memory stays one day file.
        self._wait_for_writer()
        self._in_flight = self._writer.submit(_write_file, self.dir / name, payload, self.gzip)
        self.lines_written += lines
        self.files.append(name)

    def settle(self) -> None:
        """Wait until every day file handed to the writer is on disk (a reader may look now)."""
        self._wait_for_writer()

    def _wait_for_writer(self) -> None:
        if self._in_flight is not None:
            self._in_flight.result()
            self._in_flight = None
