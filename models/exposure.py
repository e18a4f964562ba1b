"""From the moment of a count to now: how long a stock record has been drifting.

The inventory model learns from cycle counts, and counts come on a schedule: a record is counted
when its class's interval (30, 60, 90 days...) has passed, so every training row has about the
same time since its last count, and the model cannot learn from them what a shorter time means.
A record counted a week ago is scored now, though, and it has had a week to drift, not a whole
interval. So the current records are scored in two steps:

1. the model's P(wrong) of the record at a count after its usual interval `T` (the median time
   between counts of its ABC class at its node type, learnt from the training counts);
2. carried to the time `t` the record has actually drifted, with a constant daily chance of going
   wrong (shrink, damage and mis-scans arrive one by one): P(t) = 1 - (1 - P(T)) ** (t / T).

A record never counted has drifted for at least one interval (`t` is at least `T`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

GROUP = ("abc_class", "node_type")
# Fewer repeat counts than this in a group fall back to the interval over all groups.
MIN_COUNTS = 20


@dataclass
class CountIntervals:
    overall: float
    by_group: dict[str, float]  # "abc_class|node_type" -> median days between counts

    @classmethod
    def learn(cls, counts: pd.DataFrame) -> CountIntervals | None:
        repeat = counts[counts["has_previous_count"].astype(bool)]
        days = pd.to_numeric(repeat["days_since_count"], errors="coerce")
        repeat = repeat.assign(days=days)[days > 0]
        if repeat.empty:
            return None
        by_group = {}
        for key, group in repeat.groupby(list(GROUP), dropna=False):
            if len(group) >= MIN_COUNTS:
                by_group[_key(*key)] = float(group["days"].median())
        return cls(float(repeat["days"].median()), by_group)

    def of(self, frame: pd.DataFrame) -> np.ndarray:
        keys = [_key(*row) for row in frame[list(GROUP)].itertuples(index=False)]
        return np.array([self.by_group.get(key, self.overall) for key in keys], dtype=np.float64)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> CountIntervals | None:
        return cls(**data) if data else None


def _key(abc_class: object, node_type: object) -> str:
    return f"{abc_class}|{node_type}"


def at_exposure(p_at_interval: np.ndarray, interval: np.ndarray, days: np.ndarray) -> np.ndarray:
    """P(wrong) after `days` of drift, from P(wrong) after `interval` days at a constant hazard."""
    survive = np.clip(1.0 - np.asarray(p_at_interval, dtype=np.float64), 0.0, 1.0)
    return 1.0 - survive ** (np.asarray(days, dtype=np.float64) / interval)
