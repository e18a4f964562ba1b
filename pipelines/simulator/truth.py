"""The hidden truth folder: tables written in row groups as the world runs, never all in RAM."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.simulator.records import OrderDrivers, OrderTail, ParcelFates

# Rows held before a row group is written: big enough for Parquet, small enough for memory.
FLUSH_ROWS = 50_000


class TruthTable:
    """A Parquet file appended to in chunks of columns (dict of equal-length numpy arrays, Arrow
    arrays or lists; a column keeps its kind from chunk to chunk)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.chunks: list[dict[str, Any]] = []
        self.rows = 0
        self.total_rows = 0
        self.writer: pq.ParquetWriter | None = None

    def add(self, columns: dict[str, Any]) -> None:
        n = len(next(iter(columns.values())))
        if n == 0:
            return
        self.chunks.append(columns)
        self.rows += n
        if self.rows >= FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self.chunks:
            return
        names = list(self.chunks[0])
        merged = {}
        for name in names:
            parts = [c[name] for c in self.chunks]
            if isinstance(parts[0], np.ndarray):
                merged[name] = np.concatenate(parts)
            elif isinstance(parts[0], pa.Array):
                merged[name] = pa.concat_arrays(parts)
            else:
                merged[name] = [v for p in parts for v in p]
        table = pa.table(merged)
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, table.schema, compression="zstd")
        self.writer.write_table(table.cast(self.writer.schema))
        self.total_rows += self.rows
        self.chunks, self.rows = [], 0

    def close(self) -> None:
        self.flush()
        if self.writer is not None:
            self.writer.close()


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(header)
        out.writerows(rows)


TRUTH_README = """# Hidden truth of a simulated world

Written by `omsi generate` beside `events/` and `reference/`. **Never ingest this folder**: it is
what the simulator knows and the OMS does not, so that models can be scored against the best
achievable answer (the oracle) and the injected faults can be checked line by line.

| file | one row per | columns |
| --- | --- | --- |
| `world.json` | world | seed, orders, days, start, bad_rate, config used, counts |
| `order_drivers.parquet` | order | `order_id`, `placed_at` (UTC), `fulfillment_method`, `channel`, `is_allocated` (at least one line was sourced and left a node), `shipments`, `p_late` (the late-delivery probability the simulator used at ship time; 1 - prod(1 - p) over the order's shipments), `p_late_at_allocation` (the same model's probability as the allocation could know it, below), `is_late` (realised: last delivery or pickup-ready after `promised_by`; null when nothing was fulfilled), drivers: `slack_days` (promised days minus the days the slowest shipment needed), `backlog_days` (hidden capacity backlog), `weather` / `carrier_disruption` (a disruption hit a shipment), `rejected` (a picker rejected a line), `reallocated`, `backordered`, `cancel_reason`, `node_effect` (hidden node logit), `carrier_effect`, `peak` |
| `shipment_truth.parquet` | shipment | `shipment_id`, `order_id`, `node_id`, `carrier`, `service_level`, `p_late`, `p_late_at_allocation`, `is_late`, `ship_day_delay` (days the node shipped after its plan) |
| `order_costs.parquet` | cost-bearing fact (the cost ledger) | `order_id`, `component` (pick_pack, packaging, outbound_shipping, payment, contact_<channel>, return_shipping, return_handling, unreturned_refund), `quantity`, `amount` (what the simulator paid or charged; 0 where the cost model prices the quantity) |
| `stock_truth.parquet` | node/SKU at each weekly snapshot | `date`, `node_id`, `sku`, `system_on_hand`, `true_on_hand`, `reserved` (both on-hand figures include reserved units, like `stock.snapshot`) |
| `count_truth.parquet` | cycle count (`stock.counted`) | `count_id`, `date`, `node_id`, `node_type`, `sku`, `abc_class`, `system_quantity`, `counted_quantity`, `true_error` (= counted - system; counts are exact in this world), `tolerance_units`, `is_accurate`, `days_since_last_count`, `unrecorded_units` (absolute unrecorded shrink/damage/mis-scan units since the last count) |
| `node_reliability.csv` | node | `node_id`, `node_type`, `late_logit` (hidden reliability effect), `drift_rate_per_sku_day` (base rate of unrecorded record errors), `daily_capacity_units`, `mean_true_capacity_factor` |
| `carrier_reliability.csv` | carrier and service level | `carrier`, `service_level`, `late_logit`, `transit_days` |
| `disruptions.csv` | disruption | `kind` (weather / carrier), `target` (region or carrier), `start_date`, `end_date` |
| `injected_faults.csv` | injected fault | `file` (relative to `DIR/events`), `line` (1-based), `event_id` (for `invalid_json` the id the broken line would have had), `fault` (kind), `expected` (`landed`, `duplicate` or the quarantine reason), `detail` |

Two oracles of lateness. `p_late` is the late model with every hidden cause as it turned out:
the node's reliability noise on the day (staffing), the days its backlog held the parcel back
(its open units over the day's true capacity), and the weather and carrier disruptions in the
parcel's transit window, including those that began after it was allocated; the Bernoulli draw
on top of it is the one thing it does not know. `p_late_at_allocation` is the same model with
what was not yet settled when the parcel was allocated integrated out rather than realised, the
bound for a model that predicts at allocation. Known: the plan (node, carrier, planned ship day,
promise, transit), the node's and carrier's lasting reliability (learnable from history), the
node's open units (its backlog and the day's allocations so far: the OMS sees what it allocated
and has not shipped), the calendar (peak), and disruptions begun by the day of the order's first
allocation, with their end (a forecast or an outage notice announces it). Integrated out: the
node's staffing that day, both its reliability noise (normal, `node_day_noise_sd`; 12-point
Gauss-Hermite quadrature) and its capacity (nominal x uniform `true_capacity_range`, so the
backlog's delay in days is a distribution), and disruptions that begin after that day (a start
each day at `weather_daily_rate` / `carrier_disruption_daily_rate`, lasting `disruption_days`).
A backorder is planned at the first allocation (from the OMS's own records and the receipt due)
and counts. Null for an order with a rejection and for its shipments: after a rejection the
parcels are not the plan the first allocation made, and the truth holds no counterfactual of
that plan (under 1% of orders in the default world). An order's figure is 1 - prod(1 - p) over
its shipments, as for `p_late`: the weather and outages that shipments of one order share make
them slightly dependent at allocation, which this ignores.

Fault kinds: `invalid_json`, `unknown_event_type`, `missing_field`, `wrong_type`,
`negative_quantity`, `bad_timestamp`, `invalid_value`, `unsupported_schema_version` (a bad line
added with a fresh event_id: quarantined with the reason in `expected`), `exact_duplicate` (an
identical copy after the original: `duplicate`), `conflicting_duplicate` (same event_id, another
`source`, after the original: `conflicting_duplicate`), and `late_arriving` (a good event moved to
a later day's file), `out_of_order` (a good event moved to the top of its file), `mixed_timezone`
(a good event's `occurred_at` written with a non-UTC offset, same instant): those three land.
Every fault is made in addition to the clean world: no good event is removed, so the events that
land are exactly the clean world's. `--bad-rate 0` writes a header-only `injected_faults.csv`.

IRA tolerance (as in docs/kpis.md of the omsi repository): a count is accurate when
|counted - system| <= floor(tolerance x system quantity), tolerance A 1%, B 3%, C 5%. The floor
makes small quantities exact (below 100 units for A, 34 for B, 20 for C).
"""


def order_truth(
    tails: list[OrderTail],
    drivers: list[OrderDrivers],
    fates: ParcelFates | None,
    ts: Callable[[int], str],
    peak: bool,
) -> dict[str, Any]:
    """One row per order; the shipment drivers are aggregated over its parcels.

    `peak` says whether the day is in the peak week.
    """
    if not tails:
        return {}
    first = np.array([x.first_parcel for x in tails], dtype=np.int64)
    count = np.array([x.end_parcel for x in tails], dtype=np.int64) - first
    shipped = count > 0
    cols: dict[str, Any] = {
        "order_id": [x.order_id for x in tails],
        "placed_at": [ts(x.placed_t) for x in tails],
        "fulfillment_method": ["pickup" if x.is_pickup else "delivery" for x in tails],
        "channel": [x.channel for x in tails],
        "is_allocated": shipped,
        "shipments": count,
    }
    # Aggregated over an order's parcels; an order without parcels has none: null.
    starts, missing, n = first[shipped], ~shipped, len(tails)

    def per_order(values: np.ndarray | None, ufunc: np.ufunc, dtype: type) -> pa.Array:
        out = np.zeros(n, dtype=dtype)
        if len(starts):
            out[shipped] = ufunc.reduceat(values, starts)
        return pa.array(out, mask=missing)

    f = fates

    def any_late(p: np.ndarray | None, unknown: np.ndarray) -> pa.Array:
        """1 - prod(1 - p): the chance that at least one parcel is late."""
        on_time = np.ones(n)
        if len(starts):
            on_time[shipped] = np.multiply.reduceat(1.0 - p, starts)
        return pa.array(1.0 - on_time, mask=unknown)

    rejected = np.array([d.rejected for d in drivers], dtype=bool)
    cols["p_late"] = any_late(f and f.p_late, missing)
    # After a rejection the parcels are not the plan the first allocation made.
    cols["p_late_at_allocation"] = any_late(f and f.p_late_at_allocation, missing | rejected)
    cols["is_late"] = per_order(f and f.late, np.logical_or, bool)
    cols["slack_days"] = per_order(f and f.slack, np.minimum, float)
    cols["backlog_days"] = per_order(f and f.backlog_days, np.maximum, np.int64)
    cols["weather"] = per_order(f and f.weather, np.logical_or, bool)
    cols["carrier_disruption"] = per_order(f and f.carrier_disruption, np.logical_or, bool)
    cols["node_effect"] = per_order(f and f.node_effect, np.maximum, float)
    cols["carrier_effect"] = per_order(f and f.carrier_effect, np.maximum, float)
    cols["peak"] = np.full(n, peak)
    cols["rejected"] = rejected
    cols["reallocated"] = [d.reallocated for d in drivers]
    cols["backordered"] = [d.backordered for d in drivers]
    cols["cancel_reason"] = [d.cancel_reason or None for d in drivers]
    return cols


def shipment_truth(
    fates: ParcelFates | None,
    tails: list[OrderTail],
    drivers: list[OrderDrivers],
    carrier: list[str],
    service: list[str],
    node_ids: list[str],
) -> dict[str, Any]:
    """One row per shipment: where it went from, how, its late chance and whether it was late."""
    if fates is None:
        return {}
    parcels, ci = fates.parcels, fates.carriers
    # The shipments of an order with a rejection, each as many times as the order has parcels.
    counts = [x.end_parcel - x.first_parcel for x in tails]
    rejected = np.repeat(np.array([d.rejected for d in drivers], dtype=bool), counts)
    return {
        "shipment_id": fates.shipment_ids,
        "order_id": [x.order_id for x in parcels],
        "node_id": [node_ids[x.node] for x in parcels],
        "carrier": [carrier[c] for c in ci],
        "service_level": [service[c] for c in ci],
        "p_late": fates.p_late,
        "p_late_at_allocation": pa.array(fates.p_late_at_allocation, mask=rejected),
        "is_late": fates.late,
        "ship_day_delay": fates.backlog_days,
    }
