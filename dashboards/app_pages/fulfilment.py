"""Fulfilment and routing: where orders are sourced, how often sourcing fails and is retried,
how far parcels travel, how loaded each node is, a map of the nodes (no tile server: the map
is drawn from the nodes' coordinates alone, so it works offline), and the shadow replay's
estimate of what routing by the feed would have changed (dashboards/shadow_routing.py)."""

import altair as alt
import streamlit as st

from dashboards import drill, experiment, shadow_routing
from dashboards import mart_queries as q
from dashboards import page_parts as parts
from dashboards.snapshot import SnapshotError

version, filters = parts.open_page(
    "Fulfilment and routing",
    "Where orders are sourced and how the network copes. Node type here is the type of the "
    "node that was allocated or shipped; region is where the customer is.",
    q.FULFILMENT_TABLES,
)
try:
    known = parts.definitions(version)
    funnel = q.order_funnel(version, filters)
    mix = q.sourcing_mix(version, filters)
    a, b, c = st.columns(3)
    parts.tile(
        a,
        "Split-shipment rate",
        parts.ratio(funnel["split_orders"], funnel["shipped_orders"]),
        "ratio",
        f"{funnel['split_orders']:,} of {funnel['shipped_orders']:,} shipped orders.",
        "split_shipment_rate",
        known,
    )
    parts.tile(
        b,
        "Re-allocated decisions",
        parts.ratio(mix["reallocations"].sum(), mix["allocations"].sum()),
        "ratio",
        f"{mix['reallocations'].sum():,} of {mix['allocations'].sum():,} sourcing decisions "
        "were a re-allocation (attempt > 1) after a rejection or cancellation.",
    )
    parts.tile(
        c,
        "Rejection rate",
        parts.ratio(mix["rejections"].sum(), mix["allocations"].sum()),
        "ratio",
        f"{mix['rejections'].sum():,} of {mix['allocations'].sum():,} allocations rejected.",
        "rejection_rate",
        known,
    )

    st.subheader("Sourcing mix by node type")
    left, right = st.columns(2)
    left.altair_chart(
        alt.Chart(mix)
        .mark_arc(innerRadius=50)
        .encode(
            theta="allocations:Q",
            color=alt.Color("node_type:N", title="Node type"),
            tooltip=["node_type", "allocations", alt.Tooltip("share_of_allocations", format=".1%")],
        )
    )
    distance = q.distance_by_node_type(version, filters)
    right.bar_chart(distance, x="node_type", y="mean_distance_km", y_label="Mean km to customer")
    parts.table(
        mix,
        "sourcing mix",
        {
            "share_of_allocations": parts.percent("Share"),
            "reallocation_rate": parts.percent("Re-allocated"),
        },
    )
    parts.table(distance, "distance by node type", {"mean_distance_km": parts.number("km", "%.0f")})
    left, right = st.columns(2)
    with left:
        drill.drill_down(
            version,
            filters,
            drill.ALLOCATIONS,
            [drill.Picker("node_type", "Node type", mix["node_type"].tolist(), "sourced_from")],
            "allocations",
        )
    with right:
        drill.drill_down(
            version,
            filters,
            drill.SHIPMENTS,
            [
                drill.Picker(
                    "node_type", "Node type", distance["node_type"].tolist(), "shipped_from"
                )
            ],
            "shipments by node type",
        )

    st.subheader("Nodes")
    nodes = q.node_activity(version, filters)
    located = nodes.dropna(subset=["lat", "lon"])
    st.altair_chart(
        alt.Chart(located)
        .mark_circle(opacity=0.8, stroke="black", strokeWidth=0.5)
        .encode(
            longitude="lon:Q",
            latitude="lat:Q",
            size=alt.Size("shipments:Q", title="Shipments", scale=alt.Scale(range=[30, 1500])),
            color=alt.Color(
                "on_time_rate:Q",
                title="On time",
                scale=alt.Scale(scheme="redyellowgreen", domain=[0.6, 1]),
                legend=alt.Legend(format="%"),
            ),
            tooltip=[
                "node_id",
                "node_name",
                "node_type",
                "shipments",
                alt.Tooltip("on_time_rate:Q", format=".1%"),
                alt.Tooltip("load_vs_capacity:Q", format=".0%"),
            ],
        )
        .project(type="albersUsa" if located["lon"].lt(-60).all() else "equalEarth")
        .properties(height=420),
    )
    st.caption(
        "Each circle is a node at its coordinates, sized by shipments in the period and "
        "coloured by on-time delivery of its shipments. **Load** = units shipped / (daily "
        "capacity × days in the period)."
    )
    st.bar_chart(nodes, x="node_id", y="load_vs_capacity", x_label="", y_label="Load vs capacity")
    parts.table(
        nodes,
        "nodes",
        {
            "on_time_rate": parts.percent("On time"),
            "load_vs_capacity": parts.percent("Load"),
            "mean_distance_km": parts.number("Mean km", "%.0f"),
        },
    )
    drill.drill_down(
        version,
        filters,
        drill.SHIPMENTS,
        [drill.Picker("node_id", "Node", nodes["node_id"].tolist(), "node_shipments")],
        "shipments of the node",
    )

    st.subheader("Rejections by node and reason")
    rejected = q.rejections(version, filters)
    if rejected.empty:
        st.success("No node rejected an allocation in this selection.")
    else:
        st.bar_chart(rejected, x="node_id", y="rejections", color="rejection_reason", x_label="")
        parts.table(rejected, "rejections")
        drill.drill_down(
            version,
            filters,
            drill.REJECTIONS,
            [
                drill.Picker("rejection_reason", "Reason", sorted(rejected["rejection_reason"].unique()),
                             "rejection", every="every reason"),
                drill.Picker("node_id", "Node", sorted(rejected["node_id"].unique()),
                             "rejecting_node", every="every node"),
            ],
            "rejected allocations",
        )  # fmt: skip

    shadow_routing.section(version, filters)
    experiment.section(version)
except SnapshotError as error:
    st.error(str(error))
