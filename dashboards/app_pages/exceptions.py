"""Exceptions: the live queue of open SLA breaches, most severe and oldest first."""

import streamlit as st

from dashboards import drill
from dashboards import mart_queries as q
from dashboards import page_parts as parts
from dashboards.snapshot import SnapshotError

version, filters = parts.open_page(
    "Exceptions",
    "Every SLA breach still open at the snapshot's as-of instant. The queue is about now, so "
    "the period filter does not apply; channel, method, node type and region do.",
    q.EXCEPTION_TABLES,
)
try:
    summary = q.exception_summary(version, filters)
    if summary.empty:
        st.success("The queue is empty: no open breach in this selection.")
        st.stop()
    by_severity = summary.groupby("severity", sort=False)["open_exceptions"].sum()
    columns = st.columns(4)
    parts.tile(columns[0], "Open breaches", summary["open_exceptions"].sum(), "count", "Open now.")
    for column, severity in zip(columns[1:], ("high", "medium", "low"), strict=True):
        parts.tile(
            column,
            f"{severity.capitalize()} severity",
            int(by_severity.get(severity, 0)),
            "count",
            "High: a broken promise, a lost or damaged parcel, or open over 48 h; medium: "
            "other open breaches; low: the rest.",
        )
    st.subheader("Open breaches by type and severity")
    st.bar_chart(
        summary, x="exception_type", y="open_exceptions", color="severity", horizontal=True,
        x_label="",
    )  # fmt: skip
    parts.table(
        summary,
        "open breaches by type",
        {
            "oldest_age_hours": parts.number("Oldest (h)", "%.1f"),
            "mean_age_hours": parts.number("Mean age (h)", "%.1f"),
        },
    )
    st.subheader("The queue")
    st.caption(
        "**Rank** 1 is the first to work on (severity, then age); **age** runs from the breach "
        "to the as-of instant; **order id** is the order behind it."
    )
    drill.drill_down(
        version,
        filters,
        drill.EXCEPTIONS,
        [
            drill.Picker("exception_type", "Type", summary["exception_type"].unique().tolist(),
                         "type", every="every type"),
            drill.Picker("severity", "Severity", summary["severity"].unique().tolist(),
                         "severity", every="every severity"),
        ],
        "exception queue",
        list_all=True,
        column_config={"age_hours": parts.number("Age (h)", "%.1f")},
    )  # fmt: skip
except SnapshotError as error:
    st.error(str(error))
