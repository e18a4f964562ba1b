"""Orders and promises: the lifecycle funnel, how long each stage takes against its SLA, promise
slack, on-time by carrier, service level, node and region, and the late orders with causes."""

import altair as alt
import pandas as pd
import streamlit as st

from dashboards import drill
from dashboards import mart_queries as q
from dashboards import page_parts as parts
from dashboards.snapshot import SnapshotError

# Labels are what the link carries (on_time_by=region), so they stay short and plain.
ON_TIME_LABELS = {
    "carrier": "carrier",
    "service_level": "service level",
    "node_id": "node",
    "node_type": "node type",
    "region": "region",
}
# The funnel's stages as fct_dashboard_order_funnel names them, in their order.
FUNNEL_LABELS = {
    "placed": "1 placed",
    "allocated": "2 allocated",
    "shipped": "3 shipped",
    "delivered_or_ready": "4 delivered or ready",
    "collected": "5 collected (pickup)",
}
STAGE_LABELS = {
    "allocation": "Placed → allocated",
    "release_to_ship": "Allocated → shipped",
    "transit": "Shipped → delivered",
    "pickup_ready": "Placed → ready for pickup",
    "collection": "Ready → collected",
    "order_cycle": "Placed → done (order cycle)",
}

version, filters = parts.open_page(
    "Orders and promises",
    "Were promises kept? Orders count on the day they were placed; every figure is a sum over "
    "the dashboard marts for the period and filters in the sidebar.",
    q.ORDER_TABLES,
)
try:
    known = parts.definitions(version)
    funnel = q.order_funnel(version, filters)
    on_time = parts.ratio(funnel["on_time_orders"], funnel["delivered_or_ready_orders"])
    split = parts.ratio(funnel["split_orders"], funnel["shipped_orders"])
    a, b, c, d = st.columns(4)
    parts.tile(a, "Orders placed", funnel["orders"], "count", "Orders placed in the period.")
    parts.tile(
        b,
        "On-time delivery",
        on_time,
        "ratio",
        f"{funnel['on_time_orders']:,} of {funnel['delivered_or_ready_orders']:,} orders "
        "delivered or ready were done at or before promised_by.",
        "on_time_rate",
        known,
    )
    parts.tile(
        c,
        "Promise slack (mean)",
        funnel["mean_promise_slack_hours"],
        "hours",
        "Mean of promised_by − done over completed orders; negative is late.",
        "promise_slack_hours",
        known,
    )
    parts.tile(
        d,
        "Split-shipment rate",
        split,
        "ratio",
        f"{funnel['split_orders']:,} of {funnel['shipped_orders']:,} shipped orders went in "
        "more than one shipment.",
        "split_shipment_rate",
        known,
    )

    st.subheader("Lifecycle funnel")
    stages = pd.DataFrame(
        {
            "stage": list(FUNNEL_LABELS.values()),
            "orders": [
                funnel["orders"],
                funnel["allocated_orders"],
                funnel["shipped_orders"],
                funnel["delivered_or_ready_orders"],
                funnel["collected_orders"],
            ],
        }
    )
    st.bar_chart(stages, x="stage", y="orders", horizontal=True, x_label="", y_label="Orders")
    st.caption(
        f"**Orders** reaching each stage. Pickup orders are never shipped: {funnel['pickup_orders']:,} "
        f"of the placed orders are pickups; {funnel['cancelled_orders']:,} were cancelled in full."
    )
    parts.table(stages, "funnel")
    drill.drill_down(
        version,
        filters,
        drill.ORDER_FUNNEL,
        [drill.Picker("funnel_stage", "Stage reached", list(FUNNEL_LABELS), "funnel",
                      format_func=FUNNEL_LABELS.get)],
        "orders that reached the stage",
    )  # fmt: skip

    st.subheader("Stage durations against their SLAs")
    durations = q.stage_durations(version, filters)
    durations.insert(1, "label", durations["stage"].map(STAGE_LABELS))
    long = durations.melt(
        id_vars=["label"], value_vars=["p50_hours", "p90_hours", "sla_hours"], var_name="measure"
    )
    st.altair_chart(
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=alt.Y("label:N", title=None, sort=list(STAGE_LABELS.values())),
            x=alt.X("value:Q", title="Hours"),
            color=alt.Color("measure:N", title=None),
            yOffset="measure:N",
            tooltip=["label", "measure", alt.Tooltip("value:Q", format=".1f")],
        ),
    )
    st.caption(
        "**p50/p90** = median and 90th percentile of the stage's hours over the orders through "
        "it; **SLA** = the median time the promise allowed (allocation: the allocation SLA; "
        "allocated → shipped: to the planned ship-by; transit: ship-by → promise); **within "
        "SLA** = share of orders that took no longer."
    )
    parts.table(
        durations,
        "stage durations",
        {
            "p50_hours": parts.number("p50 (h)", "%.1f"),
            "p90_hours": parts.number("p90 (h)", "%.1f"),
            "sla_hours": parts.number("SLA (h, median)", "%.1f"),
            "within_sla": parts.percent("Within SLA"),
        },
    )
    drill.drill_down(
        version,
        filters,
        drill.ORDER_STAGES,
        [drill.Picker("lifecycle_stage", "Stage", durations["stage"].tolist(), "stage",
                      format_func=STAGE_LABELS.get)],
        "orders in the stage",
        column_config={"hours": parts.number("Hours", "%.1f")},
    )  # fmt: skip

    st.subheader("Promise slack")
    slack = q.promise_slack(version, filters)
    slack["side"] = slack["slack_hours"].map(lambda h: "late" if h < 0 else "on time")
    st.altair_chart(
        alt.Chart(slack)
        .mark_bar(size=12)
        .encode(
            x=alt.X("slack_hours:Q", title="Hours to spare (promised_by − done), 12-hour bands"),
            y=alt.Y("orders:Q", title="Orders"),
            color=alt.Color(
                "side:N", scale=alt.Scale(domain=["late", "on time"], range=["#d62728", "#2ca02c"])
            ),
            tooltip=["slack_hours", "orders"],
        ),
    )
    parts.table(slack, "promise slack")
    drill.drill_down(
        version,
        filters,
        drill.COMPLETED_ORDERS,
        [drill.Picker("slack_band", "Slack band (hours)", slack["slack_hours"].tolist(), "slack")],
        "orders in the slack band",
    )

    st.subheader("On time by …")
    by = st.segmented_control(
        "Group by",
        list(ON_TIME_LABELS),
        format_func=ON_TIME_LABELS.get,
        default="carrier",
        required=True,
        key="on_time_by",
        bind="query-params",
    )
    grouped = q.on_time_by(version, filters, by)
    st.bar_chart(grouped, x=by, y="on_time_rate", horizontal=True, x_label="", y_label="On time")
    st.caption(
        "**On time** = delivered shipments at or before their order's promise / delivered "
        "shipments, per " + ON_TIME_LABELS[by] + "."
    )
    parts.table(
        grouped,
        f"on time by {by}",
        {"on_time_rate": parts.percent("On time")},
    )
    drill.drill_down(
        version,
        filters,
        drill.DELIVERED_SHIPMENTS,
        [drill.Picker(by, ON_TIME_LABELS[by].capitalize(), grouped[by].tolist(), f"on_time_{by}")],
        "delivered shipments",
    )

    st.subheader("Late orders and their causes")
    causes = q.late_causes(version, filters)
    if causes.empty:
        st.success("No order in this selection broke its promise.")
    else:
        st.bar_chart(causes, x="late_cause", y="orders", horizontal=True, x_label="")
        st.caption(
            "Each late order counts once, under the first cause found in its record: not "
            "allocated in time, a stock rejection, a backorder, shipped after plan, a lost or "
            "damaged parcel, else the carrier's transit (fct_late_orders)."
        )
        parts.table(causes, "late causes", {"mean_hours_late": parts.number("Mean h late", "%.1f")})
        drill.drill_down(
            version,
            filters,
            drill.LATE_ORDERS,
            [drill.Picker("late_cause", "Cause", causes["late_cause"].tolist(), "cause",
                          every="every cause")],
            "late orders",
            list_all=True,
            column_config={"hours_late": parts.number("Hours late", "%.1f")},
        )  # fmt: skip
except SnapshotError as error:
    st.error(str(error))
