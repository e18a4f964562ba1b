"""Inventory: record accuracy against the average and best-in-class lines, overs and unders
apart, phantom inventory from not_found rejections, available to promise by node, and the
inventory model's ranked cycle-count list once it exists."""

import altair as alt
import pandas as pd
import streamlit as st

from dashboards import drill
from dashboards import mart_queries as q
from dashboards import page_parts as parts
from dashboards.snapshot import SnapshotError

ACCURACY_LABELS = {"node_type": "node type", "node_id": "node", "category": "category"}

version, filters = parts.open_page(
    "Inventory",
    "Can the stock record be trusted? Counts count on the day they were counted. Counts and "
    "stock belong to a node, not an order: channel, method and region filter only the phantom "
    "inventory section (allocations of orders).",
    q.INVENTORY_TABLES,
)
try:
    known = parts.definitions(version)
    by_type = q.accuracy_by(version, filters, "node_type")
    phantom = q.phantom_by_node(version, filters)
    counts, accurate = by_type["counts"].sum(), by_type["accurate_counts"].sum()
    a, b, c, d = st.columns(4)
    parts.tile(
        a,
        "Inventory record accuracy",
        parts.ratio(accurate, counts),
        "ratio",
        f"{accurate:,} of {counts:,} cycle counts within their ABC tolerance.",
        "inventory_record_accuracy",
        known,
    )
    parts.tile(
        b, "Over counts", by_type["over_counts"].sum(), "count", "Counts that found more stock."
    )
    parts.tile(
        c, "Under counts", by_type["under_counts"].sum(), "count", "Counts that found less stock."
    )
    parts.tile(
        d,
        "Phantom inventory rate",
        parts.ratio(phantom["not_found_rejections"].sum(), phantom["allocations"].sum()),
        "ratio",
        f"{phantom['not_found_rejections'].sum():,} not_found rejections of "
        f"{phantom['allocations'].sum():,} allocations.",
        "phantom_inventory_rate",
        known,
    )

    st.subheader("Record accuracy")
    by = st.segmented_control(
        "Per",
        list(ACCURACY_LABELS),
        format_func=ACCURACY_LABELS.get,
        default="node_type",
        required=True,
        key="accuracy_by",
        bind="query-params",
    )
    accuracy = by_type if by == "node_type" else q.accuracy_by(version, filters, by)
    bars = (
        alt.Chart(accuracy)
        .mark_bar()
        .encode(
            y=alt.Y(f"{by}:N", title=None, sort="x"),
            x=alt.X("inventory_record_accuracy:Q", title="Accuracy", axis=alt.Axis(format="%")),
            tooltip=[by, "counts", alt.Tooltip("inventory_record_accuracy:Q", format=".1%")],
        )
    )
    lines = (
        alt.Chart(
            pd.DataFrame(
                {
                    "benchmark": ["average 83%", "best in class 95%"],
                    "value": [q.IRA_AVERAGE, q.IRA_BEST_IN_CLASS],
                }
            )
        )
        .mark_rule(strokeDash=[4, 4])
        .encode(x="value:Q", color=alt.Color("benchmark:N", title=None))
    )
    st.altair_chart(bars + lines)
    st.caption(
        "**Accuracy** = counts within tolerance / counts (A ±1%, B ±3%, C ±5%); dashed lines: "
        "the retail average (83%) and best in class (95%). **Overs** and **unders** are never "
        "netted: a count that finds 5 extra and one that misses 5 are two errors."
    )
    parts.table(
        accuracy,
        f"accuracy by {by}",
        {"inventory_record_accuracy": parts.percent("Accuracy")},
    )

    st.subheader("Overs versus unders")
    sides = accuracy.melt(
        id_vars=[by], value_vars=["over_units", "under_units"], var_name="direction"
    )
    st.bar_chart(sides, x=by, y="value", color="direction", stack=False, y_label="Units")
    drill.drill_down(
        version,
        filters,
        drill.COUNTS,
        [drill.Picker(by, ACCURACY_LABELS[by].capitalize(), accuracy[by].tolist(), f"counts_{by}")],
        "cycle counts",
    )

    st.subheader("Phantom inventory by node")
    st.caption(
        "**Phantom inventory rate** = not_found rejections / allocations to the node: the "
        "record said the stock was there and the picker did not find it."
    )
    parts.table(phantom, "phantom inventory", {"phantom_inventory_rate": parts.percent("Phantom")})
    drill.drill_down(
        version,
        filters,
        drill.PHANTOM_REJECTIONS,
        [drill.Picker("node_id", "Node", phantom["node_id"].tolist(), "phantom_node")],
        "not_found rejections",
    )

    st.subheader("Available to promise by node (latest day)")
    availability = q.node_availability(version, filters)
    st.bar_chart(availability, x="node_id", y="available_to_promise", x_label="")
    parts.table(availability, "availability by node")
    drill.drill_down(
        version,
        filters,
        drill.STOCK_RECORDS,
        [drill.Picker("node_id", "Node", availability["node_id"].tolist(), "stock_node")],
        "stock records",
    )

    st.subheader("Cycle-count list")
    missing = q.ml_missing(version, ("cycle_count_list", "inventory_risk_scores"))
    if missing:
        st.info(
            "The inventory model has not scored this snapshot yet (no "
            + ", ".join(f"`{t}`" for t in missing)
            + "). Run `omsi train` then `omsi run` to train it and publish its ranked "
            "cycle-count list.",
            icon=":material/model_training:",
        )
    else:
        parts.table(q.cycle_count_list(version, filters), "cycle count list")
        st.caption("Availability buffers the model suggests, riskiest records first:")
        parts.table(q.inventory_risk(version, filters), "inventory risk")
except SnapshotError as error:
    st.error(str(error))
