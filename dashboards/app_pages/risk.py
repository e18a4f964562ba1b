"""Risk: delivery risk of the open orders, the riskiest with their top factors and suggested
actions, node scores as routing receives them, model metrics against baselines, calibration
and drift. Reads the ml tables; until the models have run it says what to run."""

import altair as alt
import pandas as pd
import streamlit as st

from dashboards import drill
from dashboards import mart_queries as q
from dashboards import page_parts as parts
from dashboards.snapshot import SnapshotError

# The actions the scoring suggests (models/actions.py), "none" included.
ACTIONS = ("expedite", "reroute", "notify_customer", "none")
NOT_YET = (
    "The risk models have not scored this snapshot yet (no {tables} in it). Run `omsi train` "
    "to train them, then `omsi run` to score the open orders and publish the snapshot; the "
    "page shows them after the next publish."
)

version, filters = parts.open_page(
    "Risk",
    "What is about to go wrong: calibrated P(late) for every open order, from the delivery "
    "risk model. The period filter does not apply (open orders are about now).",
    (),
)
try:
    missing = q.ml_missing(version, (*q.DELIVERY_RISK_TABLES, "dim_order_filters"))
    if missing:
        st.info(
            NOT_YET.format(tables=", ".join(f"`{t}`" for t in missing)),
            icon=":material/model_training:",
        )
        st.stop()
    distribution = q.risk_distribution(version, filters)
    nodes = q.node_risk_scores(version, filters)
    a, b, c = st.columns(3)
    open_orders = int(distribution["open_orders"].sum())
    parts.tile(a, "Open orders scored", open_orders, "count", "Open orders with a risk score.")
    parts.tile(
        b,
        "Expected late orders",
        nodes["expected_late_orders"].sum(),
        "currency",
        "Sum of P(late) over the open orders: how many will miss their promise if nothing is done.",
    )
    parts.tile(
        c,
        "Orders with a suggested action",
        nodes["orders_with_action"].sum(),
        "count",
        "Open orders whose suggested action is expedite, reroute or notify the customer.",
    )

    st.subheader("Delivery-risk distribution")
    st.bar_chart(distribution, x="p_late_band", y="open_orders", x_label="P(late), 5-point bands")

    st.subheader("The riskiest open orders")
    st.caption(
        "**Factors** are the three features that moved the order's score most; "
        "**contribution** is each one's signed push in logit units (positive: riskier)."
    )
    drill.drill_down(
        version,
        filters,
        drill.OPEN_ORDER_RISK,
        [
            drill.Picker("suggested_action", "Suggested action", ACTIONS, "action",
                         every="any action"),
            drill.Picker("node_id", "Node", nodes["node_id"].tolist(), "risk_node",
                         every="every node"),
            drill.Picker("p_late_band", "P(late) band", distribution["p_late_band"].tolist(),
                         "band", every="every band"),
        ],
        "riskiest orders",
        list_all=True,
        column_config={"p_late": parts.percent("P(late)")},
    )  # fmt: skip

    st.subheader("Node scores as sent to routing")
    parts.table(nodes, "node risk scores", {"mean_p_late": parts.percent("Mean P(late)")})

    st.subheader("Model metrics against baselines")
    for model in ("delivery", "inventory"):
        metrics = q.model_metrics(version, model)
        if metrics.empty:
            st.caption(f"No metrics for the {model} model yet.")
            continue
        wide = metrics.pivot_table(index="metric", columns="scorer", values="value").reset_index()
        st.markdown(f"**{model.capitalize()}** model `{metrics['model_version'].iloc[0]}`")
        parts.table(wide, f"{model} model metrics")

    st.subheader("Calibration (reliability diagram)")
    bands = q.reliability(version)
    diagonal = pd.DataFrame({"mean_predicted": [0.0, 1.0], "observed": [0.0, 1.0]})
    st.altair_chart(
        alt.Chart(diagonal)
        .mark_line(strokeDash=[4, 4], color="grey")
        .encode(
            x=alt.X("mean_predicted:Q", title="Predicted P(late)"),
            y=alt.Y("observed:Q", title="Observed late rate"),
        )
        + alt.Chart(bands)
        .mark_line(point=True)
        .encode(x="mean_predicted:Q", y="observed:Q", tooltip=["band", "orders", "observed"])
    )
    st.caption("On the dashed diagonal, P(late) = 0.3 means 30 in 100 such orders were late.")
    parts.table(bands, "reliability")
    drill.drill_down(
        version,
        filters,
        drill.BACKTEST,
        [drill.Picker("band", "Predicted band", bands["band"].tolist(), "reliability_band")],
        "backtest orders",
    )

    st.subheader("Drift")
    if q.ml_missing(version, q.DRIFT_TABLES):
        st.info("No `feature_drift` table in this snapshot yet: run `omsi run`.")
    else:
        drift = q.feature_drift(version)
        drifting = int(drift["is_drifting"].sum())
        st.caption(
            f"{drifting} of {len(drift)} features drift (PSI > 0.2) against the training data."
        )
        parts.table(drift, "feature drift")
except SnapshotError as error:
    st.error(str(error))
