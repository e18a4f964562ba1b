"""Cost to serve: its components by channel, method, node type and region, as a share of
revenue, and the most expensive orders with the component that made them so."""

import streamlit as st

from dashboards import drill
from dashboards import mart_queries as q
from dashboards import page_parts as parts
from dashboards.snapshot import SnapshotError

BY_LABELS = {
    "channel": "channel",
    "fulfillment_method": "fulfilment method",
    "node_type": "node type",
    "region": "region",
}

version, filters = parts.open_page(
    "Cost to serve",
    "What it cost to serve the orders placed in the period, priced with the cost model "
    "(dbt_project/seeds/cost_model.csv), in the orders' currency.",
    q.COST_TABLES,
)
try:
    known = parts.definitions(version)
    by = st.segmented_control(
        "Split by",
        list(BY_LABELS),
        format_func=BY_LABELS.get,
        default="channel",
        required=True,
        key="cost_by",
        bind="query-params",
    )
    costs = q.cost_by(version, filters, by)
    total, revenue, orders = (
        costs["total_cost"].sum(),
        costs["revenue"].sum(),
        costs["orders"].sum(),
    )
    a, b, c = st.columns(3)
    parts.tile(
        a,
        "Cost to serve (% of revenue)",
        parts.ratio(total, revenue),
        "ratio",
        f"{total:,.2f} of cost over {revenue:,.2f} of revenue.",
        "cost_to_serve_pct_revenue",
        known,
    )
    parts.tile(
        b,
        "Cost to serve per order",
        parts.ratio(total, orders),
        "currency",
        f"{total:,.2f} over {orders:,} orders.",
        "cost_to_serve_per_order",
        known,
    )
    parts.tile(c, "Total cost to serve", total, "currency", "Sum of every component.")

    st.subheader(f"Components by {BY_LABELS[by]}")
    components = costs.melt(id_vars=[by], value_vars=list(q.COST_COMPONENTS), var_name="component")
    st.bar_chart(components, x=by, y="value", color="component", x_label="", y_label="Cost")
    shares = costs[[by, "cost_pct_of_revenue"]]
    st.bar_chart(shares, x=by, y="cost_pct_of_revenue", x_label="", y_label="% of revenue")
    parts.table(
        costs,
        f"cost by {by}",
        {
            "cost_pct_of_revenue": parts.percent("% of revenue"),
            "cost_per_order": parts.number("Per order", "%.2f"),
        },
    )
    drill.drill_down(
        version,
        filters,
        drill.COST_DRIVERS,
        [drill.Picker(by, BY_LABELS[by].capitalize(), costs[by].tolist(), f"cost_{by}")],
        f"orders by {by}",
        column_config={"cost_pct_of_revenue": parts.percent("% of revenue")},
    )

    st.subheader("The most expensive orders, and why")
    st.caption(
        "**Largest component** = the cost that weighs most in the order's total: the reason it "
        "was expensive (a return's shipping and handling, a long-distance parcel, contacts)."
    )
    drill.drill_down(
        version,
        filters,
        drill.COST_DRIVERS,
        [drill.Picker("largest_component", "Orders whose largest cost is",
                      list(q.LARGEST_COMPONENTS), "component", every="any component")],
        "costly orders",
        list_all=True,
        column_config={"cost_pct_of_revenue": parts.percent("% of revenue")},
    )  # fmt: skip
except SnapshotError as error:
    st.error(str(error))
