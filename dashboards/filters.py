"""The sidebar filters every analysis page shares, and the bound SQL condition they become.

Every dashboard mart (`dbt_project/models/marts/dashboards/`) carries the same five columns,
`report_date`, `channel`, `fulfillment_method`, `node_type` and `region`, so one condition
filters them all. The condition's text never contains a user's value: the values travel as
named parameters (`$start`, `$channel`, ...). Widgets are bound to query parameters, so the
URL of a view reproduces it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date

import pandas as pd

# Dimension column -> (query parameter, label). The names differ from the Overview's (period,
# channel, method, node): widgets with one key on two pages share session state, and a value
# the Overview chose outside this page's bounds would be shown here but not applied.
DIMENSIONS = {
    "channel": ("channels", "channel"),
    "fulfillment_method": ("methods", "fulfilment method"),
    "node_type": ("nodes", "node type"),
    "region": ("regions", "region"),
}
PERIOD_PARAM = "dates"


@dataclass(frozen=True)
class Filters:
    """A period (both ends included) and the dimension values kept; empty keeps every value."""

    start: date
    end: date
    channel: tuple[str, ...] = ()
    fulfillment_method: tuple[str, ...] = ()
    node_type: tuple[str, ...] = ()
    region: tuple[str, ...] = ()

    def where(
        self,
        dimensions: Sequence[str] = tuple(DIMENSIONS),
        date_column: str | None = "report_date",
        prefix: str = "",
    ) -> tuple[str, dict[str, object]]:
        """A SQL condition over a dashboard mart's columns and its named parameters.

        `dimensions` are the filter columns the mart has; `date_column=None` leaves the period
        out (a live queue is about now, not a period). `prefix` qualifies the columns (`o.`).
        Only the parameters the condition uses are returned: DuckDB rejects extra ones.
        """
        parts, params = [], {}
        if date_column is not None:
            parts.append(f"{prefix}{date_column} between $start::date and $end::date")
            params |= {"start": self.start, "end": self.end}
        for field in fields(self):
            if field.name in DIMENSIONS and field.name in dimensions:
                d = field.name
                parts.append(f"(${d}::varchar[] is null or list_contains(${d}, {prefix}{d}))")
                params[d] = list(getattr(self, d)) or None
        return (" and ".join(parts) or "true"), params


def default_period(first: date, last: date, days: int = 28) -> tuple[date, date]:
    """The last `days` days of data (all of it when it holds fewer)."""
    start = max(first, last - pd.Timedelta(days=days - 1).to_pytimedelta())
    return start, last


def sidebar(bounds: pd.Series) -> Filters:
    """Draw the shared filters (bound to the URL) and return what they select.

    `bounds` holds `first_date`, `last_date` and one list of values per dimension.
    """
    import streamlit as st

    first = pd.Timestamp(bounds["first_date"]).date()
    last = pd.Timestamp(bounds["last_date"]).date()
    with st.sidebar:
        st.subheader("Filters")
        period = st.date_input(
            "Period (order placed)",
            value=default_period(first, last),
            min_value=first,
            max_value=last,
            key=PERIOD_PARAM,
            bind="query-params",
            help=f"Days from {first:%Y-%m-%d} to {last:%Y-%m-%d} are in the snapshot. Orders "
            "count on the day they were placed; inventory counts on the day they were counted.",
        )
        chosen = {}
        for dimension, (key, label) in DIMENSIONS.items():
            chosen[dimension] = st.multiselect(
                label.capitalize(),
                list(bounds[dimension]),
                key=key,
                bind="query-params",
                placeholder=f"Every {label}",
                help=f"Leave empty for every {label}."
                + (
                    " Region is where the customer is (the pickup store's region for pickups); "
                    "it does not filter inventory counts and stock, which have no customer."
                    if dimension == "region"
                    else ""
                ),
            )
    # While a range is being picked the widget holds only its first day.
    start, end = (period[0], period[-1]) if period else default_period(first, last)
    return Filters(start, end, **{d: tuple(v) for d, v in chosen.items()})
