"""How a risk score is judged: ranking, calibration and what the top of the list holds.

Every metric takes the labels and the predicted probabilities of the same rows. Ranking by
score breaks ties by row order, so a metric on the same rows is the same number every time.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

CALIBRATION_BINS = 10
TOP_SHARE = 0.10


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = CALIBRATION_BINS) -> float:
    """Mean |predicted - observed| over equal-width probability bins, weighted by rows."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1], right=True), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        in_bin = which == b
        if in_bin.any():
            total += in_bin.sum() * abs(p[in_bin].mean() - y[in_bin].mean())
    return float(total / len(y))


def reliability_table(y: np.ndarray, p: np.ndarray, bins: int = CALIBRATION_BINS) -> list[dict]:
    """Per probability bin: rows, mean predicted and observed rate (a reliability diagram)."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1], right=True), 0, bins - 1)
    rows = []
    for b in range(bins):
        in_bin = which == b
        if in_bin.any():
            rows.append(
                {
                    "bin": b,
                    "rows": int(in_bin.sum()),
                    "mean_predicted": float(p[in_bin].mean()),
                    "observed_rate": float(y[in_bin].mean()),
                }
            )
    return rows


def top_share_mask(p: np.ndarray, share: float = TOP_SHARE) -> np.ndarray:
    """The `share` of rows with the highest scores (ties by row order, so always the same)."""
    k = max(1, int(round(len(p) * share)))
    order = np.argsort(-p, kind="stable")
    mask = np.zeros(len(p), dtype=bool)
    mask[order[:k]] = True
    return mask


def score_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """Every metric of one scorer on the same rows."""
    y = np.asarray(y, dtype=bool)
    p = np.asarray(p, dtype=np.float64)
    base = float(y.mean())
    top = top_share_mask(p)
    precision_top = float(y[top].mean())
    both_classes = 0 < y.sum() < len(y)
    return {
        "rows": float(len(y)),
        "base_rate": base,
        "roc_auc": float(roc_auc_score(y, p)) if both_classes else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if both_classes else float("nan"),
        "brier": float(brier_score_loss(y, p)),
        "ece": expected_calibration_error(y.astype(float), p),
        "top_decile_precision": precision_top,
        "top_decile_lift": precision_top / base if base > 0 else float("nan"),
    }
