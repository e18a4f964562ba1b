"""Drill-downs: from any aggregate on a page to the rows behind it, one pattern for every page.

A drill-down is one or more pickers of a group of an aggregate (a carrier, a late cause, a
node), each bound to the URL, and the rows of a row-level mart in that group under the page's
filters, with a CSV download. Every aggregate the pages show is a dbt model that sums the rows
of one of the `RowSource`s below (agg_shipments_daily sums fct_dashboard_shipments, ...), with the
same group keys, so the rows listed are the rows that made the number.

The detail query selects rows, it never aggregates: the filter condition is `Filters.where`,
each picked value is a bound parameter, and the only identifiers in the SQL are the sources'
own fixed columns and keys.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import pandas as pd

from dashboards.filters import DIMENSIONS, Filters
from dashboards.queries import frame
from dashboards.snapshot import SnapshotVersion

ROW_LIMIT = 500
# Bands the pages put rows in, used by both the aggregate and its rows: a P(late) in 5-point
# bands (Risk) and promise slack (promised_by - done) in 12-hour bands (Orders).
P_LATE_BAND = "floor(p_late * 20) / 20"
SLACK_BAND = "floor((sla_hours - hours) / 12) * 12"
RELIABILITY_BAND = "least(floor(p_late * 10), 9) / 10"
RISK_DIMENSIONS = ("channel", "fulfillment_method", "node_type", "region")


@dataclass(frozen=True)
class RowSource:
    """A row-level table of the snapshot that an aggregate sums, and how to list its rows.

    `keys` maps each group key a picker may set to its SQL expression over the table (a column,
    or the band an aggregate put the row in). `condition` is a fixed part of the aggregate's own
    definition (only delivered shipments count for on-time). `dimensions` and `date_column` say
    which of the sidebar's filters the table has.
    """

    table: str
    noun: str
    columns: tuple[str, ...]
    order_by: str
    keys: Mapping[str, str]
    condition: str = "true"
    dimensions: tuple[str, ...] = tuple(DIMENSIONS)
    date_column: str | None = "report_date"
    order_label: str = ""
    limit: int = ROW_LIMIT

    def key(self, name: str) -> str:
        if name not in self.keys:
            raise ValueError(f"{self.table} cannot be drilled by {name!r}; use {list(self.keys)}")
        return self.keys[name]


def _columns(*names: str) -> dict[str, str]:
    return {name: name for name in names}


_FILTER_COLUMNS = ("report_date", "channel", "fulfillment_method", "node_type", "region")
NODE_FILTERS = ("node_type",)

SHIPMENTS = RowSource(
    table="fct_dashboard_shipments",
    noun="shipments",
    columns=(
        "shipment_id", "order_id", "node_id", "node_type", "carrier", "service_level",
        "shipped_at", "delivered_at", "promised_by", "is_late", "fulfilled_units",
        "distance_km", "shipping_cost", "exception_codes", "report_date", "channel",
        "fulfillment_method", "region",
    ),
    order_by="shipped_at desc nulls last, shipment_id",
    order_label="latest shipped first",
    keys=_columns("carrier", "service_level", "node_id", "node_type", "region"),
)  # fmt: skip
# On-time counts delivered shipments only.
DELIVERED_SHIPMENTS = replace(
    SHIPMENTS, noun="delivered shipments", condition="delivered_at is not null"
)
ALLOCATIONS = RowSource(
    table="fct_dashboard_allocations",
    noun="allocations",
    columns=(
        "allocation_id", "order_id", "line_id", "attempt", "node_id", "node_type", "outcome",
        "rejection_reason", "allocated_at", "allocated_quantity", "rejected_quantity",
        "rejected_at", "is_phantom_rejection", "report_date", "channel", "fulfillment_method",
        "region",
    ),
    order_by="allocated_at desc, allocation_id",
    order_label="latest first",
    keys=_columns("node_type", "node_id", "rejection_reason"),
)  # fmt: skip
REJECTIONS = replace(ALLOCATIONS, noun="rejections", condition="rejection_reason != 'none'")
PHANTOM_REJECTIONS = replace(
    ALLOCATIONS, noun="not_found rejections", condition="is_phantom_rejection"
)
COUNTS = RowSource(
    table="fct_dashboard_counts",
    noun="cycle counts",
    columns=(
        "count_id", "node_id", "node_type", "node_region", "sku", "category", "abc_class",
        "counted_at", "system_quantity", "counted_quantity", "error_units", "tolerance_units",
        "is_accurate", "is_over", "is_under",
    ),
    order_by="abs(error_units) desc, counted_at desc, count_id",
    order_label="largest error first",
    keys=_columns("node_type", "node_id", "category"),
    dimensions=NODE_FILTERS,
)  # fmt: skip
STOCK_RECORDS = RowSource(
    # The records agg_node_availability sums: every SKU's position on the latest day.
    table="(select * from fct_inventory_positions where position_date = "
    "(select max(report_date) from agg_node_availability)) as latest",
    noun="stock records",
    columns=(
        "node_id", "node_type", "sku", "category", "abc_class", "position_date", "on_hand",
        "reserved", "in_transit", "available_to_promise", "is_negative_on_hand",
        "last_counted_at", "last_count_is_accurate",
    ),
    order_by="available_to_promise desc, sku",
    order_label="most available first",
    keys=_columns("node_id"),
    dimensions=NODE_FILTERS,
    date_column=None,
)  # fmt: skip
ORDER_STAGES = RowSource(
    table="fct_order_stages",
    noun="orders",
    columns=(
        "order_id", "lifecycle_stage", "hours", "sla_hours", "is_within_sla", "started_at",
        "ended_at", *_FILTER_COLUMNS,
    ),
    order_by="hours desc, order_id",
    order_label="slowest first",
    keys=_columns("lifecycle_stage"),
)  # fmt: skip
ORDER_FUNNEL = RowSource(
    table="fct_dashboard_order_funnel",
    noun="orders",
    columns=("order_id", "funnel_stage", "reached_at", *_FILTER_COLUMNS),
    order_by="reached_at desc, order_id",
    order_label="latest first",
    keys=_columns("funnel_stage"),
)  # fmt: skip
COMPLETED_ORDERS = replace(
    ORDER_STAGES,
    noun="completed orders",
    condition="lifecycle_stage = 'order_cycle'",
    keys={"slack_band": SLACK_BAND},
)
LATE_ORDERS = RowSource(
    table="fct_late_orders",
    noun="late orders",
    columns=(
        "order_id", "late_cause", "hours_late", "is_open", "placed_at", "promised_by",
        "completed_at", "channel", "fulfillment_method", "node_type", "region", "node_id",
        "carrier", "revenue",
    ),
    order_by="hours_late desc, order_id",
    order_label="most hours late first",
    keys=_columns("late_cause"),
)  # fmt: skip
COST_DRIVERS = RowSource(
    table="fct_order_cost_drivers",
    noun="orders",
    columns=(
        "order_id", "total_cost", "revenue", "cost_pct_of_revenue", "largest_component",
        "largest_component_cost", "service_contacts", "units_returned", "channel",
        "fulfillment_method", "node_type", "region", "report_date", "pick_pack_cost",
        "packaging_cost", "outbound_shipping_cost", "payment_fees", "service_contact_cost",
        "return_shipping_cost", "return_handling_cost", "refunds_cost",
    ),
    order_by="total_cost desc, order_id",
    order_label="most expensive first",
    keys=_columns("largest_component", "channel", "fulfillment_method", "node_type", "region"),
)  # fmt: skip
RETURNS = RowSource(
    table="fct_dashboard_returns",
    noun="returned lines",
    columns=(
        "return_id", "order_id", "line_id", "sku", "category", "return_reason", "disposition",
        "returned_quantity", "received_quantity", "returned_value", "refund_amount",
        "initiated_at", "received_at", "refunded_at", "refund_cycle_days", *_FILTER_COLUMNS,
    ),
    order_by="initiated_at desc, return_id, line_id",
    order_label="latest first",
    keys=_columns("category", "return_reason", "disposition"),
)  # fmt: skip
EXCEPTIONS = RowSource(
    table="fct_exception_queue",
    noun="open breaches",
    columns=(
        "queue_rank", "severity", "age_hours", "exception_type", "sla_breached", "code",
        "order_id", "line_id", "shipment_id", "node_id", "breached_at", "promised_by",
        "channel", "fulfillment_method", "node_type", "region", "as_of_at",
    ),
    order_by="queue_rank",
    order_label="first to work on first",
    keys=_columns("exception_type", "severity"),
    date_column=None,
)  # fmt: skip
OPEN_ORDER_RISK = RowSource(
    # Scores carry the node's type; the order's channel, method and region come from its filters.
    table="(select s.*, f.channel, f.fulfillment_method, f.region from delivery_risk_scores as s "
    "left join dim_order_filters as f on s.order_id = f.order_id) as scored",
    noun="open orders",
    columns=(
        "order_id", "p_late", "suggested_action", "factor_1", "contribution_1", "factor_2",
        "contribution_2", "factor_3", "contribution_3", "node_id", "node_type", "carrier",
        "service_level", "promised_by", "channel", "fulfillment_method", "region",
        "model_version", "scored_at",
    ),
    order_by="p_late desc, order_id",
    order_label="riskiest first",
    keys={"suggested_action": "suggested_action", "node_id": "node_id", "p_late_band": P_LATE_BAND},
    dimensions=RISK_DIMENSIONS,
    date_column=None,
)  # fmt: skip

SHADOW_DECISIONS = RowSource(
    # The decisions the feed's rule would have sent elsewhere (agg_shadow_routing_daily sums
    # fct_dashboard_shadow_routing); node_type is the chosen node's type.
    table="fct_dashboard_shadow_routing",
    noun="changed decisions",
    columns=(
        "order_id", "cutoff_at", "chosen_node_id", "node_type", "shadow_node_id",
        "shadow_node_type", "chosen_routing_penalty", "shadow_routing_penalty",
        "chosen_own_cost", "shadow_own_cost", "p_late_chosen", "p_late_shadow",
        "p_cancel_chosen", "p_cancel_shadow", "observed_late", "candidate_nodes",
        "report_date", "channel", "fulfillment_method", "region",
    ),
    order_by="chosen_routing_penalty - shadow_routing_penalty desc, order_id",
    order_label="largest penalty saved first",
    keys=_columns("chosen_node_id", "shadow_node_id"),
    condition="is_changed",
)  # fmt: skip

BACKTEST = RowSource(
    # The newest backtest, the one the reliability diagram bands; no filter applies to it.
    table="(select * from delivery_risk_backtest where model_version = "
    "(select max(model_version) from delivery_risk_backtest)) as backtest",
    noun="backtest orders",
    columns=("order_id", "p_late", "is_late", "model_version"),
    order_by="p_late desc, order_id",
    order_label="riskiest first",
    keys={"band": RELIABILITY_BAND},
    dimensions=(),
    date_column=None,
)


def rows(
    version: SnapshotVersion,
    filters: Filters,
    source: RowSource,
    match: Mapping[str, object] | None = None,
) -> pd.DataFrame:
    """The rows of `source` under the filters whose keys equal `match` (None: any value)."""
    where, params = filters.where(source.dimensions, source.date_column)
    chosen = {key: value for key, value in (match or {}).items() if value is not None}
    conditions = [where, f"({source.condition})"]
    for number, (key, value) in enumerate(chosen.items()):
        conditions.append(f"{source.key(key)} = $match_{number}")
        params[f"match_{number}"] = value
    return frame(
        version,
        f"""
        select {", ".join(source.columns)}
        from {source.table}
        where {" and ".join(conditions)}
        order by {source.order_by}
        limit $limit
        """,
        params | {"limit": source.limit},
    )


# --- The widget --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Picker:
    """One group key of a drill-down: its label, the aggregate's values, its URL parameter."""

    key: str
    label: str
    options: Sequence[object]
    url_key: str
    every: str = "every"
    format_func: Callable[[object], str] = field(default=str)


def pick(picker: Picker, column=None) -> object | None:
    """A select box of the aggregate's values, bound to the URL; None means every value."""
    import streamlit as st

    target = column or st
    choices = [None, *picker.options]
    wanted = st.query_params.get(picker.url_key)
    index = next((i for i, c in enumerate(choices) if c is not None and str(c) == wanted), 0)
    return target.selectbox(
        picker.label,
        choices,
        index=index,
        format_func=lambda c: picker.every if c is None else picker.format_func(c),
        key=f"drill-{picker.url_key}",
        on_change=_mirror(picker.url_key),
    )


def _mirror(url_key: str) -> Callable[[], None]:
    def mirror() -> None:
        import streamlit as st

        value = st.session_state[f"drill-{url_key}"]
        if value is None:
            st.query_params.pop(url_key, None)
        else:
            st.query_params[url_key] = str(value)

    return mirror


def drill_down(
    version: SnapshotVersion,
    filters: Filters,
    source: RowSource,
    pickers: Sequence[Picker],
    name: str,
    *,
    list_all: bool = False,
    column_config: Mapping[str, object] | None = None,
) -> pd.DataFrame | None:
    """Pickers, then the rows behind the picked group with a CSV download.

    With `list_all` the rows are listed before anything is picked (a page's own list, such as
    the late orders); otherwise the page asks for a pick first and runs no query until then.
    """
    import streamlit as st

    from dashboards.page_parts import table

    columns = st.columns(len(pickers)) if len(pickers) > 1 else [None]
    match = {p.key: pick(p, column) for p, column in zip(pickers, columns, strict=True)}
    picked = {k: v for k, v in match.items() if v is not None}
    if not picked and not list_all:
        st.caption(
            f"Pick a {' or a '.join(p.label.lower() for p in pickers)} to list its {source.noun}."
        )
        return None
    found = rows(version, filters, source, match)
    which = ", ".join(f"{k} = {v}" for k, v in picked.items()) or "every group"
    st.caption(
        f"{len(found):,} {source.noun} ({which}; at most {source.limit}), {source.order_label}."
    )
    table(found, name, dict(column_config or {}))
    return found
