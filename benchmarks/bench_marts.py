"""dbt marts build times on a simulated world: a full build, then one new day incrementally.

    uv run python benchmarks/bench_marts.py [--orders 100000] [--days 120]

Generates the world, ingests every day file but the last simulated day's, times a full
`dbt build` (models and tests), then ingests that day and times the incremental `dbt build`
that follows, as `omsi run` would run it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from pipelines.dbt.commands import dbt_beside_python, dbt_command
from pipelines.ingest import ingest_folder
from pipelines.simulator import generate
from pipelines.warehouse import connect

START = date(2024, 9, 1)


def _split(work: Path) -> str:
    """Seconds in models and in tests, and the slowest nodes, from dbt's run_results.json."""
    results = json.loads((work / "target" / "run_results.json").read_text())["results"]
    models = sum(r["execution_time"] for r in results if r["unique_id"].startswith("model."))
    tests = sum(
        r["execution_time"] for r in results if r["unique_id"].startswith(("test.", "unit_test."))
    )
    slowest = sorted(results, key=lambda r: -r["execution_time"])[:3]
    names = ", ".join(
        f"{r['unique_id'].split('.')[2]} {r['execution_time']:.1f} s" for r in slowest
    )
    return f"models {models:.1f} s, tests {tests:.1f} s; slowest: {names}"


def _dbt_build(warehouse: Path, work: Path, *extra: str) -> float:
    command = dbt_command(dbt_beside_python() or "dbt", ["build", *extra, "--quiet"], work)
    started = time.perf_counter()
    subprocess.run(command, env={**os.environ, "OMSI_WAREHOUSE": str(warehouse)}, check=True)
    return time.perf_counter() - started


def _ingest(warehouse: Path, landing: Path) -> int:
    with connect(warehouse) as con:
        return ingest_folder(con, landing).to_dict()["lines_read"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=120)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        world, landing, warehouse = root / "world", root / "landing", root / "warehouse.duckdb"
        generate(world, orders=args.orders, days=args.days, seed=7, start=START)
        last_day = (START + timedelta(days=args.days - 1)).isoformat()
        held_back = sorted((world / "events").glob(f"{last_day}.*"))
        shutil.copytree(world / "reference", landing / "reference")
        (landing / "events").mkdir()
        for path in (world / "events").iterdir():
            if path not in held_back:
                shutil.copy2(path, landing / "events" / path.name)

        lines = _ingest(warehouse, landing)
        full = _dbt_build(warehouse, root / "full")
        print(f"full build: {args.orders:,} orders, {lines:,} events: {full:6.1f} s")
        print(f"    {_split(root / 'full')}")

        for path in held_back:
            shutil.copy2(path, landing / "events" / path.name)
        day_lines = _ingest(warehouse, landing)
        incremental = _dbt_build(warehouse, root / "incremental")
        print(f"one new day ({last_day}, {day_lines:,} events), incremental: {incremental:6.1f} s")
        print(f"    {_split(root / 'incremental')}")
        refresh = _dbt_build(warehouse, root / "refresh", "--full-refresh")
        print(f"full refresh of the same warehouse: {refresh:6.1f} s")


if __name__ == "__main__":
    main()
