"""The "must show" figures of a written world, computed back from its events and truth.

Faulty lines are left out the way ingest would: unparsable lines are skipped, bad lines listed in
`truth/injected_faults.csv` are dropped and each event_id counts once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow.parquet as pq

# The target ranges: figure -> (low, high); None means no bound on that side.
TARGETS: dict[str, tuple[float | None, float | None]] = {
    "ira_overall": (0.78, 0.88),
    "ira_dc": (0.95, None),
    "ira_store": (None, 0.80),
    "on_time_rate": (0.85, 0.95),
    "cancellation_rate": (0.02, 0.08),
    "split_rate_multi_line": (0.10, 0.25),
    "return_rate_units": (0.10, 0.20),
    "oracle_auc": (0.80, 0.90),
}

_EVENTS_SQL = """
create temp table ev as
with raw as (
    select event_id, event_type, occurred_at, data
    from read_json(
        $glob,
        format = 'newline_delimited',
        columns = {event_id: 'VARCHAR', event_type: 'VARCHAR', occurred_at: 'VARCHAR',
                   data: 'JSON'},
        ignore_errors = true
    )
    where event_id is not null
)
select event_id, event_type, try_cast(occurred_at as timestamptz) as ts, data
from raw
where event_id not in (select event_id from bad)
qualify row_number() over (partition by event_id order by event_type) = 1
"""

_FIGURES_SQL = {
    "counts": """
        with c as (
            select ev.data->>'node_id' as node_id, ev.data->>'sku' as sku,
                   (ev.data->>'system_quantity')::bigint as sys,
                   (ev.data->>'counted_quantity')::bigint as cnt
            from ev where event_type = 'stock.counted'
        )
        select n.node_type,
               count(*) as counts,
               sum(case when abs(c.cnt - c.sys) <= floor(
                   case s.abc_class when 'A' then 0.01 when 'B' then 0.03 else 0.05 end
                   * c.sys + 1e-9) then 1 else 0 end) as accurate
        from c join nodes n using (node_id) join skus s using (sku)
        group by all
    """,
    "orders": """
        with placed as (
            select data->>'order_id' as order_id,
                   (data->>'promised_by')::timestamptz as promised_by,
                   data->>'fulfillment_method' as method,
                   json_array_length(data->'lines') as n_lines
            from ev where event_type = 'order.placed'
        ),
        done as (
            select data->>'order_id' as order_id, max(ts) as done_at
            from ev where event_type in ('shipment.delivered', 'pickup.ready')
            group by 1
        ),
        shipments as (
            select data->>'order_id' as order_id, count(distinct data->>'shipment_id') as n
            from ev where event_type = 'shipment.packed' group by 1
        ),
        cancelled as (
            select data->>'order_id' as order_id,
                   bool_or(data->>'reason' = 'out_of_stock') as stock_driven
            from ev where event_type = 'order.line_cancelled' group by 1
        ),
        rejected as (
            select distinct data->>'order_id' as order_id
            from ev where event_type = 'order.line_rejected'
        ),
        wismo as (
            select data->>'order_id' as order_id, count(*) as n
            from ev where event_type = 'service.contact'
                and data->>'topic' = 'where_is_my_order'
            group by 1
        )
        select p.order_id, p.n_lines, d.done_at is not null as is_done,
               d.done_at > p.promised_by as is_late,
               coalesce(s.n, 0) as shipments,
               c.order_id is not null as is_cancelled,
               coalesce(c.stock_driven, false) as stock_driven,
               r.order_id is not null as was_rejected,
               coalesce(w.n, 0) as wismo
        from placed p
        left join done d using (order_id)
        left join shipments s using (order_id)
        left join cancelled c using (order_id)
        left join rejected r using (order_id)
        left join wismo w using (order_id)
    """,
    "returns": """
        with placed_lines as (
            select l->>'line_id' as line_id, l->>'sku' as sku
            from ev, unnest(json_extract(data, '$.lines[*]')) as t(l)
            where event_type = 'order.placed'
        ),
        moved as (
            select event_type, l->>'line_id' as line_id, (l->>'quantity')::bigint as qty
            from ev, unnest(json_extract(data, '$.lines[*]')) as t(l)
            where event_type in ('shipment.packed', 'return.initiated')
        )
        select s.category,
               sum(case when m.event_type = 'shipment.packed' then qty else 0 end) as shipped,
               sum(case when m.event_type = 'return.initiated' then qty else 0 end) as returned
        from moved m join placed_lines p using (line_id) join skus s using (sku)
        group by all
    """,
}


@dataclass
class WorldReport:
    figures: dict[str, float]
    details: dict[str, Any] = field(default_factory=dict)

    def in_range(self, name: str) -> bool:
        lo, hi = TARGETS[name]
        value = self.figures[name]
        return (lo is None or value >= lo) and (hi is None or value <= hi)

    def render(self) -> str:
        rows = ["figure                          value   target       ok"]
        for name, (lo, hi) in TARGETS.items():
            target = f"{'' if lo is None else f'{lo:.2f}'}-{'' if hi is None else f'{hi:.2f}'}"
            mark = "yes" if self.in_range(name) else "NO"
            rows.append(f"{name:<30}{self.figures[name]:>7.3f}   {target:<12} {mark}")
        for name, value in self.figures.items():
            if name not in TARGETS:
                rows.append(f"{name:<30}{value:>7.3f}")
        return "\n".join(rows)

    def to_dict(self) -> dict[str, Any]:
        return {"figures": dict(self.figures), "targets": TARGETS, "details": self.details}


def world_report(out: Path) -> WorldReport:
    """Recompute the calibration figures of the world written under `out`."""
    out = Path(out)
    events = out / "events"
    if not events.is_dir() or not any(events.iterdir()):
        raise FileNotFoundError(f"no events under {events}: run `omsi generate --out {out}` first")
    con = duckdb.connect()
    try:
        faults = out / "truth" / "injected_faults.csv"
        con.execute(
            "create temp table bad as select event_id from read_csv($f, all_varchar = true)"
            " where expected not in ('landed', 'duplicate', 'conflicting_duplicate')",
            {"f": str(faults)},
        )
        con.execute(
            "create temp table nodes as select * from read_csv($f, all_varchar = true)",
            {"f": str(out / "reference" / "nodes.csv")},
        )
        con.execute(
            "create temp table skus as select * from read_csv($f, all_varchar = true)",
            {"f": str(out / "reference" / "skus.csv")},
        )
        con.execute(_EVENTS_SQL, {"glob": str(events / "*.jsonl*")})
        counts = con.execute(_FIGURES_SQL["counts"]).fetchall()
        orders = con.execute(_FIGURES_SQL["orders"]).fetchnumpy()
        returns = con.execute(_FIGURES_SQL["returns"]).fetchall()
        by_type = dict(
            con.execute("select event_type, count(*) from ev group by 1 order by 1").fetchall()
        )
    finally:
        con.close()
    figures: dict[str, float] = {}
    total = sum(c for _, c, _ in counts)
    figures["ira_overall"] = sum(a for _, _, a in counts) / total if total else float("nan")
    for node_type, c, a in counts:
        figures[f"ira_{node_type}"] = a / c
    for name in ("ira_dc", "ira_store"):
        figures.setdefault(name, float("nan"))
    done = orders["is_done"].astype(bool)
    late = np.asarray(orders["is_late"], dtype=object)
    late = np.array([bool(x) if x is not None else False for x in late])
    figures["on_time_rate"] = 1.0 - late[done].mean() if done.any() else float("nan")
    cancelled = orders["is_cancelled"].astype(bool)
    stock = orders["stock_driven"].astype(bool)
    figures["cancellation_rate"] = cancelled.mean()
    figures["stock_driven_share_of_cancelled"] = stock.mean() / max(cancelled.mean(), 1e-9)
    multi = (orders["n_lines"] > 1) & (orders["shipments"] > 0)
    figures["split_rate_multi_line"] = (orders["shipments"][multi] > 1).mean()
    shipped_orders = orders["shipments"] > 0
    figures["split_rate_all_orders"] = (orders["shipments"][shipped_orders] > 1).mean()
    shipped = sum(r[1] for r in returns)
    returned = sum(r[2] for r in returns)
    figures["return_rate_units"] = returned / shipped if shipped else float("nan")
    for category, s, r in returns:
        if category == "apparel":
            figures["return_rate_apparel"] = r / s if s else float("nan")
    wismo = orders["wismo"]
    figures["wismo_share_on_late_orders"] = (
        wismo[late & done].sum() / max(wismo[done].sum(), 1) if done.any() else float("nan")
    )
    figures["wismo_rate_late"] = (wismo[late & done] > 0).mean() if (late & done).any() else 0.0
    figures["wismo_rate_on_time"] = (wismo[~late & done] > 0).mean() if done.any() else 0.0
    truth = pq.read_table(out / "truth" / "order_drivers.parquet", columns=["p_late", "is_late"])
    p = truth.column("p_late").to_numpy(zero_copy_only=False)
    y = truth.column("is_late").to_numpy(zero_copy_only=False)
    keep = ~np.isnan(p.astype(float))
    y = y[keep].astype(bool)
    # Here rather than at the top: importing scikit-learn costs seconds, and every `omsi`
    # command imports this module's package.
    from sklearn.metrics import roc_auc_score

    figures["oracle_auc"] = (
        float(roc_auc_score(y, p[keep].astype(float))) if 0 < y.sum() < len(y) else float("nan")
    )
    figures["truth_late_rate"] = float(y.mean()) if len(y) else float("nan")
    return WorldReport(
        figures={k: float(v) for k, v in figures.items()},
        details={"events_by_type": by_type, "orders": int(len(orders["order_id"]))},
    )
