"""Population stability of each feature: are the rows scored now like the rows trained on?

PSI = sum over bins of (scored share - training share) x ln(scored share / training share),
with deciles of the training rows as the bins of a number, each category as a bin of its own,
and missing values a bin of their own. Above 0.2 the population has moved (a common rule of
thumb in credit scoring: under 0.1 stable, 0.1 to 0.2 worth watching).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

PSI_WARNING = 0.2
_FLOOR = 1e-4  # an empty bin would make the logarithm infinite


@dataclass
class DriftReference:
    features: list[str]
    is_categorical: list[bool]
    # Per feature: the bin edges (numbers) or the codes seen (categories), and training shares
    # per bin, the last share being the missing values'.
    edges: list[list[float]]
    shares: list[list[float]]

    @classmethod
    def learn(
        cls, x: np.ndarray, features: list[str], is_categorical: list[bool]
    ) -> DriftReference:
        edges, shares = [], []
        for i, categorical in enumerate(is_categorical):
            column = x[:, i]
            present = column[~np.isnan(column)]
            if categorical:
                cut = sorted(float(v) for v in np.unique(present))
            else:
                cut = (
                    sorted(set(np.quantile(present, np.linspace(0.1, 0.9, 9)).tolist()))
                    if present.size
                    else []
                )
            edges.append(cut)
            shares.append(_shares(column, cut, categorical).tolist())
        return cls(features, is_categorical, edges, shares)

    def psi(self, x: np.ndarray) -> dict[str, float]:
        result = {}
        for i, feature in enumerate(self.features):
            expected = np.maximum(np.asarray(self.shares[i]), _FLOOR)
            actual = np.maximum(_shares(x[:, i], self.edges[i], self.is_categorical[i]), _FLOOR)
            result[feature] = float(np.sum((actual - expected) * np.log(actual / expected)))
        return result

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> DriftReference:
        return cls(**data)


def _shares(column: np.ndarray, edges: list[float], categorical: bool) -> np.ndarray:
    missing = np.isnan(column)
    present = column[~missing]
    if categorical:
        counts = [np.sum(present == code) for code in edges]
        counts.append(np.sum(~np.isin(present, edges)))  # a category never seen in training
    else:
        counts = list(
            np.bincount(np.searchsorted(edges, present, side="right"), minlength=len(edges) + 1)
        )
    counts.append(missing.sum())
    total = max(len(column), 1)
    return np.asarray(counts, dtype=np.float64) / total
