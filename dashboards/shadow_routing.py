"""The Shadow routing section of the Fulfilment and routing page: the shadow replay's estimate
of what a routing engine reading the routing feed would have done with each historical first
sourcing decision (`omsi replay`, docs/closed-loop.md), under the page's filters."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboards import drill
from dashboards import mart_queries as q
from dashboards import page_parts as parts
from dashboards.filters import Filters
from dashboards.kpis import metric_delta
from dashboards.snapshot import SnapshotVersion

TITLE = "Shadow routing"
NOT_YET = (
    "No shadow replay in this snapshot yet. Run `omsi replay` (after `omsi run`): it replays "
    "every first sourcing decision with the routing feed's penalties of its day and republishes "
    "the snapshot."
)


def section(version: SnapshotVersion, filters: Filters) -> None:
    st.subheader(TITLE)
    st.caption(
        "What a routing engine reading the routing feed would have done with each first "
        "sourcing decision of the period: its rule (own cost plus the node's routing penalty, "
        "with the penalties of the decision's own day) replayed on the decisions the OMS made, "
        "and the delivery model's expected late orders and out-of-stock cancellations both "
        "ways. **An estimate from the model, not a measurement**: only an experiment measures "
        "(docs/closed-loop.md). Node type is the type of the node the OMS chose."
    )
    if q.ml_missing(version, q.SHADOW_TABLES):
        st.info("This snapshot predates the shadow replay: run `omsi run`, then `omsi replay`.")
        return
    run = q.shadow_replay_run(version)
    if not run["decisions"]:
        st.info(NOT_YET, icon=":material/alt_route:")
        return
    totals = q.shadow_routing_totals(version, filters)
    a, b, c = st.columns(3)
    parts.tile(
        a,
        "Decisions the feed's rule changes",
        parts.ratio(totals["changed"], totals["decisions"]),
        "ratio",
        f"{totals['changed']:,} of {totals['decisions']:,} first sourcing decisions would have "
        f"gone to another node ({totals['replayed']:,} were put to the rule: delivery orders "
        "sourced from one node).",
    )
    for column, label, noun, chosen, shadow in (
        (b, "Expected late orders", "late orders", "late_chosen", "late_shadow"),
        (c, "Expected stock cancellations", "out-of-stock cancellations",
         "cancellations_chosen", "cancellations_shadow"),
    ):  # fmt: skip
        parts.tile(
            column,
            label,
            totals[shadow],
            "currency",
            f"Expected {noun} under the feed's rule (sum of probabilities); as the OMS routed "
            f"them: {totals[chosen]:,.2f}. The change is under the value.",
            change=metric_delta(totals[shadow], totals[chosen], "currency", False),
        )
    source = (
        f"the delivery model `{run['model_version']}`"
        if run["late_estimate"] == "model"
        else "each node's late history (no delivery model was promoted)"
    )
    st.caption(
        f"Replayed {pd.Timestamp(run['replayed_at']):%Y-%m-%d %H:%M} UTC over the decisions "
        f"from {pd.Timestamp(run['first_decision']):%Y-%m-%d} to "
        f"{pd.Timestamp(run['last_decision']):%Y-%m-%d}; P(late) from {source}."
    )
    nodes = q.shadow_routing_nodes(version, filters)
    moved = nodes[(nodes["moved_away"] > 0) | (nodes["moved_in"] > 0)]
    if moved.empty:
        st.success("The feed's rule keeps every decision in this selection where the OMS sent it.")
    else:
        chart = moved[["node_id", "moved_away", "moved_in"]].melt(
            "node_id", var_name="direction", value_name="decisions"
        )
        st.bar_chart(chart, x="node_id", y="decisions", color="direction", x_label="")
    parts.table(
        nodes,
        "shadow routing by node",
        {
            "share_moved_away": parts.percent("Moved away"),
            "expected_late_as_routed": parts.number("Expected late, as routed", "%.2f"),
            "expected_late_under_rule": parts.number("Expected late, feed's rule", "%.2f"),
        },
    )
    drill.drill_down(
        version,
        filters,
        drill.SHADOW_DECISIONS,
        [
            drill.Picker("chosen_node_id", "Moved away from", nodes["node_id"].tolist(),
                         "shadow_from", every="every node"),
            drill.Picker("shadow_node_id", "Moved to", nodes["node_id"].tolist(), "shadow_to",
                         every="every node"),
        ],
        "changed decisions",
        list_all=True,
        column_config={
            "p_late_chosen": parts.percent("P(late) as routed"),
            "p_late_shadow": parts.percent("P(late), feed's rule"),
        },
    )  # fmt: skip
