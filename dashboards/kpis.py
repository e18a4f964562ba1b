"""How KPIs read on screen: the headline set, number formats by unit and period-over-period deltas.

Pure functions over the values `queries.kpi_summary` returns, so they are tested without Streamlit.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import pandas as pd

# The tiles at the top of the Overview page, in this order; KPIs the snapshot lacks are left out.
HEADLINE_KPIS = (
    "on_time_rate",
    "otif_rate",
    "cancellation_rate",
    "split_shipment_rate",
    "inventory_record_accuracy",
    "cost_to_serve_pct_revenue",
    "return_rate_units",
    "wismo_rate",
)

# How many days the Overview shows when the link names no period: the last four weeks of data.
DEFAULT_DAYS = 28

DIMENSION_LABELS = {
    "channel": "channel",
    "fulfillment_method": "fulfillment method",
    "node_type": "node type",
}

# unit: (scale, decimals, suffix of a value, suffix of a change). Ratio changes are in points.
_UNITS = {
    "ratio": (100, 1, "%", " pp"),
    "hours": (1, 1, " h", " h"),
    "days": (1, 1, " days", " days"),
    "currency": (1, 2, "", ""),
}
_UNKNOWN_UNIT = (1, 3, "", "")


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def format_value(value: float | None, unit: str | None) -> str:
    """A KPI value as shown: ratio as %, hours and days with one decimal, currency with two."""
    if _missing(value):
        return "–"
    scale, decimals, suffix, _ = _UNITS.get(unit or "", _UNKNOWN_UNIT)
    return f"{value * scale:,.{decimals}f}{suffix}"


def format_change(current: float | None, previous: float | None, unit: str | None) -> str | None:
    """The change from `previous` to `current` as shown; None when either is missing."""
    if _missing(current) or _missing(previous):
        return None
    scale, decimals, _, suffix = _UNITS.get(unit or "", _UNKNOWN_UNIT)
    change = round((current - previous) * scale, decimals)
    return f"{change:+,.{decimals}f}{suffix}" if change else f"{0:.{decimals}f}{suffix}"


def metric_delta(
    current: float | None, previous: float | None, unit: str | None, higher_is_better: object
) -> dict[str, object]:
    """`st.metric` keyword arguments for a change: green in the good direction, red in the bad.

    A change that rounds to nothing is grey without an arrow (Streamlit would colour the text
    '-0.0' red); with no known direction the change is grey.
    """
    text = format_change(current, previous, unit)
    if text is None:
        return {"delta": None}
    if not text.startswith(("+", "-")):
        return {"delta": text, "delta_color": "off", "delta_arrow": "off"}
    if _missing(higher_is_better):
        return {"delta": text, "delta_color": "off"}
    return {"delta": text, "delta_color": "normal" if bool(higher_is_better) else "inverse"}


def default_period(first: date, last: date, days: int = DEFAULT_DAYS) -> tuple[date, date]:
    """The last `days` days of data, or its later half when it holds fewer than twice that.

    Halving keeps a previous period of the same length in the data, so the tiles have deltas.
    """
    span = (last - first).days + 1
    days = min(days, max(span // 2, 1))
    return last - timedelta(days=days - 1), last
