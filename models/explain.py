"""Why one row scored what it did: the factors that moved it most, with their sign.

Method (occlusion against a typical row): a factor's contribution to a row is the model's raw
score (log-odds, before calibration) of the row minus its raw score with that factor's features
set to their typical training values (median, or commonest category). Positive means the factor
raises the risk. It is computed from the model itself, one extra prediction per factor, and the
factors are the named feature groups of the spec, so an explanation reads "promise_slack +1.8"
rather than a list of columns.
"""

from __future__ import annotations

import numpy as np

from models.features import FeatureSpec

TOP_FACTORS = 3


def factor_contributions(
    booster, x: np.ndarray, spec: FeatureSpec, reference: list[float]
) -> tuple[list[str], np.ndarray]:
    """The factor names and an (rows x factors) array of signed contributions in log-odds."""
    raw = booster.decision_function(x)
    position = {name: i for i, name in enumerate(spec.features)}
    names, columns = [], []
    for factor, features in spec.factors.items():
        occluded = x.copy()
        for feature in features:
            occluded[:, position[feature]] = reference[position[feature]]
        names.append(factor)
        columns.append(raw - booster.decision_function(occluded))
    return names, np.column_stack(columns)


def top_factors(
    names: list[str], contributions: np.ndarray, k: int = TOP_FACTORS
) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the k factor names with the largest |contribution|, and their contributions."""
    order = np.argsort(-np.abs(contributions), axis=1, kind="stable")[:, :k]
    rows = np.arange(contributions.shape[0])[:, None]
    return np.asarray(names, dtype=object)[order], contributions[rows, order]
