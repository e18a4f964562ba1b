"""How many units to hold back from a stock record so that a promise from it is kept.

A record promises `available_to_promise` units. It over-promises when the shelf holds fewer
than the record says. From the training counts we learn how large the shortfall is when a count
finds the record short beyond its tolerance; with the model's P(record wrong) for a record, the
buffer is the smallest number of units b with

    P(record wrong) x P(short | wrong) x P(shortfall > b | short) <= 1 - confidence,

so that a promise of ATP - b units is kept with that confidence.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

BUFFER_CONFIDENCE = 0.95
# Buffers above this many units are capped: a larger doubt calls for a count, not a buffer.
MAX_BUFFER_UNITS = 50


@dataclass
class ShortfallCurve:
    short_share: float  # of wrong records, the share the count found short (not over)
    survival: list[float]  # survival[b] = P(shortfall > b | short), b = 0 .. MAX_BUFFER_UNITS

    @classmethod
    def learn(cls, counts: pd.DataFrame) -> ShortfallCurve | None:
        wrong = counts[counts["is_inaccurate"].astype(bool)]
        if "count_error_units" not in counts or wrong.empty:
            return None
        errors = pd.to_numeric(wrong["count_error_units"], errors="coerce").dropna().to_numpy()
        shortfalls = -errors[errors < 0]
        if shortfalls.size == 0:
            return cls(0.0, [0.0] * (MAX_BUFFER_UNITS + 1))
        survival = [float(np.mean(shortfalls > b)) for b in range(MAX_BUFFER_UNITS + 1)]
        return cls(float(shortfalls.size / errors.size), survival)

    def buffer_units(
        self, p_wrong: np.ndarray, confidence: float = BUFFER_CONFIDENCE
    ) -> np.ndarray:
        """Per record, the smallest buffer that keeps a promise with `confidence`."""
        allowed = 1.0 - confidence
        miss = np.outer(np.asarray(p_wrong) * self.short_share, np.asarray(self.survival))
        enough = miss <= allowed
        # First b where the chance of a miss is small enough; the cap where none is.
        first = np.where(enough.any(axis=1), enough.argmax(axis=1), MAX_BUFFER_UNITS)
        return first.astype(np.int64)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> ShortfallCurve | None:
        return cls(**data) if data else None
