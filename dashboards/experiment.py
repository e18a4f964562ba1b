"""The closed-loop experiment on the Fulfilment and routing page: the latest `omsi experiment`'s
relative changes with their 95% intervals, and each branch's node mix. A measurement on a
simulated world (docs/closed-loop.md); the shadow replay beside it is a model's estimate."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from dashboards import page_parts as parts
from dashboards.queries import frame, missing_tables
from dashboards.snapshot import SnapshotVersion

TABLES = ("experiment_results", "experiment_node_mix")
NOT_YET = (
    "No closed-loop experiment in this snapshot. `omsi experiment` runs one simulated world "
    "twice (the OMS's routing, and routing that reads the feed) and keeps its result here; "
    "see docs/closed-loop.md."
)


def latest_results(version: SnapshotVersion) -> pd.DataFrame:
    """The most recent experiment's metrics, one row each."""
    return frame(
        version,
        """
        select experiment, run_at, metric, control, treatment, relative_change, ci_low, ci_high,
        from experiment_results
        where run_at = (select max(run_at) from experiment_results)
        order by metric
        """,
        {},
    )


def node_mix(version: SnapshotVersion, experiment: str) -> pd.DataFrame:
    return frame(
        version,
        """
        select branch, node_type, share from experiment_node_mix
        where experiment = $experiment order by branch, node_type
        """,
        {"experiment": experiment},
    )


def section(version: SnapshotVersion) -> None:
    st.subheader("Closed-loop experiment")
    if missing_tables(version, TABLES):
        st.info(NOT_YET, icon=":material/science:")
        return
    results = latest_results(version)
    experiment = results["experiment"].iloc[0]
    st.caption(
        f"`{experiment}`, run {results['run_at'].iloc[0]:%Y-%m-%d %H:%M} UTC: the same simulated "
        "orders under the OMS's routing (control) and routing that reads the feed (treatment), "
        "each measured from its own marts. Bars: relative change, treatment against control; "
        "lines: the 95% paired-bootstrap interval. An interval that crosses zero means this "
        "world cannot tell. A measurement, not a model's estimate."
    )
    results = results.assign(
        excludes_zero=(results["ci_low"] > 0) | (results["ci_high"] < 0),
    )
    bars = (
        alt.Chart(results)
        .mark_bar()
        .encode(
            y=alt.Y("metric:N", title=None, sort=None),
            x=alt.X("relative_change:Q", title="Relative change", axis=alt.Axis(format="%")),
            color=alt.Color("excludes_zero:N", title="Interval excludes 0"),
            tooltip=["metric", "control", "treatment", "relative_change", "ci_low", "ci_high"],
        )
    )
    whiskers = (
        alt.Chart(results)
        .mark_rule(color="black")
        .encode(y="metric:N", x="ci_low:Q", x2="ci_high:Q")
    )
    st.altair_chart(bars + whiskers, use_container_width=True)
    parts.table(
        results.drop(columns=["experiment", "run_at", "excludes_zero"]),
        "experiment metrics",
        {
            "relative_change": parts.percent("Change"),
            "ci_low": parts.percent("95% low"),
            "ci_high": parts.percent("95% high"),
        },
    )
    mix = node_mix(version, experiment).pivot_table(
        index="node_type", columns="branch", values="share"
    )
    st.markdown("**Shipments by node type**")
    parts.table(
        mix.reset_index(),
        "experiment node mix",
        {"control": parts.percent("Control"), "treatment": parts.percent("Treatment")},
    )
