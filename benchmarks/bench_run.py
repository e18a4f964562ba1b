"""`omsi run` at scale, as the hourly job runs it: a first run, one new day, then nothing new.

    uv run python benchmarks/bench_run.py [--orders 1000000] [--days 365] [--keep DIR]

Generates a world, lands every event file but the last order day's (a whole simulated day held
back, not a trailing file of stragglers), and times `omsi run` as a user starts it, in its own
process: the first run; then, with that day's file landed, a one-day incremental run; then a
run with nothing new. Each gets its wall time, its peak resident memory (the process and every
child it waited for: dbt) and its steps (ops.run_steps). Beside the ingest figure, the floor in
the same run: DuckDB reading the same files and extracting each line's envelope, once. The dbt
order path against its floor twice: as the first run's build timed it, and built alone in turns
with the floor, which the verdict takes (bench_marts.order_path_interleaved says why). The
figures the scale issue names are printed against their targets.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb

# The floor of the dbt order path, as bench_marts measures it (the script's own folder is on
# sys.path).
from bench_marts import order_path_against_floor, order_path_interleaved

from pipelines.dbt.project_files import DBT_PROJECT_DIR
from pipelines.simulator import generate

START = date(2024, 9, 1)


def _omsi_run(home: Path) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in GB and the printed step table of one `omsi run`."""
    omsi = Path(sys.executable).with_name("omsi")
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(omsi), "run"],
        env={**os.environ, "OMSI_HOME": str(home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"omsi run failed:\n{output[-3000:]}")
    table = output[output.find("where the time went") :] if "where the time" in output else output
    return wall, usage.ru_maxrss / 1024**2, table.strip()


def _ingest_rate(home: Path) -> float:
    """Lines per second of the newest batch that read lines (its own record of its time)."""
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        lines, seconds = con.execute(
            """
            select lines_read, epoch(finished_at - started_at) from raw.ingest_batches
            where lines_read > 0 order by batch_id desc limit 1
            """
        ).fetchall()[0]
    return lines / seconds


def _floor(files: list[Path]) -> float:
    """Lines per second of DuckDB reading the files and extracting every line's envelope."""
    con = duckdb.connect()
    con.execute("set enable_progress_bar = false")  # its bar would bury the figures
    started = time.perf_counter()
    (lines,) = con.execute(
        """
        select count(envelope[1]) from (
            select json_extract_string(line, ['event_id', 'event_type', 'occurred_at']) as envelope
            from (
                select unnest(string_split(content, chr(10))) as line from read_text($files)
            )
            where line <> '' and json_valid(line)
        )
        """,
        {"files": [str(f) for f in files]},
    ).fetchall()[0]
    seconds = time.perf_counter() - started
    con.close()
    return lines / seconds


def _newest_build(since: float) -> Path:
    """The dbt target folder of the newest build Dagster ran (one per run, under the project's
    target folder), written after `since` (a time.time())."""
    built = [
        results.parent
        for results in (DBT_PROJECT_DIR / "target").glob("*/run_results.json")
        if results.stat().st_mtime > since
    ]
    if not built:
        raise SystemExit("no dbt build of this run found under dbt_project/target")
    return max(built, key=lambda target: (target / "run_results.json").stat().st_mtime)


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--keep", type=Path, help="build here and keep it (default: a temp dir)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        world, home = root / "world", root / "home"
        started = time.perf_counter()
        generate(world, orders=args.orders, days=args.days, seed=7, start=START)
        print(
            f"world: {args.orders:,} orders over {args.days} days, generated in "
            f"{time.perf_counter() - started:.0f} s"
        )
        last_day = (START + timedelta(days=args.days - 1)).isoformat()
        events = sorted((world / "events").iterdir())
        held_back = [p for p in events if p.name.startswith(last_day)]
        landing = home / "landing"
        shutil.copytree(world / "reference", landing / "reference")
        (landing / "events").mkdir(parents=True)
        for path in events:
            if path not in held_back:
                shutil.copy2(path, landing / "events" / path.name)

        first_started = time.time()
        first, first_rss, steps = _omsi_run(home)
        rate = _ingest_rate(home)
        floor = _floor([p for p in events if p not in held_back])
        print(f"first run: {first:7.1f} s, peak RSS {first_rss:.2f} GB\n{steps}")
        print(
            f"    ingest {rate:,.0f} lines/s; floor (DuckDB parse and envelope of the same files,"
            f" this run) {floor:,.0f} lines/s: {rate / floor:.0%} of the floor"
        )

        order_path, in_run_ratio = order_path_against_floor(
            _newest_build(first_started), home / "warehouse.duckdb"
        )
        print(order_path)
        alone, ratio = order_path_interleaved(home / "warehouse.duckdb", root / "order_path")
        print(alone)

        for path in held_back:
            shutil.copy2(path, landing / "events" / path.name)
        day, day_rss, steps = _omsi_run(home)
        print(f"one new day ({last_day}): {day:7.1f} s, peak RSS {day_rss:.2f} GB\n{steps}")
        quiet, quiet_rss, said = _omsi_run(home)
        print(f"nothing new: {quiet:7.1f} s, peak RSS {quiet_rss:.2f} GB\n    {said}")

        print("\nagainst the scale targets:")
        print(
            f"  one new day {day:.1f} s = {day / first:.1%} of the first run (at most 10%, "
            f"and 60 s): {_verdict(day <= 0.1 * first and day <= 60)}"
        )
        print(f"  nothing new {quiet:.1f} s (at most 10 s): {_verdict(quiet <= 10)}")
        print(
            f"  ingest {rate / floor:.0%} of the floor (at least 50%): "
            f"{_verdict(rate >= 0.5 * floor)}"
        )
        peak = max(first_rss, day_rss, quiet_rss)
        print(f"  peak RSS {peak:.2f} GB (under 4 GB): {_verdict(peak < 4)}")
        print(
            f"  dbt order path {ratio:.1f}x the floor, built alone in turns with it (within 3x): "
            f"{_verdict(ratio <= 3)}; in the first run's build {in_run_ratio:.1f}x"
        )


if __name__ == "__main__":
    main()
