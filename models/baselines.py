"""The honest baselines a model must beat, fitted on the same training rows it was.

A baseline is what a planner would do without a model: rank by one or two columns a retailer
already watches. Each one turns its ranking into a probability with what the training window
saw, so that calibration metrics compare like with like.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from models.features import as_float


@dataclass
class BucketRate:
    """The training window's label rate per value of one column (numbers clipped to a range)."""

    column: str
    clip: tuple[float, float] | None = None
    rates: dict[str, float] = field(default_factory=dict)
    prior: float = 0.0

    def _keys(self, frame: pd.DataFrame) -> pd.Series:
        values = frame[self.column]
        if self.clip is not None:
            values = pd.Series(np.round(as_float(values)), index=frame.index).clip(*self.clip)
        return values.astype(object).where(values.notna(), "missing").astype(str)

    def fit(self, frame: pd.DataFrame, y: np.ndarray) -> BucketRate:
        keys = self._keys(frame)
        self.prior = float(np.mean(y))
        grouped = pd.DataFrame({"key": keys.to_numpy(), "y": y}).groupby("key")["y"]
        # A few rows of smoothing towards the overall rate keeps rare buckets from 0 or 1.
        smoothing = 10.0
        stats = grouped.agg(["sum", "count"])
        self.rates = {
            str(k): float((row["sum"] + smoothing * self.prior) / (row["count"] + smoothing))
            for k, row in stats.iterrows()
        }
        return self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        keys = self._keys(frame)
        return keys.map(self.rates).fillna(self.prior).to_numpy(dtype=np.float64)


@dataclass
class LogisticOn:
    """A logistic regression on a few numeric columns and one-hot categories."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...] = ()
    log_numeric: bool = False
    model: LogisticRegression | None = None
    medians: dict[str, float] = field(default_factory=dict)
    levels: dict[str, list[str]] = field(default_factory=dict)

    def _matrix(self, frame: pd.DataFrame) -> np.ndarray:
        parts = []
        for column in self.numeric:
            values = as_float(frame[column])
            values = np.where(np.isnan(values), self.medians[column], values)
            parts.append(np.log1p(np.maximum(values, 0)) if self.log_numeric else values)
        for column in self.categorical:
            text = frame[column].astype(object).astype(str).to_numpy()
            parts.extend((text == level).astype(np.float64) for level in self.levels[column])
        return np.column_stack(parts)

    def fit(self, frame: pd.DataFrame, y: np.ndarray) -> LogisticOn:
        self.medians = {c: float(np.nanmedian(as_float(frame[c]))) for c in self.numeric}
        self.medians = {c: (0.0 if np.isnan(v) else v) for c, v in self.medians.items()}
        self.levels = {
            c: sorted(frame[c].astype(object).astype(str).unique()) for c in self.categorical
        }
        self.model = LogisticRegression(max_iter=1000).fit(self._matrix(frame), y)
        return self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return self.model.predict_proba(self._matrix(frame))[:, 1]


def baselines_for(model: str) -> dict[str, BucketRate | LogisticOn]:
    """Fresh, unfitted baselines of a model, by the name the card and metrics use."""
    if model == "delivery":
        return {
            # The planner's rule: the less slack the plan leaves before the promise, the riskier.
            "promise_slack": BucketRate("planned_slack_days", clip=(-3, 6)),
            "logistic_slack_service": LogisticOn(("planned_slack_days",), ("service_level",)),
        }
    if model == "inventory":
        return {
            "days_since_count": LogisticOn(("days_since_count",), log_numeric=True),
            "abc_class": BucketRate("abc_class"),
        }
    raise ValueError(f"unknown model {model!r}: expected delivery or inventory")
