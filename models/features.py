"""What each model reads: its feature table, key, clock, label and the features by kind.

The feature tables are dbt models (`dbt_project/models/ml/`) built point in time; this module
only names their columns and turns a frame of them into the numeric matrix the estimators take.
Categories are encoded here, explicitly, from a vocabulary learnt on the training rows: pandas
string columns never reach scikit-learn, and a category never seen in training is missing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# HistGradientBoosting takes at most 255 categories per feature (its bins); the rest of a long
# tail (a marketplace's thousands of sellers) is one "other" code.
MAX_CATEGORIES = 250
OTHER = "__other__"


@dataclass(frozen=True)
class FeatureSpec:
    model: str
    table: str
    key: str
    time_column: str
    label: str
    categorical: tuple[str, ...]
    numeric: tuple[str, ...]
    # Named groups of features that an explanation reports as one factor.
    factors: dict[str, tuple[str, ...]]

    @property
    def features(self) -> tuple[str, ...]:
        return self.categorical + self.numeric


DELIVERY = FeatureSpec(
    model="delivery",
    table="ml.ml_delivery_features",
    key="order_id",
    time_column="cutoff_at",
    label="is_late",
    categorical=(
        "channel",
        "fulfillment_method",
        "ship_to_region",
        "node_id",
        "node_type",
        "carrier",
        "service_level",
    ),
    numeric=(
        "is_from_pickup_store",
        "hours_to_promise",
        "hours_placed_to_allocated",
        "hours_to_planned_ship",
        "carrier_transit_days",
        "planned_slack_days",
        "distance_km",
        "line_count",
        "units_ordered",
        "order_value",
        "weight_kg",
        "nodes_at_allocation",
        "is_split_at_allocation",
        "estimated_ship_cost",
        "cutoff_weekday",
        "cutoff_hour",
        "demand_ratio",
        "node_deliveries_trailing",
        "node_late_rate",
        "node_rejection_rate",
        "node_deliveries_before",
        "node_late_rate_before",
        "lane_extra_transit_days",
        "lane_deliveries_trailing",
        "carrier_deliveries_trailing",
        "carrier_late_rate",
        "node_backlog_units",
        "node_backlog_days",
        "region_recent_exceptions",
        "carrier_recent_exceptions",
        "area_weather_exceptions_24h",
        "area_weather_exceptions_48h",
        "area_weather_exceptions_72h",
        "hours_since_area_weather_exception",
        "carrier_delayed_exception_share",
        "area_late_delivery_share",
    ),
    factors={
        "promise_slack": (
            "hours_to_promise",
            "hours_to_planned_ship",
            "carrier_transit_days",
            "planned_slack_days",
            "service_level",
        ),
        "distance": (
            "distance_km",
            "ship_to_region",
            "lane_extra_transit_days",
            "lane_deliveries_trailing",
        ),
        "node": (
            "node_id",
            "node_type",
            "node_late_rate",
            "node_rejection_rate",
            "node_deliveries_trailing",
            "node_deliveries_before",
            "node_late_rate_before",
        ),
        "node_backlog": ("node_backlog_units", "node_backlog_days"),
        "carrier": ("carrier", "carrier_late_rate", "carrier_deliveries_trailing"),
        "disruption": (
            "region_recent_exceptions",
            "carrier_recent_exceptions",
            "area_weather_exceptions_24h",
            "area_weather_exceptions_48h",
            "area_weather_exceptions_72h",
            "hours_since_area_weather_exception",
            "carrier_delayed_exception_share",
            "area_late_delivery_share",
        ),
        "demand_peak": ("demand_ratio", "cutoff_weekday", "cutoff_hour"),
        "order_size": (
            "line_count",
            "units_ordered",
            "order_value",
            "weight_kg",
            "nodes_at_allocation",
            "is_split_at_allocation",
            "estimated_ship_cost",
        ),
        "channel": (
            "channel",
            "fulfillment_method",
            "is_from_pickup_store",
            "hours_placed_to_allocated",
        ),
    },
)

INVENTORY = FeatureSpec(
    model="inventory",
    table="ml.ml_inventory_features",
    key="observation_id",
    time_column="observed_at",
    label="is_inaccurate",
    categorical=("node_type", "category", "abc_class"),
    numeric=(
        "unit_price",
        "units_sold_per_day",
        "days_since_count",
        "has_previous_count",
        "previous_count_error_units",
        "previous_count_abs_error_units",
        "previous_count_was_accurate",
        "adjustments_since_count",
        "shrink_units_since_count",
        "units_sold_since_count",
        "corrections_since_count",
        "receipts_since_count",
        "restocks_since_count",
        "not_found_since_count",
        "on_hand",
        "empty_days_trailing",
    ),
    factors={
        "node_type": ("node_type",),
        "item": ("category", "abc_class", "unit_price"),
        "velocity": (
            "units_sold_per_day",
            "units_sold_since_count",
            "receipts_since_count",
            "restocks_since_count",
            "adjustments_since_count",
        ),
        "time_since_count": ("days_since_count", "has_previous_count"),
        "last_count": (
            "previous_count_error_units",
            "previous_count_abs_error_units",
            "previous_count_was_accurate",
            "corrections_since_count",
        ),
        "shrink": ("shrink_units_since_count", "not_found_since_count"),
        "stock_level": ("on_hand", "empty_days_trailing"),
    },
)

SPECS = {spec.model: spec for spec in (DELIVERY, INVENTORY)}

Vocabulary = dict[str, list[str]]


def learn_vocabulary(frame: pd.DataFrame, spec: FeatureSpec) -> Vocabulary:
    """Per categorical feature, its most frequent values in `frame` (ties by value)."""
    vocabulary: Vocabulary = {}
    for column in spec.categorical:
        counts = frame[column].dropna().astype(str).value_counts()
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        values = [value for value, _ in ranked[:MAX_CATEGORIES]]
        if len(ranked) > MAX_CATEGORIES:
            values.append(OTHER)
        vocabulary[column] = values
    return vocabulary


def encode(frame: pd.DataFrame, spec: FeatureSpec, vocabulary: Vocabulary) -> np.ndarray:
    """The float matrix of `spec.features`: category codes (missing or unseen: NaN), numbers."""
    columns = []
    for column in spec.categorical:
        values = vocabulary[column]
        text = frame[column].astype(object).where(frame[column].notna(), None)
        if OTHER in values:
            text = text.where(text.isna() | text.isin(values), OTHER)
        codes = pd.Categorical(text, categories=values).codes.astype(np.float64)
        codes[codes < 0] = np.nan
        columns.append(codes)
    for column in spec.numeric:
        columns.append(as_float(frame[column]))
    if not columns:
        return np.empty((len(frame), 0))
    return np.column_stack(columns)


def as_float(series: pd.Series) -> np.ndarray:
    # Nullable booleans and integers from DuckDB carry NA; the estimators take NaN.
    return (
        pd.to_numeric(series, errors="coerce")
        .astype("Float64")
        .to_numpy(dtype=np.float64, na_value=np.nan)
    )


def categorical_mask(spec: FeatureSpec) -> list[bool]:
    return [True] * len(spec.categorical) + [False] * len(spec.numeric)
