"""Run a world day by day and write events, reference data and the hidden truth."""

from __future__ import annotations

import gc
import json
import resource
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.settings import IGNORE_MARKER
from pipelines.simulator.catalogue import ABC, build_assortment, build_catalogue
from pipelines.simulator.config import load_config
from pipelines.simulator.demand import SERVICES, day_weights, make_orders, split_orders
from pipelines.simulator.draws import COUNTS, DEMAND, WORLD, stream
from pipelines.simulator.emit import Clock, EventSink
from pipelines.simulator.faults import FaultInjector
from pipelines.simulator.fulfilment import Fulfilment
from pipelines.simulator.inventory import Inventory
from pipelines.simulator.network import build_carriers, build_network
from pipelines.simulator.routing import OmsRouting, Routing, routing_from_config
from pipelines.simulator.truth import TRUTH_README, TruthTable, write_csv

# Days after the last order day that late events (deliveries, returns, refunds) may fall on.
TAIL_DAYS = 75
# A metro is remote when its nearest DC is this share of the first extra-transit distance away.
REMOTE_SHARE_OF_FAR_KM = 0.6
# The promised transit of a service level no carrier offers.
DEFAULT_TRANSIT_DAYS = 4


@dataclass
class GenerationReport:
    out: Path
    orders: int
    days: int
    seed: int
    start: date
    bad_rate: float
    events: int
    lines_written: int
    faults: int
    files: int
    seconds: float
    peak_rss_mb: float
    events_by_type: dict[str, int] = field(default_factory=dict)

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    def render(self) -> str:
        lines = [
            f"world written to {self.out}",
            f"  {self.orders:,} orders over {self.days} days from {self.start} (seed {self.seed})",
            f"  {self.events:,} events in {self.files} day files"
            f" (+{self.faults:,} injected faults at bad-rate {self.bad_rate})",
            f"  {self.seconds:.1f} s, {self.events_per_second:,.0f} events/s,"
            f" peak RSS {self.peak_rss_mb:,.0f} MB",
        ]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "orders": self.orders,
            "days": self.days,
            "seed": self.seed,
            "start": self.start.isoformat(),
            "bad_rate": self.bad_rate,
            "events": self.events,
            "lines_written": self.lines_written,
            "faults": self.faults,
            "files": self.files,
            "seconds": round(self.seconds, 3),
            "events_per_second": round(self.events_per_second, 1),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "events_by_type": dict(sorted(self.events_by_type.items())),
        }


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause Python's cycle collector while the days run.

    The simulation builds no reference cycles (reference counting frees everything), but it
    allocates millions of short-lived tuples and lists, and each collection walks every live
    container: a tenth of the run at a million orders.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _prepare(out: Path) -> tuple[Path, Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    dirs = []
    for name in ("events", "reference", "truth"):
        d = out / name
        # A previous world in the same folder would mix with this one: start clean.
        if d.exists():
            shutil.rmtree(d)
        d.mkdir()
        dirs.append(d)
    # The truth must never be ingested, even when the whole world is dropped into landing/.
    (dirs[2] / IGNORE_MARKER).write_text("Hidden truth of a simulated world: never ingested.\n")
    return dirs[0], dirs[1], dirs[2]


def generate(
    out: Path,
    *,
    orders: int,
    days: int,
    seed: int,
    bad_rate: float = 0.0,
    start: date | None = None,
    gzip: bool = False,
    config: Path | None = None,
    progress: Callable[[str], None] | None = None,
    routing: Routing | None = None,
) -> GenerationReport:
    """Simulate `orders` orders over `days` days and write them under `out`.

    Same arguments, same bytes. `routing` decides where the OMS sources from (default: its own
    rules, `OmsRouting`); every draw it does not cause is the same under any routing. `out/events/` holds contract v1 JSONL per day, `out/reference/`
    the nodes, SKUs and carriers, `out/truth/` what the simulator knows and the OMS does not.
    """
    if orders < 1:
        raise ValueError("--orders must be at least 1")
    if days < 1:
        raise ValueError("--days must be at least 1")
    if orders < days:
        raise ValueError(f"--orders ({orders}) must be at least --days ({days}): one a day")
    began = time.perf_counter()
    cfg = load_config(config)
    start = start or date.fromisoformat(cfg["world"]["start"])
    out = Path(out)
    events_dir, ref_dir, truth_dir = _prepare(out)
    routing = routing or routing_from_config(cfg["routing"])
    world = _build_world(cfg, orders, days, seed, start, bad_rate, gzip, events_dir, truth_dir)
    # Before the days: a routing that runs the pipeline mid-world needs the reference data.
    _write_reference(ref_dir, world.net, world.cat, world.carriers, world.flow, start)
    _run_days(world, cfg, days, seed, routing, truth_dir, began, progress)
    sink = world.sink
    _write_truth(
        truth_dir, cfg, world.net, world.carriers, world.inv, world.flow, sink, world.clock
    )
    meta = {
        "seed": seed,
        "orders": orders,
        "days": days,
        "start": start.isoformat(),
        "bad_rate": bad_rate,
        "gzip": gzip,
        "config": str(config) if config else "default_world.toml",
        "events": sink.seq,
        "lines_written": sink.lines_written,
        "faults": sink.fault_count,
        "events_by_type": dict(sorted(sink.counts.items())),
    }
    if not isinstance(routing, OmsRouting):  # a plain world's metadata stays as it always was
        meta["routing"] = routing.describe()
    (truth_dir / "world.json").write_text(json.dumps(meta, indent=2) + "\n")
    return GenerationReport(
        out=out,
        orders=orders,
        days=days,
        seed=seed,
        start=start,
        bad_rate=bad_rate,
        events=sink.seq,
        lines_written=sink.lines_written,
        faults=sink.fault_count,
        files=len(sink.files),
        seconds=time.perf_counter() - began,
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        events_by_type=dict(sink.counts),
    )


@dataclass
class _World:
    """The parts of a world, built in the order of their draws from the world's generator."""

    net: Any
    cat: Any
    carriers: Any
    inv: Inventory
    clock: Clock
    sink: EventSink
    flow: Fulfilment
    per_day: np.ndarray
    customers_metro: np.ndarray
    remote: np.ndarray
    first_carrier: dict[str, int]


def _build_world(
    cfg, orders, days, seed, start, bad_rate, gzip, events_dir: Path, truth_dir: Path
) -> _World:
    rng = stream(seed, WORLD)
    net = build_network(cfg, rng)
    cat = build_catalogue(cfg, net, rng)
    carried = build_assortment(cfg, net, cat, rng)
    carriers = build_carriers(cfg)
    d = cfg["demand"]
    mean_lines = float(np.dot(np.arange(1, len(d["lines_per_order"]) + 1), d["lines_per_order"]))
    mean_units = float(np.dot(np.arange(1, len(d["units_per_line"]) + 1), d["units_per_line"]))
    daily_units = orders / days * mean_lines * mean_units
    inv = Inventory(cfg, net, cat, carried, daily_units, rng)
    weights, peak = day_weights(cfg, start, days, rng)
    clock = Clock(start)
    sink = EventSink(
        events_dir,
        clock,
        seed=seed,
        gzip=gzip,
        injector=FaultInjector(bad_rate, cfg["faults"], seed),
        faults_path=truth_dir / "injected_faults.csv",
    )
    flow = Fulfilment(
        cfg, net, cat, carriers, inv, sink, daily_units, days + TAIL_DAYS, peak, rng, seed
    )
    n_customers = max(100, int(orders / float(d["orders_per_customer"])))
    customers_metro = rng.choice(len(net.metro_weight), size=n_customers, p=net.metro_weight)
    dcs = np.array(net.node_types) == "dc"
    t1 = cfg["delivery"]["distance_extra_days_km"][0]
    # A metro far from every DC gets a day more in its promise.
    remote = (net.dist[:, dcs].min(axis=1) >= t1 * REMOTE_SHARE_OF_FAR_KM).astype(np.int64)
    first_carrier = {}
    for s in SERVICES:
        rows = [i for i, sv in enumerate(carriers.service) if sv == s]
        first_carrier[s] = int(carriers.transit[rows[0]]) if rows else DEFAULT_TRANSIT_DAYS
    return _World(
        net,
        cat,
        carriers,
        inv,
        clock,
        sink,
        flow,
        split_orders(orders, weights),
        customers_metro,
        remote,
        first_carrier,
    )


def _run_days(
    world: _World, cfg, days, seed, routing: Routing, truth_dir: Path, began, progress
) -> None:
    flow, inv, sink, clock = world.flow, world.inv, world.sink, world.clock
    has_pickup = flow.pickup_store >= 0
    tables = {
        name: TruthTable(truth_dir / f"{name}.parquet")
        for name in ("order_drivers", "shipment_truth", "stock_truth", "count_truth", "order_costs")
    }
    snap_every = int(cfg["inventory"]["snapshot_every_days"])
    with _no_cycle_collection():
        for day in range(days):
            date_str = clock.date_of(day).isoformat()
            if routing.snapshot_due(day):
                sink.settle()  # the days before this one are on disk for the pipeline to read
            plan = routing.plan(day, flow.sourcing)
            flow.start_of_day(day)
            if day % snap_every == 0:
                inv.snapshot(day, sink, tables["stock_truth"], date_str)
            inv.start_of_day(day, sink, seed)
            inv.cycle_counts(day, sink, tables["count_truth"], date_str, stream(seed, COUNTS, day))
            batch = make_orders(
                int(world.per_day[day]),
                cfg,
                world.cat,
                world.customers_metro,
                has_pickup,
                world.remote,
                world.first_carrier,
                stream(seed, DEMAND, day),
            )
            order_columns, ship_columns = flow.run_day(day, batch, plan)
            if order_columns:
                tables["order_drivers"].add(order_columns)
            if ship_columns:
                tables["shipment_truth"].add(ship_columns)
            tables["order_costs"].add(flow.costs.take())
            inv.replenish(day)
            sink.flush_through(day)
            if progress and (day % 10 == 9 or day == days - 1):
                progress(
                    f"day {day + 1}/{days} ({date_str}): {sink.seq:,} events,"
                    f" {time.perf_counter() - began:.1f} s"
                )
        sink.flush_all()
    for table in tables.values():
        table.close()


def _write_reference(ref_dir: Path, net, cat, carriers, flow: Fulfilment, start: date) -> None:
    pick = flow.cfg["network"]["pick_pack_cost"]
    write_csv(
        ref_dir / "nodes.csv",
        [
            "node_id",
            "node_type",
            "name",
            "region",
            "country",
            "lat",
            "lon",
            "daily_capacity_units",
            "pick_pack_cost_per_unit",
            "opened_on",
        ],
        [
            [
                net.node_ids[i],
                net.node_types[i],
                net.names[i],
                net.regions[i],
                flow.country,
                round(float(net.lat[i]), 4),
                round(float(net.lon[i]), 4),
                int(round(flow.cap[i])),
                pick[net.node_types[i]],
                date(2015 + i % 8, 1 + i % 12, 1).isoformat(),
            ]
            for i in range(net.n)
        ],
    )
    write_csv(
        ref_dir / "skus.csv",
        ["sku", "category", "unit_price", "unit_cost", "weight_kg", "abc_class"],
        [
            [
                cat.sku_ids[i],
                cat.categories[int(cat.category[i])],
                round(float(cat.price[i]), 2),
                round(float(cat.cost[i]), 2),
                round(float(cat.weight[i]), 2),
                ABC[int(cat.abc[i])],
            ]
            for i in range(cat.n)
        ],
    )
    write_csv(
        ref_dir / "carriers.csv",
        ["carrier", "service_level", "transit_days", "base_cost", "cost_per_kg"],
        [
            [c, s, int(t), float(b), float(k)]
            for c, s, t, b, k in zip(
                carriers.carrier,
                carriers.service,
                carriers.transit,
                carriers.base_cost,
                carriers.cost_per_kg,
                strict=True,
            )
        ],
    )


def _write_truth(truth_dir: Path, cfg, net, carriers, inv, flow: Fulfilment, sink, clock) -> None:
    (truth_dir / "README.md").write_text(TRUTH_README)
    lo, hi = cfg["network"]["true_capacity_range"]
    write_csv(
        truth_dir / "node_reliability.csv",
        [
            "node_id",
            "node_type",
            "late_logit",
            "drift_rate_per_sku_day",
            "daily_capacity_units",
            "mean_true_capacity_factor",
        ],
        [
            [
                net.node_ids[i],
                net.node_types[i],
                round(flow.node_effect[i], 4),
                float(cfg["inventory"]["drift_rate"][net.node_types[i]]),
                int(round(flow.cap[i])),
                round((lo + hi) / 2, 3),
            ]
            for i in range(net.n)
        ],
    )
    write_csv(
        truth_dir / "carrier_reliability.csv",
        ["carrier", "service_level", "late_logit", "transit_days"],
        [
            [c, s, float(e), int(t)]
            for c, s, e, t in zip(
                carriers.carrier, carriers.service, carriers.effect, carriers.transit, strict=True
            )
        ],
    )
    spans = [("weather", *s) for s in flow.weather_spans]
    spans += [("carrier", *s) for s in flow.carrier_spans]
    write_csv(
        truth_dir / "disruptions.csv",
        ["kind", "target", "start_date", "end_date"],
        [
            [k, g, clock.date_of(a).isoformat(), clock.date_of(b).isoformat()]
            for k, g, a, b in spans
        ],
    )
