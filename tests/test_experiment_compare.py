"""The experiment's comparison: paired by order, relative changes with bootstrap intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.experiment.compare import METRICS, compare, render


def _orders(n: int, late_rate: float, seed: int, cost: float = 10.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    late = (rng.random(n) < late_rate).astype(int)
    return pd.DataFrame(
        {
            "order_id": [f"SO{i:08d}" for i in range(n)],
            "late": late,
            "on_time": 1 - late,
            "completed": 1,
            "stock_cancelled": (rng.random(n) < 0.05).astype(int),
            "rejected": (rng.random(n) < 0.02).astype(int),
            "split": (rng.random(n) < 0.1).astype(int),
            "shipped": 1,
            "cost": cost + rng.random(n),
            "km": 400 * rng.random(n),
            "shipments_with_km": 1,
            "one": 1,
        }
    )


def test_identical_branches_change_nothing():
    control = _orders(3000, 0.1, seed=1)
    results = {r.name: r for r in compare(control, control.copy(), resamples=300)}
    assert results.keys() == METRICS.keys()
    for r in results.values():
        assert r.relative_change == 0.0
        assert r.ci_low == pytest.approx(0.0) and r.ci_high == pytest.approx(0.0)
        assert not r.excludes_zero


def test_a_real_difference_is_found_and_its_interval_covers_it():
    control = _orders(4000, 0.12, seed=2)
    treatment = control.copy()
    # Half of the control's late orders are on time in the treatment; costs up 2%.
    late = np.flatnonzero(control["late"].to_numpy())
    fixed = late[::2]
    treatment.loc[fixed, ["late", "on_time"]] = [0, 1]
    treatment["cost"] = control["cost"] * 1.02
    results = {r.name: r for r in compare(control, treatment, resamples=1000, seed=3)}
    lates = results["late_deliveries"]
    assert lates.control == len(late) and lates.treatment == len(late) - len(fixed)
    assert lates.relative_change == pytest.approx(-len(fixed) / len(late))
    assert lates.ci_low <= lates.relative_change <= lates.ci_high < 0
    cost = results["cost_to_serve_per_order"]
    assert cost.relative_change == pytest.approx(0.02)
    # Paired: the same orders in both resamples, so a uniform 2% is 2% in every resample.
    assert cost.ci_low == pytest.approx(0.02) and cost.ci_high == pytest.approx(0.02)
    assert results["on_time_rate"].excludes_zero and results["on_time_rate"].relative_change > 0
    assert not results["split_rate"].excludes_zero
    table = render(list(results.values()), {"control": {"dc": 0.6}, "treatment": {"dc": 0.5}})
    assert "late_deliveries" in table and "includes 0" in table


def test_branches_of_different_worlds_are_refused():
    control = _orders(100, 0.1, seed=4)
    other = control.iloc[1:].reset_index(drop=True)
    with pytest.raises(ValueError, match="same orders"):
        compare(control, other, resamples=100)
