"""The analysis pages' queries over the dashboard marts in the serving snapshot.

The aggregating happens in dbt (`dbt_project/models/marts/dashboards/`): these queries only
select the filtered rows of a mart and add up its counts and sums (or take a percentile of
per-order rows), so any period and filter is exact. Filter values are always bound parameters
(`Filters.where`); the only names pasted into SQL are column names from the allow-lists below.

`PAGE_QUERIES` lists every page's queries so `benchmarks/bench_dashboards.py` times exactly
what the pages run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

from dashboards import drill
from dashboards.filters import Filters
from dashboards.queries import frame, missing_tables
from dashboards.snapshot import SnapshotVersion

# What each page reads, its drill-downs' row-level marts (dashboards/drill.py) included, so that
# a snapshot without one says what to run instead of failing at the first pick.
ORDER_TABLES = (
    "agg_orders_daily",
    "fct_dashboard_order_funnel",
    "fct_order_stages",
    "agg_shipments_daily",
    "fct_late_orders",
    "fct_dashboard_shipments",
)
INVENTORY_TABLES = (
    "agg_inventory_accuracy_daily",
    "agg_allocations_daily",
    "agg_node_availability",
    "fct_dashboard_counts",
    "fct_dashboard_allocations",
    "fct_inventory_positions",
)
FULFILMENT_TABLES = (
    "agg_orders_daily",
    "agg_allocations_daily",
    "agg_shipments_daily",
    "dim_nodes",
    "fct_dashboard_allocations",
    "fct_dashboard_shipments",
)
COST_TABLES = ("agg_orders_daily", "fct_order_cost_drivers")
RETURN_TABLES = (
    "agg_category_returns_daily",
    "agg_return_reasons_daily",
    "fct_dashboard_returns",
)
EXCEPTION_TABLES = ("fct_exception_queue",)
FILTER_TABLES = ("agg_orders_daily",)
DELIVERY_RISK_TABLES = ("delivery_risk_scores", "model_metrics", "delivery_risk_backtest")
INVENTORY_RISK_TABLES = ("inventory_risk_scores", "cycle_count_list")
DRIFT_TABLES = ("feature_drift",)
# The shadow replay's marts (views over its table: present, and empty until `omsi replay`).
SHADOW_TABLES = ("agg_shadow_routing_daily", "fct_dashboard_shadow_routing")

# Benchmarks from the KPI definitions (docs/kpis.md): the average retailer and the best.
IRA_AVERAGE = 0.83
IRA_BEST_IN_CLASS = 0.95

# fct_order_cost_drivers.largest_component values, in cost-model order.
LARGEST_COMPONENTS = (
    "pick_pack",
    "packaging",
    "outbound_shipping",
    "payment_fees",
    "service_contacts",
    "return_shipping",
    "return_handling",
    "refunds",
)
COST_COMPONENTS = (
    "pick_pack_cost",
    "packaging_cost",
    "outbound_shipping_cost",
    "payment_fees",
    "service_contact_cost",
    "return_shipping_cost",
    "return_handling_cost",
    "refunds_cost",
)
# Group-by columns a page may choose, per mart: the only identifiers that vary in the SQL.
ON_TIME_BY = ("carrier", "service_level", "node_id", "node_type", "region")
ACCURACY_BY = ("node_type", "node_id", "category")
COST_BY = ("channel", "fulfillment_method", "node_type", "region")
# Counts and stock records belong to a node, not a customer: only node type filters them.
NODE_DIMENSIONS = ("node_type",)


def _allowed(column: str, allowed: Sequence[str]) -> str:
    if column not in allowed:
        raise ValueError(f"cannot group by {column!r}; choose one of {', '.join(allowed)}")
    return column


def filter_bounds(version: SnapshotVersion) -> pd.Series:
    """First and last order day and every value of each filter, for the sidebar."""
    lists = ",\n".join(
        f"coalesce(list(distinct {d} order by {d}), []::varchar[]) as {d}"
        for d in ("channel", "fulfillment_method", "node_type", "region")
    )
    return frame(
        version,
        f"select min(report_date) as first_date, max(report_date) as last_date, {lists} "
        "from agg_orders_daily",
    ).iloc[0]


# --- Orders and promises ---------------------------------------------------------------------


def order_funnel(version: SnapshotVersion, filters: Filters) -> pd.Series:
    """Order counts at each lifecycle stage, promise outcomes, splits and re-allocations."""
    where, params = filters.where()
    return (
        frame(
            version,
            f"""
        select
            coalesce(sum(orders), 0)::bigint as orders,
            coalesce(sum(allocated_orders), 0)::bigint as allocated_orders,
            coalesce(sum(shipped_orders), 0)::bigint as shipped_orders,
            coalesce(sum(delivered_or_ready_orders), 0)::bigint as delivered_or_ready_orders,
            coalesce(sum(collected_orders), 0)::bigint as collected_orders,
            coalesce(sum(pickup_orders), 0)::bigint as pickup_orders,
            coalesce(sum(cancelled_orders), 0)::bigint as cancelled_orders,
            coalesce(sum(on_time_orders), 0)::bigint as on_time_orders,
            coalesce(sum(late_orders), 0)::bigint as late_orders,
            sum(promise_slack_hours_sum) / nullif(sum(promise_slack_orders), 0)
                as mean_promise_slack_hours,
            coalesce(sum(split_orders), 0)::bigint as split_orders,
            coalesce(sum(reallocated_orders), 0)::bigint as reallocated_orders,
            coalesce(sum(rejected_orders), 0)::bigint as rejected_orders,
        from agg_orders_daily
        where {where}
        """,
            params,
        )
        .astype(object)
        .iloc[0]
    )  # object: counts stay integers beside the mean


def stage_durations(version: SnapshotVersion, filters: Filters) -> pd.DataFrame:
    """Per lifecycle stage: orders through it, p50 and p90 hours, the median SLA, share in SLA."""
    where, params = filters.where()
    return frame(
        version,
        f"""
        select
            lifecycle_stage as stage,
            count(*) as orders,
            quantile_cont(hours, 0.5) as p50_hours,
            quantile_cont(hours, 0.9) as p90_hours,
            median(sla_hours) as sla_hours,
            avg(case when is_within_sla then 1.0 when not is_within_sla then 0.0 end)
                as within_sla,
        from fct_order_stages
        where {where}
        group by stage, stage_order
        order by stage_order
        """,
        params,
    )


def promise_slack(version: SnapshotVersion, filters: Filters) -> pd.DataFrame:
    """Completed orders per 12-hour band of promise slack (promise - done; negative is late)."""
    where, params = filters.where()
    return frame(
        version,
        f"""
        select
            {drill.SLACK_BAND} as slack_hours,
            count(*) as orders,
        from fct_order_stages
        where lifecycle_stage = 'order_cycle' and {where}
        group by all
        order by slack_hours
        """,
        params,
    )


def on_time_by(version: SnapshotVersion, filters: Filters, by: str) -> pd.DataFrame:
    """Delivered shipments on time and late per carrier, service level, node, type or region."""
    column = _allowed(by, ON_TIME_BY)
    where, params = filters.where()
    return frame(
        version,
        f"""
        select
            {column},
            sum(delivered_shipments)::bigint as delivered_shipments,
            sum(on_time_shipments)::bigint as on_time_shipments,
            sum(late_shipments)::bigint as late_shipments,
            sum(on_time_shipments) / nullif(sum(delivered_shipments), 0) as on_time_rate,
        from agg_shipments_daily
        where {where}
        group by {column}
        having sum(delivered_shipments) > 0
        order by on_time_rate, {column}
        """,
        params,
    )


def late_causes(version: SnapshotVersion, filters: Filters) -> pd.DataFrame:
    where, params = filters.where()
    return frame(
        version,
        f"""
        select late_cause, count(*) as orders, count(*) filter (where is_open) as open_orders,
            avg(hours_late) as mean_hours_late,
        from fct_late_orders
        where {where}
        group by late_cause
        order by orders desc, late_cause
        """,
        params,
    )


# --- Inventory -------------------------------------------------------------------------------


def accuracy_by(version: SnapshotVersion, filters: Filters, by: str) -> pd.DataFrame:
    """Inventory record accuracy with overs and unders apart, per node type, node or category."""
    column = _allowed(by, ACCURACY_BY)
    where, params = filters.where(NODE_DIMENSIONS)
    return frame(
        version,
        f"""
        select
            {column},
            sum(counts)::bigint as counts,
            sum(accurate_counts)::bigint as accurate_counts,
            sum(accurate_counts) / nullif(sum(counts), 0) as inventory_record_accuracy,
            sum(over_counts)::bigint as over_counts,
            sum(under_counts)::bigint as under_counts,
            sum(over_units)::bigint as over_units,
            sum(under_units)::bigint as under_units,
        from agg_inventory_accuracy_daily
        where {where}
        group by {column}
        order by inventory_record_accuracy, {column}
        """,
        params,
    )


def phantom_by_node(version: SnapshotVersion, filters: Filters) -> pd.DataFrame:
    """not_found rejections per allocation at each node: stock the record had and the shelf not."""
    where, params = filters.where()
    return frame(
        version,
        f"""
        select
            node_id,
            any_value(node_type) as node_type,
            sum(allocations)::bigint as allocations,
            sum(not_found_rejections)::bigint as not_found_rejections,
            sum(not_found_rejections) / nullif(sum(allocations), 0) as phantom_inventory_rate,
        from agg_allocations_daily
        where {where}
        group by node_id
        order by phantom_inventory_rate desc, node_id
        """,
        params,
    )


def node_availability(version: SnapshotVersion, filters: Filters) -> pd.DataFrame:
    """Each node's units on hand, reserved and available to promise on the latest day."""
    where, params = filters.where(NODE_DIMENSIONS, date_column=None)
    return frame(
        version,
        f"""
        select node_id, node_type, node_region, report_date as position_date, skus, on_hand, reserved,
            in_transit, available_to_promise, skus_without_atp, skus_negative_on_hand,
        from agg_node_availability
        where {where}
        order by available_to_promise desc, node_id
        """,
        params,
    )


def cycle_count_list(version: SnapshotVersion, filters: Filters) -> pd.DataFrame:
    """The inventory model's ranked count list, for the filtered node types and regions."""
    where, params = filters.where(NODE_DIMENSIONS, date_column=None, prefix="nodes.")
    return frame(
        version,
        f"""
        select counts.count_date, counts.node_id, nodes.node_type, nodes.region as node_region, counts.sku,
            counts.rank_in_node, counts.p_inaccurate,
        from cycle_count_list as counts
        left join dim_nodes as nodes on counts.node_id = nodes.node_id
        where {where}
        order by counts.p_inaccurate desc, counts.node_id, counts.rank_in_node
        limit {drill.ROW_LIMIT}
        """,
        params,
    )


# --- Fulfilment and routing ------------------------------------------------------------------


def sourcing_mix(version: SnapshotVersion, filters: Filters) -> pd.DataFrame:
    """Sourcing decisions per node type: first allocations, re-allocations and rejections."""
    where, params = filters.where()
    return frame(
        version,
        f"""
        select
            node_type,
            sum(allocations)::bigint as allocations,
            sum(first_allocations)::bigint as first_allocations,
            sum(reallocations)::bigint as reallocations,
            sum(rejections)::bigint as rejections,
            sum(allocations) / sum(sum(allocations)) over () as share_of_allocations,
            sum(reallocations) / nullif(sum(allocations), 0) as reallocation_rate,
        from agg_allocations_daily
        where {where}
        group by node_type
        order by allocations desc, node_type
        """,
        params,
    )


def rejections(version: SnapshotVersion, filters: Filters) -> pd.DataFrame:
    """Rejections per node and reason."""
    where, params = filters.where()
    return frame(
        version,
        f"""
        select node_id, any_value(node_type) as node_type, rejection_reason,
            sum(rejections)::bigint as rejections, sum(rejected_units)::bigint as rejected_units,
        from agg_allocations_daily
        where {where} and rejection_reason != 'none'
        group by node_id, rejection_reason
        order by rejections desc, node_id, rejection_reason
        """,
        params,
    )


def node_activity(version: SnapshotVersion, filters: Filters) -> pd.DataFrame:
    """Per node: shipments, units against capacity over the period, on-time, distance, position.

    Load = units shipped / (daily capacity x days in the period): above 1 the node shipped more
    than its stated capacity.
    """
    where, params = filters.where(prefix="s.")
    days = (filters.end - filters.start).days + 1
    return frame(
        version,
        f"""
        with shipped as (
            select
                s.node_id,
                sum(s.shipments)::bigint as shipments,
                sum(s.units)::bigint as units,
                sum(s.delivered_shipments)::bigint as delivered_shipments,
                sum(s.on_time_shipments) / nullif(sum(s.delivered_shipments), 0) as on_time_rate,
                sum(s.distance_km_sum) / nullif(sum(s.distance_shipments), 0) as mean_distance_km,
            from agg_shipments_daily as s
            where {where}
            group by s.node_id
        )

        select
            shipped.node_id,
            nodes.node_name,
            nodes.node_type,
            nodes.region as node_region,
            nodes.lat,
            nodes.lon,
            shipped.shipments,
            shipped.units,
            shipped.delivered_shipments,
            shipped.on_time_rate,
            shipped.mean_distance_km,
            nodes.daily_capacity_units,
            shipped.units / nullif(nodes.daily_capacity_units * $days, 0) as load_vs_capacity,
        from shipped
        left join dim_nodes as nodes on shipped.node_id = nodes.node_id
        order by shipped.shipments desc, shipped.node_id
        """,
        params | {"days": days},
    )


def distance_by_node_type(version: SnapshotVersion, filters: Filters) -> pd.DataFrame:
    where, params = filters.where()
    return frame(
        version,
        f"""
        select node_type, sum(shipments)::bigint as shipments,
            sum(distance_km_sum) / nullif(sum(distance_shipments), 0) as mean_distance_km,
        from agg_shipments_daily
        where {where}
        group by node_type
        order by node_type
        """,
        params,
    )


# --- Cost to serve ---------------------------------------------------------------------------


def cost_by(version: SnapshotVersion, filters: Filters, by: str) -> pd.DataFrame:
    """Cost-to-serve components per channel, method, node type or region, and as % of revenue."""
    column = _allowed(by, COST_BY)
    where, params = filters.where()
    components = ",\n".join(f"sum({c}) as {c}" for c in COST_COMPONENTS)
    return frame(
        version,
        f"""
        select
            {column},
            sum(orders)::bigint as orders,
            sum(revenue) as revenue,
            {components},
            sum(total_cost) as total_cost,
            sum(total_cost) / nullif(sum(revenue), 0) as cost_pct_of_revenue,
            sum(total_cost) / nullif(sum(orders), 0) as cost_per_order,
        from agg_orders_daily
        where {where}
        group by {column}
        order by {column}
        """,
        params,
    )


# --- Returns ---------------------------------------------------------------------------------


def returns_by_category(version: SnapshotVersion, filters: Filters) -> pd.DataFrame:
    where, params = filters.where()
    return frame(
        version,
        f"""
        select category, sum(units_sold)::bigint as units_sold,
            sum(units_returned)::bigint as units_returned,
            sum(units_returned) / nullif(sum(units_sold), 0) as return_rate_units,
            sum(value_returned) / nullif(sum(value_sold), 0) as return_rate_value,
        from agg_category_returns_daily
        where {where}
        group by category
        order by return_rate_units desc nulls last, category
        """,
        params,
    )


def returns_by(version: SnapshotVersion, filters: Filters, by: str) -> pd.DataFrame:
    """Returned lines, units, refunds and refund cycle per reason or disposition."""
    column = _allowed(by, ("return_reason", "disposition", "category"))
    where, params = filters.where()
    return frame(
        version,
        f"""
        select {column}, sum(returned_lines)::bigint as returned_lines,
            sum(units_returned)::bigint as units_returned, sum(refund_amount) as refund_amount,
            sum(refund_cycle_days_sum) / nullif(sum(refunded_lines), 0) as mean_refund_cycle_days,
        from agg_return_reasons_daily
        where {where}
        group by {column}
        order by units_returned desc, {column}
        """,
        params,
    )


def refund_cycle_days(version: SnapshotVersion, filters: Filters) -> float | None:
    """Mean days from return received to refund issued, over refunded lines."""
    where, params = filters.where()
    value = frame(
        version,
        f"""
        select sum(refund_cycle_days_sum) / nullif(sum(refunded_lines), 0) as days,
        from agg_return_reasons_daily
        where {where}
        """,
        params,
    )["days"].iloc[0]
    return None if pd.isna(value) else float(value)


# --- Exceptions ------------------------------------------------------------------------------


def exception_summary(version: SnapshotVersion, filters: Filters) -> pd.DataFrame:
    """Open breaches per type and severity, with the oldest's age (the queue is about now)."""
    where, params = filters.where(date_column=None)
    return frame(
        version,
        f"""
        select exception_type, severity, count(*) as open_exceptions,
            max(age_hours) as oldest_age_hours, avg(age_hours) as mean_age_hours,
        from fct_exception_queue
        where {where}
        group by exception_type, severity
        order by min(queue_rank)
        """,
        params,
    )


# --- Risk (the ml tables; see docs/dashboards.md) --------------------------------------------


def ml_missing(version: SnapshotVersion, tables: Sequence[str]) -> list[str]:
    return missing_tables(version, tables)


def risk_distribution(version: SnapshotVersion, filters: Filters) -> pd.DataFrame:
    """Open orders per 5-point band of P(late)."""
    where, params = filters.where(
        ("channel", "fulfillment_method", "region"), date_column=None, prefix="f."
    )
    node_where, node_params = filters.where(("node_type",), date_column=None, prefix="s.")
    return frame(
        version,
        f"""
        select {drill.P_LATE_BAND} as p_late_band, count(*) as open_orders,
        from delivery_risk_scores as s
        left join dim_order_filters as f on s.order_id = f.order_id
        where {where} and {node_where}
        group by all
        order by p_late_band
        """,
        params | node_params,
    )


def node_risk_scores(version: SnapshotVersion, filters: Filters) -> pd.DataFrame:
    """Per node: open orders, mean P(late) and expected late orders, as routing is sent them."""
    where, params = filters.where(("node_type",), date_column=None)
    return frame(
        version,
        f"""
        select node_id, any_value(node_type) as node_type, count(*) as open_orders,
            avg(p_late) as mean_p_late, sum(p_late) as expected_late_orders,
            count(*) filter (where suggested_action != 'none') as orders_with_action,
        from delivery_risk_scores
        where {where}
        group by node_id
        order by mean_p_late desc, node_id
        """,
        params,
    )


def model_metrics(version: SnapshotVersion, model: str) -> pd.DataFrame:
    """The promoted version's metrics, the model's beside each baseline's."""
    return frame(
        version,
        """
        select scorer, metric, value, model_version, trained_at,
        from model_metrics
        where model = $model and model_version = (
            select model_version from model_metrics
            where model = $model
            order by is_promoted desc, trained_at desc
            limit 1
        )
        order by scorer = 'model' desc, scorer, metric
        """,
        {"model": model},
    )


def model_versions(version: SnapshotVersion) -> pd.DataFrame:
    """Each model's newest and promoted versions with when they were trained."""
    return frame(
        version,
        """
        select model, model_version, bool_or(is_promoted) as is_promoted,
            max(trained_at) as trained_at,
        from model_metrics
        group by model, model_version
        order by model, trained_at desc
        """,
    )


def reliability(version: SnapshotVersion) -> pd.DataFrame:
    """Backtest orders per tenth of predicted P(late): mean predicted against observed rate."""
    return frame(
        version,
        f"""
        select {drill.RELIABILITY_BAND} as band, count(*) as orders,
            avg(p_late) as mean_predicted, avg(case when is_late then 1.0 else 0.0 end) as observed,
        from delivery_risk_backtest
        where model_version = (
            select max(model_version) from delivery_risk_backtest
        )
        group by all
        order by band
        """,
    )


def feature_drift(version: SnapshotVersion) -> pd.DataFrame:
    """The latest scoring run's drift per model and feature, drifting first."""
    return frame(
        version,
        """
        select model, feature, psi, is_drifting, model_version, scored_at,
        from feature_drift
        qualify scored_at = max(scored_at) over (partition by model)
        order by is_drifting desc, psi desc, model, feature
        """,
    )


def inventory_risk(version: SnapshotVersion, filters: Filters, limit: int = 100) -> pd.DataFrame:
    where, params = filters.where(NODE_DIMENSIONS, date_column=None, prefix="n.")
    return frame(
        version,
        f"""
        select s.risk_rank, s.node_id, n.node_type, n.region as node_region, s.sku, s.p_inaccurate, s.on_hand,
            s.available_to_promise, s.suggested_buffer_units, s.adjusted_available_to_promise,
            s.buffer_confidence, s.model_version, s.scored_at,
        from inventory_risk_scores as s
        left join dim_nodes as n on s.node_id = n.node_id
        where {where}
        order by s.risk_rank
        limit $limit
        """,
        params | {"limit": limit},
    )


# --- Shadow routing (the shadow replay, `omsi replay`; see docs/closed-loop.md) ----------------


def shadow_routing_totals(version: SnapshotVersion, filters: Filters) -> pd.Series:
    """Decisions, how many the feed's rule changes, and the expected late orders and
    out-of-stock cancellations routed as the OMS did (`_chosen`) and by the rule (`_shadow`)."""
    where, params = filters.where()
    return frame(
        version,
        f"""
        select
            coalesce(sum(decisions), 0)::bigint as decisions,
            coalesce(sum(replayed_decisions), 0)::bigint as replayed,
            coalesce(sum(changed_decisions), 0)::bigint as changed,
            sum(expected_late_chosen) as late_chosen,
            sum(expected_late_shadow) as late_shadow,
            sum(expected_cancellations_chosen) as cancellations_chosen,
            sum(expected_cancellations_shadow) as cancellations_shadow,
        from agg_shadow_routing_daily
        where {where}
        """,
        params,
    ).iloc[0]


def shadow_routing_nodes(version: SnapshotVersion, filters: Filters) -> pd.DataFrame:
    """Per node: the decisions the OMS sent there, how many the rule moves away and brings in,
    and the expected late orders of the node's decisions as routed and under the rule."""
    where, params = filters.where()
    return frame(
        version,
        f"""
        with rows as (select * from agg_shadow_routing_daily where {where}),
        sent as (
            select chosen_node_id as node_id, any_value(node_type) as node_type,
                sum(decisions)::bigint as decisions, sum(changed_decisions)::bigint as moved_away,
                sum(expected_late_chosen) as expected_late_as_routed,
                sum(expected_late_shadow) as expected_late_under_rule,
            from rows group by chosen_node_id
        ),
        brought as (
            select shadow_node_id as node_id, sum(changed_decisions)::bigint as moved_in,
            from rows group by shadow_node_id
        )
        -- A node can receive orders in the selection without having been sent any.
        select coalesce(sent.node_id, brought.node_id) as node_id, sent.node_type,
            coalesce(sent.decisions, 0) as decisions, coalesce(sent.moved_away, 0) as moved_away,
            coalesce(brought.moved_in, 0) as moved_in,
            sent.moved_away / nullif(sent.decisions, 0) as share_moved_away,
            coalesce(sent.expected_late_as_routed, 0) as expected_late_as_routed,
            coalesce(sent.expected_late_under_rule, 0) as expected_late_under_rule,
        from sent full join brought on sent.node_id = brought.node_id
        where coalesce(sent.decisions, 0) > 0 or brought.moved_in > 0
        order by moved_away desc, moved_in desc, node_id
        """,
        params,
    )


def shadow_replay_run(version: SnapshotVersion) -> pd.Series:
    """When the replay ran, where its P(late) came from, and the decisions it covers."""
    return frame(
        version,
        """
        select max(replayed_at) as replayed_at, any_value(late_estimate) as late_estimate,
            any_value(model_version) as model_version, min(cutoff_at) as first_decision,
            max(cutoff_at) as last_decision, count(*) as decisions,
        from fct_dashboard_shadow_routing
        """,
    ).iloc[0]


# --- What the benchmark times: each page's queries, as the page runs them by default ---------
# (a drill-down that lists its rows before anything is picked runs its query on first view too;
# the others run one query when a group is picked, timed apart by the benchmark).

PageQuery = Callable[[SnapshotVersion, Filters], object]
PAGE_QUERIES: dict[str, tuple[PageQuery, ...]] = {
    "orders": (
        order_funnel,
        stage_durations,
        promise_slack,
        lambda v, f: on_time_by(v, f, "carrier"),
        late_causes,
        lambda v, f: drill.rows(v, f, drill.LATE_ORDERS),
    ),
    "inventory": (
        lambda v, f: accuracy_by(v, f, "node_type"),
        phantom_by_node,
        node_availability,
    ),
    "fulfilment": (
        order_funnel,
        sourcing_mix,
        rejections,
        node_activity,
        distance_by_node_type,
        lambda v, f: shadow_replay_run(v),
        shadow_routing_totals,
        shadow_routing_nodes,
        lambda v, f: drill.rows(v, f, drill.SHADOW_DECISIONS),
    ),
    "cost": (
        lambda v, f: cost_by(v, f, "channel"),
        lambda v, f: drill.rows(v, f, drill.COST_DRIVERS),
    ),
    "returns": (
        returns_by_category,
        lambda v, f: returns_by(v, f, "return_reason"),
        lambda v, f: returns_by(v, f, "disposition"),
        refund_cycle_days,
        lambda v, f: drill.rows(v, f, drill.RETURNS),
    ),
    "exceptions": (exception_summary, lambda v, f: drill.rows(v, f, drill.EXCEPTIONS)),
    # Timed only when the snapshot holds the risk models' tables.
    "risk": (
        risk_distribution,
        node_risk_scores,
        lambda v, f: drill.rows(v, f, drill.OPEN_ORDER_RISK),
        lambda v, f: model_metrics(v, "delivery"),
        lambda v, f: model_metrics(v, "inventory"),
        lambda v, f: reliability(v),
        lambda v, f: feature_drift(v),
    ),
}
# What each page's drill-downs list when a group is picked: (source, group key, the aggregate
# whose first row is picked, its column holding the key), one query per pick.
PAGE_DRILLS: dict[str, tuple[tuple[drill.RowSource, str, PageQuery, str], ...]] = {
    "orders": (
        (drill.ORDER_STAGES, "lifecycle_stage", stage_durations, "stage"),
        (drill.COMPLETED_ORDERS, "slack_band", promise_slack, "slack_hours"),
        (drill.DELIVERED_SHIPMENTS, "carrier", lambda v, f: on_time_by(v, f, "carrier"), "carrier"),
        (drill.LATE_ORDERS, "late_cause", late_causes, "late_cause"),
    ),
    "inventory": (
        (drill.COUNTS, "node_type", lambda v, f: accuracy_by(v, f, "node_type"), "node_type"),
        (drill.PHANTOM_REJECTIONS, "node_id", phantom_by_node, "node_id"),
        (drill.STOCK_RECORDS, "node_id", node_availability, "node_id"),
    ),
    "fulfilment": (
        (drill.ALLOCATIONS, "node_type", sourcing_mix, "node_type"),
        (drill.SHIPMENTS, "node_id", node_activity, "node_id"),
        (drill.REJECTIONS, "rejection_reason", rejections, "rejection_reason"),
        (drill.SHADOW_DECISIONS, "chosen_node_id", shadow_routing_nodes, "node_id"),
    ),
    "cost": ((drill.COST_DRIVERS, "channel", lambda v, f: cost_by(v, f, "channel"), "channel"),),
    "returns": ((drill.RETURNS, "category", returns_by_category, "category"),),
    "exceptions": ((drill.EXCEPTIONS, "exception_type", exception_summary, "exception_type"),),
    "risk": (
        (drill.OPEN_ORDER_RISK, "node_id", node_risk_scores, "node_id"),
        (drill.BACKTEST, "band", lambda v, f: reliability(v), "band"),
    ),
}
