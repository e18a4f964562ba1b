"""How long each dashboard page's queries take on a simulated world, uncached.

    uv run python benchmarks/bench_dashboards.py [--orders 1000000] [--days 365] [--repeat 15]
    uv run python benchmarks/bench_dashboards.py --serving $OMSI_HOME/serving.duckdb

Builds the world for real (simulator, ingest, the dbt models the pages read, serving snapshot;
no risk models, so the Risk page is left out), or reads a snapshot `omsi run` already published
(`--serving`: with the risk models' tables when they were trained). Then, per page, runs every
query the page runs on first view, through the pages' own query layer with its result cache
cleared, on the read-only connection the pages keep per snapshot (opening one is timed on its
own line: a page pays it once per snapshot). Prints p50 and p95 per page for the default view
(last 28 days, no filter) and a filtered one (one channel and one region), then each drill-down
query (what picking one group costs).

Two floors are measured in the same run the same way, and every figure is printed with its
ratio to each floor's p95: a bare `count(*)` of fct_orders (the cost of any query at all), and a
bare scan of the per-order stage rows of the default period (the least a page that reads per-order
rows must do). Target: every page's p95 within 300 ms.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TARGET_P95_MS = 300.0
# The models the pages read and everything upstream, and the KPI definitions; no dbt tests.
DBT_ARGS = [
    "build", "--select", "+path:models/marts/dashboards", "+kpi_daily", "kpi_definitions",
    "--resource-type", "model", "--resource-type", "seed",
]  # fmt: skip


def _p(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _time(run: Callable[[], object], repeat: int, clear: Callable[[], None]) -> list[float]:
    timings = []
    for _ in range(repeat):
        clear()
        started = time.perf_counter()
        run()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def _build(root: Path, orders: int, days: int) -> Path:
    import shutil

    from pipelines import warehouse as wh
    from pipelines.dbt.commands import dbt_beside_python, dbt_command
    from pipelines.ingest import ingest_folder
    from pipelines.serving import publish_snapshot
    from pipelines.simulator import generate

    world, landing, warehouse = root / "world", root / "landing", root / "warehouse.duckdb"
    started = time.perf_counter()
    print(f"generating {orders:,} orders over {days} days ...", flush=True)
    generate(world, orders=orders, days=days, seed=7)
    shutil.copytree(world / "reference", landing / "reference")
    shutil.copytree(world / "events", landing / "events")
    print(f"ingesting ({time.perf_counter() - started:.0f} s so far) ...", flush=True)
    con = wh.connect(warehouse)
    try:
        ingest_folder(con, landing)
    finally:
        con.close()
    print(
        f"dbt: the dashboard marts ({time.perf_counter() - started:.0f} s so far) ...", flush=True
    )
    command = dbt_command(dbt_beside_python() or "dbt", [*DBT_ARGS, "--quiet"], root / "dbt")
    subprocess.run(command, env={**os.environ, "OMSI_WAREHOUSE": str(warehouse)}, check=True)
    serving = root / "serving.duckdb"
    publish_snapshot(warehouse, serving)
    print(f"world ready in {time.perf_counter() - started:.0f} s", flush=True)
    return serving


def _pages(version) -> dict[str, list[Callable]]:
    """Every page's first-view queries, as the page runs them (pages/*.py, mart_queries)."""
    import pandas as pd

    from dashboards import health, mart_queries, queries
    from dashboards.kpis import HEADLINE_KPIS, default_period

    def overview(v, f) -> None:
        bounds = queries.kpi_bounds(v)
        first, last = (pd.Timestamp(bounds[k]).date() for k in ("first_date", "last_date"))
        selection = queries.KpiSelection(*default_period(first, last))
        queries.kpi_summary(v, selection)
        queries.kpi_rollup(v, selection, "day", [HEADLINE_KPIS[0]])
        queries.kpi_rows(v, selection, HEADLINE_KPIS[0])  # the trend's drill-down

    def data_health(v, f) -> None:
        queries.ingest_totals(v)
        files, mismatches = queries.ingest_files(v), queries.batch_mismatches(v)
        reasons = queries.quarantine_by_reason(v)
        queries.quarantine_by_reason_and_file(v)
        if not reasons.empty:
            queries.quarantine_sample(v, reasons["reason"].iloc[0])
        queries.schema_drift(v)
        queries.events_by_type(v)
        health.check_results(v, files, mismatches)
        health.freshness(v, Path(version.path).parent / "feed")

    def common(tables):
        # What every analysis page runs before its own queries (page_parts.open_page).
        return [
            lambda v, f: queries.missing_tables(v, (*mart_queries.FILTER_TABLES, *tables)),
            lambda v, f: mart_queries.filter_bounds(v),
            lambda v, f: queries.kpi_definitions(v),
        ]

    tables = {
        "orders": mart_queries.ORDER_TABLES,
        "inventory": mart_queries.INVENTORY_TABLES,
        "fulfilment": mart_queries.FULFILMENT_TABLES,
        "cost": mart_queries.COST_TABLES,
        "returns": mart_queries.RETURN_TABLES,
        "exceptions": mart_queries.EXCEPTION_TABLES,
        "risk": mart_queries.DELIVERY_RISK_TABLES,
    }
    pages: dict[str, list[Callable]] = {"overview": [overview]}
    for page, page_queries in mart_queries.PAGE_QUERIES.items():
        if page == "risk" and mart_queries.ml_missing(version, tables["risk"]):
            print("risk: left out, the snapshot has no risk models' tables (see --serving)")
            continue
        pages[page] = [*common(tables[page]), *page_queries]
    pages["health"] = [data_health]
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument(
        "--serving", type=Path, help="time this published snapshot instead of building a world"
    )
    args = parser.parse_args()
    # Outside a Streamlit server the cache warns once per function; the figures are what matters.
    logging.getLogger("streamlit").setLevel(logging.ERROR)

    with tempfile.TemporaryDirectory() as tmp:
        serving = args.serving or _build(Path(tmp), args.orders, args.days)
        _measure(serving, args.repeat)


def _measure(serving: Path, repeat: int) -> None:
    import pandas as pd

    from dashboards import drill, mart_queries, queries
    from dashboards.filters import Filters, default_period
    from dashboards.snapshot import current_version, open_connection

    version = current_version(serving)
    clear = queries._cached_frame.clear
    bounds = mart_queries.filter_bounds(version)
    last = pd.Timestamp(bounds["last_date"]).date()
    first = pd.Timestamp(bounds["first_date"]).date()
    start, end = default_period(first, last)
    views = {
        "default": Filters(start, end),
        "filtered": Filters(
            last - timedelta(days=27),
            last,
            channel=(bounds["channel"][0],),
            region=(bounds["region"][0],),
        ),
    }
    (orders,) = queries.frame(version, "select count(*) as n from fct_orders")["n"]
    print(f"\nsnapshot {serving}: {orders:,} orders, {first} to {last}")

    opens = _time(lambda: open_connection(Path(version.path)).close(), repeat, clear)
    print(
        f"opening the snapshot read-only: p50 {_p(opens, 0.5):.1f} ms, "
        f"p95 {_p(opens, 0.95):.1f} ms (once per snapshot)"
    )
    floor = _p(
        _time(lambda: queries.frame(version, "select count(*) from fct_orders"), repeat, clear),
        0.95,
    )
    where, params = views["default"].where()
    scan = _p(
        _time(
            lambda: queries.frame(
                version, f"select count(*), max(hours) from fct_order_stages where {where}", params
            ),
            repeat,
            clear,
        ),
        0.95,
    )
    print(f"floor: count(*) of fct_orders, p95 {floor:.1f} ms")
    print(f"floor: scan of fct_order_stages over the default period, p95 {scan:.1f} ms")

    print(f"\n{'page':<12} {'view':<9} {'queries':>7} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'/count':>7} {'/scan':>6}  target {TARGET_P95_MS:.0f} ms")  # fmt: skip
    worst = ("", 0.0)
    for page, page_queries in _pages(version).items():
        for view, filters in views.items():
            timings = _time(
                lambda fs=filters, qs=page_queries: [q(version, fs) for q in qs], repeat, clear
            )
            p50, p95 = _p(timings, 0.5), _p(timings, 0.95)
            worst = max(worst, (f"{page} {view}", p95), key=lambda w: w[1])
            verdict = "ok" if p95 <= TARGET_P95_MS else "OVER"
            print(
                f"{page:<12} {view:<9} {len(page_queries):>7} {p50:>8.1f} {p95:>8.1f} "
                f"{p95 / floor:>7.1f} {p95 / scan:>6.1f}  {verdict}"
            )

    print(f"\n{'drill-down (one pick)':<44} {'p50 ms':>8} {'p95 ms':>8} {'/count':>7} {'/scan':>6}")
    for page, drills in mart_queries.PAGE_DRILLS.items():
        if page == "risk" and mart_queries.ml_missing(version, mart_queries.DELIVERY_RISK_TABLES):
            continue
        for source, key, aggregate, column in drills:
            groups = aggregate(version, views["default"])
            if groups.empty:
                continue
            match = {key: groups[column].iloc[0]}
            timings = _time(
                lambda s=source, m=match: drill.rows(version, views["default"], s, m), repeat, clear
            )
            label = f"{page}: {source.noun} by {key}"
            p50, p95 = _p(timings, 0.5), _p(timings, 0.95)
            print(f"{label:<44} {p50:>8.1f} {p95:>8.1f} {p95 / floor:>7.1f} {p95 / scan:>6.1f}")
    print(
        f"\nworst page p95: {worst[1]:.1f} ms ({worst[0]}); floors p95 {floor:.1f} / {scan:.1f} ms"
    )


if __name__ == "__main__":
    main()
