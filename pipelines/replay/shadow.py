"""The shadow replay of one warehouse's history, as plain functions over DataFrames.

For every order's first sourcing decision, `replay` asks what a routing engine reading the
routing feed would have chosen then, by the one rule of `pipelines/feed/policy.py`, and what the
delivery model expects of both choices:

- the candidates, their own costs and the feed's penalties of that day come from the dbt model
  `ml.ml_shadow_candidates` (point in time: built from what was known before each decision);
- the OMS's own preference stands: a node is never taken as cheaper to the OMS than the one it
  chose (its own reasons, such as capacity or carrier contracts, are only partly in the data),
  so an order moves only when a node's smaller penalty outweighs its estimated extra own cost.
  Every change is then the feed's doing, not a difference between the OMS's costs and ours;
- suggested buffers are not replayed: they come from the inventory model's score of a record as
  it stands now, and a record's score at a past instant is not kept. Every candidate's record
  held the order, so the rule's choice is the cheapest candidate;
- expected P(late): the estimator applied to the decision's feature row as it was, and to the
  same row with the node's features (`SWAPPED_FEATURES`) set to the other node's at that time;
  the order's promise, carrier, service level and planned ship time stay as they were;
- expected P(an out-of-stock cancellation): the candidate row's `p_cancel` (the node's
  not_found rate times the network's share of not_found rejections that ended in one).

It is an estimate from the model, never a measurement: `omsi experiment` measures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from pipelines.feed import policy

# The delivery model's features that belong to the node (ml_shadow_candidates has each).
SWAPPED_FEATURES = (
    "node_id",
    "node_type",
    "is_from_pickup_store",
    "distance_km",
    "node_deliveries_trailing",
    "node_late_rate",
    "node_rejection_rate",
    "node_deliveries_before",
    "node_late_rate_before",
    "lane_extra_transit_days",
    "lane_deliveries_trailing",
    "node_backlog_units",
    "node_backlog_days",
)

# P(late) of feature rows, given the candidate rows of the nodes they are routed to.
Estimate = Callable[[pd.DataFrame, pd.DataFrame], np.ndarray]


@dataclass(frozen=True)
class Estimator:
    """Where a replay's P(late) comes from: `model` (the promoted delivery model, `version`) or
    `history` (the node's late risk as the feed priced it, when no model is promoted)."""

    source: str
    version: str | None
    estimate: Estimate

    @classmethod
    def of_model(cls, version: str, predict: Callable[[pd.DataFrame], np.ndarray]) -> Estimator:
        return cls("model", version, lambda features, _candidates: predict(features))

    @classmethod
    def of_history(cls) -> Estimator:
        return cls(
            "history",
            None,
            lambda _features, candidates: candidates["late_risk"].to_numpy(dtype=np.float64),
        )


def shadow_choice(group: pd.DataFrame) -> str:
    """The node the feed's rule picks among one decision's candidate rows (one is the chosen)."""
    chosen = group[group["is_chosen"]].iloc[0]
    others = group[~group["is_chosen"]].sort_values("node_id")
    floor = chosen["own_cost"]
    own = {chosen["node_id"]: floor}
    own |= {n: max(c, floor) for n, c in zip(others["node_id"], others["own_cost"], strict=True)}
    penalty = dict(zip(group["node_id"], group["routing_penalty"], strict=True))
    # The chosen node first: a tie keeps the OMS's choice.
    ranked = policy.rank([chosen["node_id"], *others["node_id"]], own.get, penalty.get)
    held = dict.fromkeys(ranked, 1)  # every candidate's record held the whole order
    return policy.choose(ranked, 1, held, lambda _node: 0)


def shadow_nodes(candidates: pd.DataFrame) -> pd.Series:
    """order_id -> shadow node, for every decision (its chosen node when nothing can win)."""
    chosen = candidates.loc[candidates["is_chosen"], ["order_id", "node_id"]]
    shadow = pd.Series(chosen["node_id"].to_numpy(), index=chosen["order_id"].to_numpy())
    contested = candidates.groupby("order_id")["is_chosen"].transform("size") > 1
    for order_id, group in candidates[contested].groupby("order_id", sort=True):
        shadow[order_id] = shadow_choice(group)
    return shadow


def replay(
    features: pd.DataFrame,
    candidates: pd.DataFrame,
    estimator: Estimator,
    replayed_at: datetime,
) -> pd.DataFrame:
    """One row per decision of `features` (ml_delivery_features): chosen and shadow node, their
    own costs and penalties, and the expected P(late) and P(cancellation) of each."""
    features = features.sort_values("order_id").reset_index(drop=True)
    shadow = shadow_nodes(candidates).reindex(features["order_id"])
    by_pair = candidates.set_index(["order_id", "node_id"])
    chosen = by_pair.loc[list(zip(features["order_id"], features["node_id"], strict=True))]
    picked = by_pair.loc[list(zip(features["order_id"], shadow, strict=True))]
    changed = shadow.to_numpy() != features["node_id"].to_numpy()

    p_late_chosen = estimator.estimate(features, chosen.reset_index())
    p_late_shadow = p_late_chosen.copy()
    if changed.any():
        moved = features[changed].copy()
        moved_candidates = picked[changed].reset_index()
        for column in SWAPPED_FEATURES:
            moved[column] = moved_candidates[column].to_numpy()
        p_late_shadow[changed] = estimator.estimate(moved, moved_candidates)

    return pd.DataFrame(
        {
            "order_id": features["order_id"].to_numpy(),
            "cutoff_at": features["cutoff_at"].to_numpy(),
            "is_replayed": chosen["is_replayed"].to_numpy(dtype=bool),
            "candidate_nodes": chosen["candidate_nodes"].to_numpy(dtype=np.int64),
            "chosen_node_id": features["node_id"].to_numpy(),
            "shadow_node_id": shadow.to_numpy(),
            "is_changed": changed,
            "chosen_own_cost": chosen["own_cost"].to_numpy(dtype=np.float64),
            "shadow_own_cost": picked["own_cost"].to_numpy(dtype=np.float64),
            "chosen_routing_penalty": chosen["routing_penalty"].to_numpy(dtype=np.float64),
            "shadow_routing_penalty": picked["routing_penalty"].to_numpy(dtype=np.float64),
            "p_late_chosen": p_late_chosen,
            "p_late_shadow": p_late_shadow,
            "p_cancel_chosen": chosen["p_cancel"].to_numpy(dtype=np.float64),
            "p_cancel_shadow": picked["p_cancel"].to_numpy(dtype=np.float64),
            "late_estimate": estimator.source,
            "model_version": estimator.version,
            "replayed_at": replayed_at,
        }
    )


@dataclass(frozen=True)
class ReplaySummary:
    """The replay in numbers: decisions, how many the feed's rule changes, and the expected late
    orders and out-of-stock cancellations routed as the OMS did and as the feed would have."""

    decisions: int
    replayed: int
    changed: int
    share_changed: float | None
    late_estimate: str
    model_version: str | None
    expected_late_chosen: float
    expected_late_shadow: float
    expected_cancellations_chosen: float
    expected_cancellations_shadow: float
    observed_late: int
    labelled: int

    @property
    def expected_late_difference(self) -> float:
        return self.expected_late_shadow - self.expected_late_chosen

    @property
    def expected_cancellations_difference(self) -> float:
        return self.expected_cancellations_shadow - self.expected_cancellations_chosen

    def as_dict(self) -> dict:
        return asdict(self) | {
            "expected_late_difference": self.expected_late_difference,
            "expected_cancellations_difference": self.expected_cancellations_difference,
        }


def summarize(decisions: pd.DataFrame, labels: pd.Series) -> ReplaySummary:
    """`labels`: the decisions' observed is_late (null while open or cancelled)."""
    count = len(decisions)
    changed = int(decisions["is_changed"].sum())
    known = labels.dropna().astype(bool)
    return ReplaySummary(
        decisions=count,
        replayed=int(decisions["is_replayed"].sum()),
        changed=changed,
        share_changed=changed / count if count else None,
        late_estimate=str(decisions["late_estimate"].iloc[0]) if count else "none",
        model_version=decisions["model_version"].iloc[0] if count else None,
        expected_late_chosen=float(np.nansum(decisions["p_late_chosen"])),
        expected_late_shadow=float(np.nansum(decisions["p_late_shadow"])),
        expected_cancellations_chosen=float(np.nansum(decisions["p_cancel_chosen"])),
        expected_cancellations_shadow=float(np.nansum(decisions["p_cancel_shadow"])),
        observed_late=int(known.sum()),
        labelled=len(known),
    )
