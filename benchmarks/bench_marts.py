"""dbt marts build times on a simulated world: a full build, then one new day incrementally.

    uv run python benchmarks/bench_marts.py [--orders 100000] [--days 120]

Generates the world, ingests every day file but the last simulated day's, times a full
`dbt build` (models and tests), then ingests that day and times the incremental `dbt build`
that follows, as `omsi run` would run it.

Beside the full build, its floor: the dbt order path (fct_orders and every model it reads, as
the build timed them) against one hand-written DuckDB statement computing the core of
fct_orders from raw.events (benchmarks/order_floor.sql) on the same warehouse, with the ratio.
The floor's columns are checked against fct_orders order by order, so it does the same work.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from pipelines.dbt.commands import dbt_beside_python, dbt_command, warm_dbt_beside_python
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


ORDER_FLOOR = Path(__file__).with_name("order_floor.sql")
# The core columns the floor computes, compared with fct_orders order by order.
FLOOR_COLUMNS = (
    "placed_at",
    "promised_by",
    "first_allocated_at",
    "first_shipped_at",
    "delivered_at",
    "ready_for_pickup_at",
    "is_on_time",
    "is_cancelled",
    "shipment_count",
    "is_split",
    "revenue",
)


def _order_path(target: Path) -> dict[str, float]:
    """Seconds the build whose dbt target folder is `target` spent on fct_orders and every model
    it reads, by folder."""
    manifest = json.loads((target / "manifest.json").read_text())
    path, todo = set(), ["model.omsi.fct_orders"]
    while todo:
        node = todo.pop()
        if node.startswith("model.") and node not in path:
            path.add(node)
            todo += manifest["parent_map"].get(node, [])
    seconds: dict[str, float] = {}
    for result in json.loads((target / "run_results.json").read_text())["results"]:
        node = result["unique_id"]
        if node in path:
            part = (
                "fct_orders" if node.endswith(".fct_orders") else manifest["nodes"][node]["fqn"][1]
            )
            seconds[part] = seconds.get(part, 0.0) + result["execution_time"]
    return seconds


def _order_floor(warehouse: Path, repeat: int = 3) -> list[float]:
    """Wall times of the hand-written statement; fails unless it agrees with fct_orders."""
    times = []
    with connect(warehouse, read_only=True) as con:
        for _ in range(repeat):
            started = time.perf_counter()
            con.execute(ORDER_FLOOR.read_text())
            times.append(time.perf_counter() - started)
        differing = {
            column: con.execute(
                f"select count(*) from marts.fct_orders as m full join order_floor as f "
                f"using (order_id) where m.{column} is distinct from f.{column}"
            ).fetchall()[0][0]
            for column in FLOOR_COLUMNS
        }
    if any(differing.values()):
        raise SystemExit(f"the floor disagrees with fct_orders (orders per column): {differing}")
    return times


def order_path_against_floor(target: Path, warehouse: Path) -> tuple[str, float]:
    """The dbt order path of the build in `target` beside the hand-written floor on its
    warehouse, measured now (two lines to print), and their ratio."""
    path = _order_path(target)
    floor = _order_floor(warehouse)
    parts = ", ".join(f"{part} {seconds:.1f} s" for part, seconds in sorted(path.items()))
    ratio = sum(path.values()) / min(floor)
    text = (
        f"dbt order path (fct_orders and what it reads): {sum(path.values()):6.1f} s ({parts})\n"
        f"    hand-written floor (order_floor.sql, agrees with fct_orders on every order): "
        f"best {min(floor):.2f} s, median {statistics.median(floor):.2f} s; "
        f"ratio {ratio:.1f}x the best"
    )
    return text, ratio


def order_path_interleaved(warehouse: Path, work: Path, rounds: int = 3) -> tuple[str, float]:
    """The order path built alone (`dbt run --full-refresh --select +fct_orders` on a copy of
    `warehouse`) and the floor, taken in turns (two lines to print), and the ratio of their
    medians.

    The path as a whole build timed it and the floor measured after it are minutes apart, and
    this machine's speed drifts by a third within minutes: the same code measured 3.7x to 4.7x
    the floor in three runs of one afternoon. Taken in turns, both meet the same machine, and
    neither shares the cores with the rest of the build's process."""
    work.mkdir(parents=True, exist_ok=True)
    copy = work / "order_path.duckdb"
    shutil.copyfile(warehouse, copy)
    # Not counted: the first query after the copy meets its pages still being written out.
    _order_floor(copy, repeat=1)
    paths: list[float] = []
    floors: list[float] = []
    for round_ in range(rounds):
        floors += _order_floor(copy, repeat=1)
        _dbt_build(
            copy, work / f"round{round_}", "--full-refresh", "--select", "+fct_orders", verb="run"
        )
        paths.append(sum(_order_path(work / f"round{round_}" / "target").values()))
    copy.unlink()
    ratio = statistics.median(paths) / statistics.median(floors)
    built = ", ".join(f"{seconds:.1f}" for seconds in paths)
    floor = ", ".join(f"{seconds:.2f}" for seconds in floors)
    text = (
        f"dbt order path built alone, in turns with the floor ({rounds} each): {built} s against "
        f"{floor} s\n    ratio of the medians {ratio:.1f}x"
    )
    return text, ratio


def _dbt_build(warehouse: Path, work: Path, *extra: str, verb: str = "build") -> float:
    """Seconds of a `dbt build` (or `verb`). A build whose data tests fail is still timed (its
    models were built), and the failures are printed loudly beside the figures; any other error
    stops."""
    # `omsi-dbt`, as the product's builds call dbt: with no warm server listening it runs dbt
    # in its own process as the server would (pipelines/dbt/warm_client.py).
    dbt = warm_dbt_beside_python() or dbt_beside_python() or "dbt"
    command = dbt_command(dbt, [verb, *extra, "--quiet"], work)
    started = time.perf_counter()
    done = subprocess.run(command, env={**os.environ, "OMSI_WAREHOUSE": str(warehouse)})
    seconds = time.perf_counter() - started
    if done.returncode:
        results = work / "target" / "run_results.json"
        if not results.exists():
            raise SystemExit(f"dbt build failed before it ran (exit {done.returncode})")
        failed = [
            r["unique_id"]
            for r in json.loads(results.read_text())["results"]
            if r["status"] in ("error", "fail")
        ]
        if any(not node.startswith("test.") for node in failed):
            raise SystemExit(f"dbt build failed: {', '.join(failed)}")
        print(f"    WARNING: the build's data tests failed, figures are of that build: {failed}")
    return seconds


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
        print(order_path_against_floor(root / "full" / "target", warehouse)[0])

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
