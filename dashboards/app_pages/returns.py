"""Returns: return rate by category and reason, what happened to the goods, refund cycle time."""

import streamlit as st

from dashboards import drill
from dashboards import mart_queries as q
from dashboards import page_parts as parts
from dashboards.snapshot import SnapshotError

version, filters = parts.open_page(
    "Returns",
    "Returns of the orders placed in the period, however late they came back: a return "
    "counts against the order it came from.",
    q.RETURN_TABLES,
)
try:
    known = parts.definitions(version)
    categories = q.returns_by_category(version, filters)
    reasons = q.returns_by(version, filters, "return_reason")
    sold, returned = categories["units_sold"].sum(), categories["units_returned"].sum()
    a, b, c = st.columns(3)
    parts.tile(
        a,
        "Return rate (units)",
        parts.ratio(returned, sold),
        "ratio",
        f"{returned:,} units returned of {sold:,} shipped.",
        "return_rate_units",
        known,
    )
    parts.tile(b, "Returned lines", reasons["returned_lines"].sum(), "count", "Lines returned.")
    cycle = q.returns_by(version, filters, "disposition")
    parts.tile(
        c,
        "Refund cycle time (mean)",
        q.refund_cycle_days(version, filters),
        "days",
        "Mean days from the return received to the refund issued, over refunded lines.",
        "refund_cycle_time_days",
        known,
    )

    st.subheader("Return rate by category")
    st.bar_chart(categories, x="category", y="return_rate_units", x_label="", y_label="Returned")
    parts.table(
        categories,
        "returns by category",
        {
            "return_rate_units": parts.percent("Rate (units)"),
            "return_rate_value": parts.percent("Rate (value)"),
        },
    )

    st.subheader("By reason")
    st.bar_chart(reasons, x="return_reason", y="units_returned", horizontal=True, x_label="")
    parts.table(
        reasons,
        "returns by reason",
        {"mean_refund_cycle_days": parts.number("Refund cycle (days)", "%.1f")},
    )

    st.subheader("Dispositions")
    st.bar_chart(cycle, x="disposition", y="units_returned", x_label="")
    parts.table(
        cycle,
        "returns by disposition",
        {"mean_refund_cycle_days": parts.number("Refund cycle (days)", "%.1f")},
    )

    st.subheader("Returned lines")
    drill.drill_down(
        version,
        filters,
        drill.RETURNS,
        [
            drill.Picker("category", "Category", categories["category"].tolist(), "return_category",
                         every="every category"),
            drill.Picker("return_reason", "Reason", reasons["return_reason"].tolist(),
                         "return_reason", every="every reason"),
            drill.Picker("disposition", "Disposition", cycle["disposition"].tolist(),
                         "disposition", every="every disposition"),
        ],
        "returned lines",
        list_all=True,
    )  # fmt: skip
except SnapshotError as error:
    st.error(str(error))
