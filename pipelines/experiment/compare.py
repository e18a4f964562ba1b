"""Compare the two branches of an experiment from their own marts, order by order.

Both branches place the same orders (common random numbers), so every metric is compared on the
same orders and its interval comes from a paired bootstrap: resample orders, recompute the
metric in both branches on that resample, keep the relative change. Every metric is a ratio of
per-order sums (late orders / 1, on-time / completed, km / shipments...), so one resample is one
matrix product.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.warehouse import connect

# Per order, from the branch's marts: what each metric counts (numerator, denominator).
_ORDERS_SQL = """
select
    o.order_id,
    coalesce(o.is_on_time = false, false)::int as late,
    coalesce(o.is_on_time, false)::int as on_time,
    (o.is_on_time is not null)::int as completed,
    o.has_stock_cancellation::int as stock_cancelled,
    o.has_rejection::int as rejected,
    (o.shipment_count > 1)::int as split,
    (o.shipment_count > 0)::int as shipped,
    coalesce(c.total_cost, 0)::double as cost,
    coalesce(s.km, 0)::double as km,
    coalesce(s.shipments_with_km, 0)::int as shipments_with_km
from marts.fct_orders as o
left join marts.fct_cost_to_serve as c using (order_id)
left join (
    select order_id, sum(distance_km) as km, count(distance_km) as shipments_with_km
    from marts.fct_shipments
    group by order_id
) as s using (order_id)
where o.placed_at >= $since
order by o.order_id
"""

# name -> (numerator column, denominator column or None for a count, unit, lower is better)
METRICS: dict[str, tuple[str, str | None, str, bool]] = {
    "late_deliveries": ("late", None, "orders", True),
    "stock_cancellations": ("stock_cancelled", None, "orders", True),
    "cost_to_serve_per_order": ("cost", "one", "currency", True),
    "on_time_rate": ("on_time", "completed", "share", False),
    "split_rate": ("split", "shipped", "share", True),
    "km_per_shipment": ("km", "shipments_with_km", "km", True),
    # Where the buffers act: orders a picker turned a line of away (not_found, no_capacity).
    "orders_with_rejection": ("rejected", None, "orders", True),
}

_NODE_MIX_SQL = """
select s.node_type, count(*) as shipments
from marts.fct_shipments as s
join marts.fct_orders as o using (order_id)
where o.placed_at >= $since
group by s.node_type
order by s.node_type
"""


@dataclass(frozen=True)
class MetricResult:
    name: str
    control: float
    treatment: float
    relative_change: float
    ci_low: float
    ci_high: float

    @property
    def excludes_zero(self) -> bool:
        return self.ci_low > 0 or self.ci_high < 0

    def to_dict(self) -> dict:
        return {
            "control": self.control,
            "treatment": self.treatment,
            "relative_change": self.relative_change,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
        }


def branch_orders(warehouse: Path, since: date) -> pd.DataFrame:
    """Per order placed on or after `since`: what the metrics count, from the branch's marts."""
    with connect(warehouse, read_only=True) as con:
        frame = con.execute(_ORDERS_SQL, {"since": since}).df()
    frame["one"] = 1
    return frame


def node_mix(warehouse: Path, since: date) -> dict[str, float]:
    """Share of shipments by node type, for orders placed on or after `since`."""
    with connect(warehouse, read_only=True) as con:
        rows = con.execute(_NODE_MIX_SQL, {"since": since}).fetchall()
    total = sum(n for _, n in rows) or 1
    return {node_type: round(n / total, 4) for node_type, n in rows}


def compare(
    control: pd.DataFrame, treatment: pd.DataFrame, *, resamples: int = 2000, seed: int = 0
) -> list[MetricResult]:
    """Each metric in both branches, its relative change and a 95% paired-bootstrap interval."""
    if list(control["order_id"]) != list(treatment["order_id"]):
        raise ValueError(
            "the branches do not hold the same orders: both must be built from the same world"
            " (same --orders, --days and --seed) and ingested completely"
        )
    n = len(control)
    if n == 0:
        raise ValueError("no order was placed after the switch day: choose an earlier --switch-day")
    rng = np.random.default_rng(seed)
    # Each row: how many times each order is drawn in one resample (multinomial = n draws with
    # replacement), built in chunks so memory stays bounded on a big world.
    draws = np.concatenate(
        [
            rng.multinomial(n, np.full(n, 1.0 / n), size=min(250, resamples - k)).astype(np.float32)
            for k in range(0, resamples, 250)
        ]
    )
    results = []
    for name, (num, den, _, _) in METRICS.items():
        c_num, t_num = control[num].to_numpy(float), treatment[num].to_numpy(float)
        # A count has no denominator: its relative change is that of the sums themselves.
        c_den = control[den].to_numpy(float) if den else np.zeros(n)
        t_den = treatment[den].to_numpy(float) if den else np.zeros(n)
        c_value = _ratio(c_num.sum(), c_den.sum(), den)
        t_value = _ratio(t_num.sum(), t_den.sum(), den)
        c_boot = _ratio(draws @ c_num, draws @ c_den, den)
        t_boot = _ratio(draws @ t_num, draws @ t_den, den)
        with np.errstate(divide="ignore", invalid="ignore"):
            rel_boot = t_boot / c_boot - 1.0
            relative = t_value / c_value - 1.0
        rel_boot = rel_boot[np.isfinite(rel_boot)]
        low, high = np.percentile(rel_boot, [2.5, 97.5]) if len(rel_boot) else (np.nan, np.nan)
        results.append(
            MetricResult(name, float(c_value), float(t_value), float(relative), float(low),
                         float(high))
        )  # fmt: skip
    return results


def _ratio(numerator, denominator, den: str | None):
    if den is None:
        return np.float64(numerator) if np.ndim(numerator) == 0 else numerator
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.divide(numerator, denominator)


def render(results: list[MetricResult], mix: dict[str, dict[str, float]]) -> str:
    """The comparison as a terminal table, then the node mix of each branch."""
    lines = [
        f"{'metric':<26}{'control':>12}{'treatment':>12}{'change':>10}   95% interval",
    ]
    for r in results:
        unit = METRICS[r.name][2]
        fmt = (
            (lambda v: f"{v:,.0f}")
            if unit == "orders"
            else ((lambda v: f"{v:.2%}") if unit == "share" else (lambda v: f"{v:,.2f}"))
        )
        mark = "" if r.excludes_zero else "  (includes 0)"
        lines.append(
            f"{r.name:<26}{fmt(r.control):>12}{fmt(r.treatment):>12}{r.relative_change:>+10.1%}"
            f"   [{r.ci_low:+.1%}, {r.ci_high:+.1%}]{mark}"
        )
    types = sorted({t for shares in mix.values() for t in shares})
    lines.append("")
    lines.append(f"{'shipments by node type':<26}" + "".join(f"{t:>10}" for t in types))
    for branch, shares in mix.items():
        lines.append(f"{branch:<26}" + "".join(f"{shares.get(t, 0.0):>10.1%}" for t in types))
    return "\n".join(lines)
