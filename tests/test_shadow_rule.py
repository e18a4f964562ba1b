"""The shadow replay's rule and estimate on hand-made candidates (pipelines/replay/shadow.py):
which node the feed's rule picks for a decision, and what P(late) each choice is given."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from models.features import DELIVERY
from pipelines.feed.datasets import NodeScoreSettings
from pipelines.replay.shadow import (
    SWAPPED_FEATURES,
    Estimator,
    replay,
    shadow_choice,
    shadow_nodes,
    summarize,
)

AT = datetime(2024, 9, 20, 10)


def _candidate(order: str, node: str, *, chosen: bool, own: float, penalty: float, **extra):
    row = {
        "order_id": order,
        "node_id": node,
        "is_chosen": chosen,
        "is_replayed": True,
        "candidate_nodes": 3,
        "own_cost": own,
        "routing_penalty": penalty,
        "late_risk": penalty / 25,
        "p_cancel": 0.001,
        "node_type": "dc",
        "is_from_pickup_store": False,
        "distance_km": 100.0,
    }
    row |= {c: 0.0 for c in SWAPPED_FEATURES if c not in row}
    return row | extra


def test_a_node_with_a_large_penalty_loses_its_order_to_a_safer_one():
    group = pd.DataFrame(
        [
            _candidate("o1", "DC-LATE", chosen=True, own=5.0, penalty=9.0),
            _candidate("o1", "DC-SAFE", chosen=False, own=6.0, penalty=1.0),
        ]
    )
    assert shadow_choice(group) == "DC-SAFE"


def test_a_penalty_saving_smaller_than_the_extra_own_cost_keeps_the_order():
    group = pd.DataFrame(
        [
            _candidate("o1", "DC-A", chosen=True, own=5.0, penalty=3.0),
            _candidate("o1", "DC-B", chosen=False, own=7.5, penalty=1.0),
        ]
    )
    assert shadow_choice(group) == "DC-A"


def test_a_node_is_never_cheaper_to_the_oms_than_its_own_choice():
    # B looks 4.00 cheaper by our estimate, but the OMS chose A: without a penalty gap the OMS's
    # preference stands, and the gap decides alone (a tie keeps A).
    tied = pd.DataFrame(
        [
            _candidate("o1", "DC-A", chosen=True, own=5.0, penalty=2.0),
            _candidate("o1", "DC-B", chosen=False, own=1.0, penalty=2.0),
        ]
    )
    assert shadow_choice(tied) == "DC-A"
    assert shadow_choice(tied.assign(routing_penalty=[2.0, 1.99])) == "DC-B"


def test_the_cheapest_of_several_wins_and_every_decision_gets_a_node():
    candidates = pd.DataFrame(
        [
            _candidate("o1", "DC-A", chosen=True, own=5.0, penalty=4.0),
            _candidate("o1", "DC-B", chosen=False, own=5.5, penalty=1.0),  # 6.5
            _candidate("o1", "DC-C", chosen=False, own=5.0, penalty=2.0),  # 7.0
            _candidate("o2", "DC-C", chosen=True, own=3.0, penalty=2.0),
        ]
    )
    assert shadow_nodes(candidates).to_dict() == {"o1": "DC-B", "o2": "DC-C"}


def _features(orders: list[tuple[str, str]]) -> pd.DataFrame:
    rows = []
    for order, node in orders:
        row = {c: 0.0 for c in DELIVERY.features}
        row |= {"order_id": order, "node_id": node, "cutoff_at": AT, "is_late": None}
        rows.append(row)
    return pd.DataFrame(rows)


def test_both_choices_are_estimated_from_the_row_with_the_nodes_features_swapped():
    candidates = pd.DataFrame(
        [
            _candidate("o1", "DC-LATE", chosen=True, own=5.0, penalty=9.0, node_late_rate=0.5),
            _candidate("o1", "DC-SAFE", chosen=False, own=6.0, penalty=1.0, node_late_rate=0.1),
            _candidate("o2", "DC-SAFE", chosen=True, own=5.0, penalty=1.0, node_late_rate=0.1),
        ]
    )
    features = _features([("o2", "DC-SAFE"), ("o1", "DC-LATE")]).assign(node_late_rate=[0.1, 0.5])
    seen = []

    def predict(frame: pd.DataFrame) -> np.ndarray:
        seen.append(frame[["order_id", "node_id"]].values.tolist())
        return frame["node_late_rate"].to_numpy(dtype=float)

    out = replay(features, candidates, Estimator.of_model("delivery-x", predict), AT)
    assert out["order_id"].tolist() == ["o1", "o2"]
    assert out["shadow_node_id"].tolist() == ["DC-SAFE", "DC-SAFE"]
    assert out["is_changed"].tolist() == [True, False]
    assert out["p_late_chosen"].tolist() == [0.5, 0.1]
    assert out["p_late_shadow"].tolist() == [0.1, 0.1]
    # The moved row is scored as routed to DC-SAFE; the unchanged one is not scored twice.
    assert seen == [[["o1", "DC-LATE"], ["o2", "DC-SAFE"]], [["o1", "DC-SAFE"]]]
    assert out["shadow_routing_penalty"].tolist() == [1.0, 1.0]
    assert set(out["model_version"]) == {"delivery-x"}

    history = replay(features, candidates, Estimator.of_history(), AT)
    assert history["p_late_chosen"].tolist() == pytest.approx([9.0 / 25, 1.0 / 25])
    assert history["p_late_shadow"].tolist() == pytest.approx([1.0 / 25, 1.0 / 25])
    assert set(history["late_estimate"]) == {"history"}

    summary = summarize(out, pd.Series([True, None]))
    assert (summary.decisions, summary.changed, summary.share_changed) == (2, 1, 0.5)
    assert summary.expected_late_difference == pytest.approx(-0.4)
    assert (summary.observed_late, summary.labelled) == (1, 1)


def test_every_swapped_feature_is_a_delivery_feature():
    assert set(SWAPPED_FEATURES) <= set(DELIVERY.features)


def test_the_replay_prices_history_with_the_feeds_default_settings():
    import yaml

    from pipelines.dbt.project_files import DBT_PROJECT_DIR

    dbt_vars = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]
    defaults = NodeScoreSettings()
    assert dbt_vars["routing_lookback_days"] == defaults.lookback_days
    assert dbt_vars["routing_prior_strength"] == defaults.prior_strength
