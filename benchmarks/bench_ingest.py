"""Ingest throughput on a simulated world: lines per second, end to end, into a fresh warehouse.

    uv run python benchmarks/bench_ingest.py [--orders 100000] [--days 120] [--bad-rate 0.01]
                                             [--repeat 3]

Prints the world size, then the figures of first ingests (every line validated, classified and
landed), each into a fresh warehouse, with the best and the median: the speed of a shared
two-core machine drifts by a third from one minute to the next, and CPU seconds drift with it.
The floor is read-and-parse-once of the same files (DuckDB `read_text` and `json_valid`),
measured in the same run; the ratio says what share of that speed ingest keeps. Then a
re-ingest of the unchanged folder (skipped by checksum) and a forced re-read (every line
judged a duplicate) on the last warehouse.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

import duckdb

from pipelines.ingest import ingest_folder
from pipelines.simulator import generate
from pipelines.warehouse import connect


def _cpu_seconds() -> float:
    """User plus system time of this process: on a shared machine, steadier than wall time."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--bad-rate", type=float, default=0.01)
    parser.add_argument("--repeat", type=int, default=3, help="first ingests, each into a new file")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        world = Path(tmp) / "world"
        started = time.perf_counter()
        generate(world, orders=args.orders, days=args.days, seed=7, bad_rate=args.bad_rate)
        size = sum(p.stat().st_size for p in (world / "events").iterdir())
        print(
            f"world: {args.orders:,} orders over {args.days} days, {size / 1e6:,.0f} MB of events, "
            f"generated in {time.perf_counter() - started:.1f} s"
        )
        floor = _floor(world)
        rates = []
        for attempt in range(1, args.repeat + 1):
            warehouse = Path(tmp) / f"warehouse-{attempt}.duckdb"
            with connect(warehouse) as con:
                rates.append(_ingest(con, world, f"first ingest {attempt}", force=False))
                if attempt == args.repeat:
                    _ingest(con, world, "unchanged again", force=False)
                    _ingest(con, world, "forced re-read", force=True)
            if attempt < args.repeat:
                warehouse.unlink()
        print(f"first ingest: best {max(rates):,} lines/s, median {statistics.median(rates):,.0f}")
        print(
            f"ratio to the floor: best {max(rates) / floor:.2f}, median "
            f"{statistics.median(rates) / floor:.2f} (floor {floor:,} lines/s)"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:,.0f} MB")


def _floor(world: Path) -> int:
    """Lines/s of the least any validation does: read every event file, parse each line once.

    Measured in the same run as the ingests, so that the ratio holds however busy the machine is.
    """
    con = duckdb.connect()
    cpu, started = _cpu_seconds(), time.perf_counter()
    (lines,) = con.execute(
        "select count(*) filter (where json_valid(line)) from ("
        "  select unnest(string_split(content, chr(10))) as line"
        "  from read_text($files)"
        ") where line <> ''",
        {"files": str(world / "events" / "*.jsonl")},
    ).fetchall()[0]
    seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    con.close()
    rate = round(lines / seconds)
    print(
        f"{'floor':>16}: {lines:>10,} lines in {seconds:6.1f} s = {rate:>9,} lines/s, CPU {cpu:6.1f} s"
    )
    return rate


def _ingest(con: duckdb.DuckDBPyConnection, world: Path, label: str, *, force: bool) -> int:
    cpu = _cpu_seconds()
    result = ingest_folder(con, world, force=force).to_dict()
    cpu = _cpu_seconds() - cpu
    rate = result["lines_per_second"] or 0
    print(
        f"{label:>16}: {result['lines_read']:>10,} lines in {result['seconds']:6.1f} s "
        f"= {rate:>9,} lines/s, CPU {cpu:6.1f} s  (landed {result['landed']:,}, "
        f"duplicates {result['duplicates']:,}, resumed {result['resumed']:,}, quarantined {result['quarantined']:,}, files "
        f"skipped {result['files_skipped']})"
    )
    return rate


if __name__ == "__main__":
    main()
