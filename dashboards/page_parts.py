"""Building blocks the analysis pages share: the page frame, tables with CSV downloads, KPI
tiles that carry their definition (drill-downs to the rows behind an aggregate: drill.py)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from dashboards import filters as page_filters
from dashboards import mart_queries, queries
from dashboards.kpis import format_value
from dashboards.shell import require_snapshot
from dashboards.snapshot import SnapshotVersion

MARTS_MISSING = (
    "Run `omsi run`: it builds the dashboard marts (dbt_project/models/marts/dashboards/) and "
    "republishes the snapshot."
)


def open_page(
    title: str, caption: str, tables: Sequence[str]
) -> tuple[SnapshotVersion, page_filters.Filters]:
    """Title, snapshot (or a message saying what to run) and the sidebar filters."""
    st.title(title)
    st.caption(caption)
    version = require_snapshot((*mart_queries.FILTER_TABLES, *tables), missing_hint=MARTS_MISSING)
    bounds = mart_queries.filter_bounds(version)
    if pd.isna(bounds["first_date"]):
        st.info(
            "No orders have been built yet. Land events in `$OMSI_HOME/landing/` and run "
            "`omsi run`.",
            icon=":material/hourglass_empty:",
        )
        st.stop()
    return version, page_filters.sidebar(bounds)


def definitions(version: SnapshotVersion) -> dict[str, str]:
    """kpi -> its definition (and reference) from the `kpi_definitions` seed."""
    table = queries.kpi_definitions(version)
    return {
        row.kpi: row.definition + (f" Reference: {row.reference}." if row.reference else "")
        for row in table.itertuples()
        if isinstance(row.definition, str)
    }


def ratio(numerator: float, denominator: float) -> float | None:
    return None if not denominator else numerator / denominator


def tile(
    column,
    label: str,
    value: float | None,
    unit: str,
    how: str,
    kpi: str | None = None,
    known: dict[str, str] | None = None,
    change: dict[str, object] | None = None,
) -> None:
    """A KPI tile whose help says how this page computed it and the seed's definition;
    `change` is `kpis.metric_delta`'s arguments for a delta under the value."""
    help_parts = [how]
    if kpi and known and kpi in known:
        help_parts.insert(0, f"**Definition** (`{kpi}`): {known[kpi]}")
    shown = (
        f"{int(value):,}" if unit == "count" and value is not None else format_value(value, unit)
    )
    column.metric(label, shown, help="\n\n".join(help_parts), border=True, **(change or {}))


def table(
    data: pd.DataFrame,
    name: str,
    column_config: dict[str, object] | None = None,
    height: int | None = None,
) -> None:
    """A table with a CSV download of exactly its rows."""
    st.dataframe(data, hide_index=True, column_config=column_config, height=height or "auto")
    st.download_button(
        f"Download {name} (CSV)",
        data.to_csv(index=False).encode(),
        file_name=f"{name.replace(' ', '_')}.csv",
        mime="text/csv",
        icon=":material/download:",
        key=f"download-{name}",
        on_click="ignore",
    )


def percent(column: str, help_text: str | None = None):
    return st.column_config.NumberColumn(column, format="percent", help=help_text)


def number(column: str, fmt: str = "localized", help_text: str | None = None):
    return st.column_config.NumberColumn(column, format=fmt, help=help_text)
