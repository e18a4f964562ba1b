"""Overview: the headline KPIs over a period, their trend, and every KPI with its definition."""

from datetime import date

import pandas as pd
import streamlit as st

from dashboards import queries
from dashboards.kpis import (
    DIMENSION_LABELS,
    HEADLINE_KPIS,
    default_period,
    format_change,
    format_value,
    metric_delta,
)
from dashboards.page_parts import table
from dashboards.shell import require_snapshot
from dashboards.snapshot import SnapshotError, SnapshotVersion

MARTS_MISSING = (
    "The KPI marts have not been built into this snapshot yet. Run `omsi run`: it builds the "
    "dbt marts (`kpi_daily`, `kpi_definitions`) and republishes the snapshot."
)
TILES_PER_ROW = 4
# Filter widgets are bound to these query parameters, so a view can be shared as a link.
DIMENSION_KEYS = {"channel": "channel", "fulfillment_method": "method", "node_type": "node"}
RATIO_HOW = (
    "Every figure is sum(numerator) / sum(denominator) over the selected days and filter values, "
    "never an average of daily figures, so busy days weigh more; hours, days and money are means "
    "per order (or line, count, return) the same way."
)


def _as_date(value: object) -> date:
    return pd.Timestamp(value).date()


def _filters(bounds: pd.Series) -> queries.KpiSelection:
    first, last = _as_date(bounds["first_date"]), _as_date(bounds["last_date"])
    with st.sidebar:
        st.subheader("Filters")
        period = st.date_input(
            "Period",
            value=default_period(first, last),
            min_value=first,
            max_value=last,
            key="period",
            bind="query-params",
            help=f"KPI days from {first:%Y-%m-%d} to {last:%Y-%m-%d} are in the snapshot; the "
            "tiles compare with the period of the same length just before.",
        )
        chosen = {}
        for dimension, key in DIMENSION_KEYS.items():
            label = DIMENSION_LABELS[dimension]
            chosen[dimension] = st.multiselect(
                label.capitalize(),
                list(bounds[dimension]),
                key=key,
                bind="query-params",
                placeholder=f"Every {label}",
                help=f"Leave empty for every {label}. KPIs that are not split by {label} are "
                f"shown for every {label} whatever is chosen here, and the page says which.",
            )
    # While a range is being picked the widget holds only its first day.
    start, end = (period[0], period[-1]) if period else default_period(first, last)
    return queries.KpiSelection(start, end, **{d: tuple(v) for d, v in chosen.items()})


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _not_split_by(row: pd.Series, selection: queries.KpiSelection) -> list[str]:
    """The filtered dimensions this KPI has no values for, so the filter left it whole."""
    return [
        label
        for dimension, label in DIMENSION_LABELS.items()
        if getattr(selection, dimension) and not row[f"by_{dimension}"]
    ]


def _unfiltered_note(summary: pd.DataFrame, selection: queries.KpiSelection) -> None:
    lines = []
    for dimension, label in DIMENSION_LABELS.items():
        if not getattr(selection, dimension):
            continue
        whole = summary.loc[~summary[f"by_{dimension}"], "label"].tolist()
        if whole:
            lines.append(f"- not split by {label}, shown for every {label}: {', '.join(whole)}")
    if lines:
        st.info(
            "Some KPIs have no such dimension, so the filters leave them whole:\n"
            + "\n".join(lines),
            icon=":material/filter_alt_off:",
        )


def _help(row: pd.Series, selection: queries.KpiSelection) -> str:
    parts = [row["definition"] if isinstance(row["definition"], str) else "No definition yet."]
    if pd.notna(row["denominator"]):
        days = int(row["days"])
        parts.append(
            f"Over the period: {_number(row['numerator'])} / {_number(row['denominator'])} "
            f"from {days} day{'s' if days != 1 else ''} with data."
        )
    else:
        parts.append("No data in the period for this selection.")
    whole = _not_split_by(row, selection)
    if whole:
        parts.append(f"Not split by {' or '.join(whole)}: shown unfiltered by it.")
    if isinstance(row["reference"], str):
        parts.append(f"Reference: {row['reference']}.")
    return "\n\n".join(parts)


def _tiles(summary: pd.DataFrame, selection: queries.KpiSelection) -> None:
    rows = summary.set_index("kpi")
    headline = [kpi for kpi in HEADLINE_KPIS if kpi in rows.index]
    if not headline:
        st.info("None of the headline KPIs is in this snapshot; all KPIs are in the table below.")
        return
    days = (selection.end - selection.start).days + 1
    for start in range(0, len(headline), TILES_PER_ROW):
        columns = st.columns(TILES_PER_ROW)
        for column, kpi in zip(columns, headline[start : start + TILES_PER_ROW], strict=False):
            row = rows.loc[kpi]
            delta = metric_delta(
                row["value"], row["previous_value"], row["unit"], row["higher_is_better"]
            )
            column.metric(
                row["label"],
                format_value(row["value"], row["unit"]),
                help=_help(row, selection),
                border=True,
                delta_description=f"vs previous {days} days" if delta["delta"] else None,
                **delta,
            )


def _trend(
    version: SnapshotVersion, summary: pd.DataFrame, selection: queries.KpiSelection
) -> None:
    st.subheader("Trend")
    rows = summary.set_index("kpi")
    options = [k for k in HEADLINE_KPIS if k in rows.index]
    options += [k for k in rows.index if k not in options]
    left, right = st.columns([3, 1])
    kpi = left.selectbox(
        "KPI",
        options,
        format_func=lambda k: rows.loc[k, "label"],
        key="kpi",
        bind="query-params",
    )
    grain = right.segmented_control(
        "Per",
        ["day", "week"],
        default="day",
        required=True,
        key="grain",
        bind="query-params",
    )
    trend = queries.kpi_rollup(version, selection, grain, [kpi])
    row = rows.loc[kpi]
    ratio = row["unit"] == "ratio"
    chart = pd.DataFrame(
        {
            "bucket": trend["bucket"],
            "value": trend["value"] * (100 if ratio else 1),
        }
    )
    unit = {"ratio": "%", "hours": "hours", "days": "days"}.get(row["unit"], "")
    st.line_chart(chart, x="bucket", y="value", x_label="", y_label=f"{row['label']} {unit}")
    st.caption(
        f"**{row['label']}** per {grain}: sum(numerator) / sum(denominator) of the {grain}'s "
        "rows in the filters, not an average of daily values."
        + (
            " Weeks start on Monday; the first and last may hold fewer days."
            if grain == "week"
            else ""
        )
    )
    daily = queries.kpi_rows(version, selection, kpi)
    st.caption(
        f"The {len(daily):,} rows of `kpi_daily` (day × channel × method × node type) that "
        f"**{row['label']}** over the period adds up: sum(numerator) / sum(denominator)."
    )
    table(daily, f"{kpi} daily rows")


def _table(summary: pd.DataFrame, selection: queries.KpiSelection) -> None:
    st.subheader("All KPIs")
    st.caption(
        "**Value** = the KPI over the period; **previous** = over the period of the same length "
        "just before; **numerator** and **denominator** = what the value divides. " + RATIO_HOW
    )
    table = pd.DataFrame(
        {
            "label": summary["label"],
            "value": [
                format_value(v, u) for v, u in zip(summary["value"], summary["unit"], strict=True)
            ],
            "previous": [
                format_value(v, u)
                for v, u in zip(summary["previous_value"], summary["unit"], strict=True)
            ],
            "change": [
                format_change(c, p, u) or ""
                for c, p, u in zip(
                    summary["value"], summary["previous_value"], summary["unit"], strict=True
                )
            ],
            "definition": summary["definition"],
            "numerator": summary["numerator"],
            "denominator": summary["denominator"],
            "not_split_by": [
                ", ".join(_not_split_by(row, selection)) for _, row in summary.iterrows()
            ],
            "reference": summary["reference"],
            "kpi": summary["kpi"],
        }
    )
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            "label": st.column_config.TextColumn("KPI"),
            "value": st.column_config.TextColumn("Value"),
            "previous": st.column_config.TextColumn("Previous"),
            "change": st.column_config.TextColumn("Change", help="Ratios change in points (pp)"),
            "definition": st.column_config.TextColumn("Definition", width="large"),
            "numerator": st.column_config.NumberColumn("Numerator", format="localized"),
            "denominator": st.column_config.NumberColumn("Denominator", format="localized"),
            "not_split_by": st.column_config.TextColumn(
                "Unfiltered by", help="Filters that do not apply: the KPI has no such dimension"
            ),
            "reference": st.column_config.TextColumn("Reference"),
            "kpi": st.column_config.TextColumn("Name", help="The KPI's name in kpi_daily"),
        },
    )


st.title("Overview")
st.caption("Order management KPIs over a period, compared with the period before. " + RATIO_HOW)
snapshot = require_snapshot(queries.KPI_TABLES, missing_hint=MARTS_MISSING)
try:
    bounds = queries.kpi_bounds(snapshot)
    if pd.isna(bounds["first_date"]):
        st.info(
            "The KPI mart `kpi_daily` is empty: no orders have been built yet. Land events in "
            "`$OMSI_HOME/landing/` and run `omsi run`.",
            icon=":material/hourglass_empty:",
        )
        st.stop()
    selection = _filters(bounds)
    summary = queries.kpi_summary(snapshot, selection)
    if queries.missing_tables(snapshot, ["kpi_definitions"]):
        st.warning(
            "This snapshot has no `kpi_definitions` table, so KPIs show without labels, units or "
            "definitions. Rebuild it with `omsi run`."
        )
    if summary.empty:
        st.info("No KPI has data for this period and these filters.")
        st.stop()
    _unfiltered_note(summary, selection)
    _tiles(summary, selection)
    _trend(snapshot, summary, selection)
    _table(summary, selection)
except SnapshotError as error:
    st.error(str(error))
