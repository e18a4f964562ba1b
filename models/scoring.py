"""Score what is open now: orders at risk of missing their promise, stock records likely wrong."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.actions import DEFAULT_THRESHOLDS, ActionThresholds, suggest_actions
from models.buffers import BUFFER_CONFIDENCE
from models.explain import top_factors
from models.exposure import at_exposure
from models.training import TrainedModel

# Records per node on tomorrow's cycle-count list.
COUNTS_PER_NODE = 10


def score_orders(
    model: TrainedModel, frame: pd.DataFrame, thresholds: ActionThresholds = DEFAULT_THRESHOLDS
) -> pd.DataFrame:
    """Per open order: P(late), its top three factors with signed contributions, an action."""
    spec = model.spec
    columns = ["order_id", "p_late"]
    columns += [f"{kind}_{i}" for i in (1, 2, 3) for kind in ("factor", "contribution")]
    if frame.empty:
        return pd.DataFrame(columns=[*columns, "suggested_action"])
    raw, contributions = model.explainer.explain(model.encode(frame))
    p = model.calibrate(raw)
    names = model.explainer.names
    top_names, top_values = top_factors(names, contributions)
    leading = np.argmax(contributions, axis=1)
    rows = np.arange(len(frame))
    actions = suggest_actions(
        p, np.asarray(names, dtype=object)[leading], contributions[rows, leading], thresholds
    )
    scores = pd.DataFrame({"order_id": frame[spec.key].to_numpy(), "p_late": p})
    for i in range(top_names.shape[1]):
        scores[f"factor_{i + 1}"] = top_names[:, i]
        scores[f"contribution_{i + 1}"] = top_values[:, i]
    scores["suggested_action"] = actions
    return scores


def score_records(
    model: TrainedModel, frame: pd.DataFrame, confidence: float = BUFFER_CONFIDENCE
) -> pd.DataFrame:
    """Per current stock record: P(wrong), its rank, and the buffer that keeps promises."""
    p = _p_wrong_now(model, frame) if len(frame) else np.empty(0)
    scores = pd.DataFrame(
        {"node_id": frame["node_id"].to_numpy(), "sku": frame["sku"].to_numpy(), "p_inaccurate": p}
    )
    # Rank 1 is the record most likely wrong; ties by node and SKU, so ranks are stable.
    order = scores.sort_values(
        ["p_inaccurate", "node_id", "sku"], ascending=[False, True, True]
    ).index
    scores.loc[order, "risk_rank"] = np.arange(1, len(scores) + 1)
    scores["risk_rank"] = scores["risk_rank"].astype("int64")
    atp = pd.to_numeric(frame["available_to_promise"], errors="coerce").fillna(0).to_numpy()
    on_hand = pd.to_numeric(frame["on_hand"], errors="coerce").fillna(0).to_numpy()
    if model.shortfall is None:
        buffers = np.zeros(len(frame), dtype=np.int64)
    else:
        buffers = np.minimum(model.shortfall.buffer_units(p, confidence), np.maximum(atp, 0))
    scores["on_hand"] = on_hand.astype(np.int64)
    scores["available_to_promise"] = atp.astype(np.int64)
    scores["suggested_buffer_units"] = buffers.astype(np.int64)
    scores["buffer_confidence"] = confidence
    scores["adjusted_available_to_promise"] = np.maximum(atp - buffers, 0).astype(np.int64)
    return scores


def _p_wrong_now(model: TrainedModel, frame: pd.DataFrame) -> np.ndarray:
    """P(wrong) of each record now: at a count after its usual interval, carried to its drift time
    (`models/exposure.py`); a model without intervals scores the record as it stands."""
    if model.intervals is None:
        return model.predict(frame)
    interval = model.intervals.of(frame)
    days = pd.to_numeric(frame["days_since_count"], errors="coerce").to_numpy(dtype=np.float64)
    never_counted = ~frame["has_previous_count"].fillna(False).astype(bool).to_numpy()
    days = np.where(never_counted | np.isnan(days), np.fmax(days, interval), days)
    at_count = model.predict(frame.assign(days_since_count=interval))
    return at_exposure(at_count, interval, days)


def cycle_count_list(scores: pd.DataFrame, per_node: int = COUNTS_PER_NODE) -> pd.DataFrame:
    """The `per_node` records of each node most likely wrong, riskiest first."""
    ranked = scores.sort_values(["node_id", "p_inaccurate", "sku"], ascending=[True, False, True])
    ranked = ranked.assign(rank_in_node=ranked.groupby("node_id").cumcount() + 1)
    top = ranked[ranked["rank_in_node"] <= per_node]
    return top[["node_id", "sku", "rank_in_node", "p_inaccurate"]].reset_index(drop=True)


def drift_of(model: TrainedModel, frame: pd.DataFrame) -> dict[str, float]:
    return model.drift.psi(model.encode(frame)) if len(frame) else {}
