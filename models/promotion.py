"""When a trained model may be used: its gates, and when it replaces the promoted one.

Gates (a model below them is never promoted, so it never reaches scoring or routing):
- its primary metric on the test window beats every baseline's on the same rows;
- its expected calibration error is at most `max_ece`.
A new version that passes its gates replaces the promoted one only when it scores higher on
the primary metric on the new version's own test window (the newest), where the promoted model
is scored again; a tie keeps the promoted one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

PRIMARY_METRIC = {"delivery": "roc_auc", "inventory": "pr_auc"}


@dataclass(frozen=True)
class Gates:
    max_ece: float = 0.05


def gate_failures(
    model: str, metrics: dict[str, dict[str, float]], gates: Gates = Gates()
) -> list[str]:
    """Why a model may not be promoted (empty when it may)."""
    primary = PRIMARY_METRIC[model]
    own = metrics["model"][primary]
    failures = []
    if math.isnan(own):
        failures.append(f"{primary} is undefined on the test window (one class only)")
    for name, scores in metrics.items():
        if name != "model" and not own > scores[primary]:
            failures.append(
                f"{primary} {own:.4f} does not beat baseline {name} ({scores[primary]:.4f})"
            )
    if not metrics["model"]["ece"] <= gates.max_ece:
        failures.append(f"ece {metrics['model']['ece']:.4f} is above {gates.max_ece}")
    return failures


def beats(model: str, candidate: dict[str, float], promoted: dict[str, float]) -> bool:
    primary = PRIMARY_METRIC[model]
    return candidate[primary] > promoted[primary]
