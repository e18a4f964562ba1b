"""The allocation-time oracle: each integral against the draws it stands for, and the whole."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
from sklearn.metrics import roc_auc_score

from pipelines.simulator import generate
from pipelines.simulator.config import load_config
from pipelines.simulator.emit import DAY
from pipelines.simulator.late_model import (
    MAX_BACKLOG_DAYS,
    AtAllocation,
    LateModel,
    disruption_days,
    draw_node_effects,
    mean_sigmoid,
    p_delay_at_least,
    p_disruption_begins,
    shelf_ready,
)
from pipelines.simulator.network import build_carriers, build_network
from pipelines.simulator.sourcing import HOUR


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def test_the_chance_a_disruption_begins_in_a_window_is_how_often_one_does():
    days, rate, lengths = 30, 0.05, (1, 3)
    groups = 40_000
    _, spans = disruption_days(groups, days, rate, *lengths, np.random.default_rng(3))
    g, first, last = (np.array(c) for c in zip(*spans, strict=True))
    # (allocation day, window): short and long, right after the allocation, spans reaching the
    # window from before it, and windows running past the last day a disruption can begin.
    cases = [(0, 1, 1), (3, 4, 9), (3, 6, 6), (5, 8, 12), (10, 10, 10), (20, 27, 31), (28, 29, 31)]
    for after, lo_day, hi_day in cases:
        touch = (first > after) & (first <= hi_day) & (last >= lo_day)
        seen = np.zeros(groups, dtype=bool)
        seen[g[touch]] = True
        expected = p_disruption_begins(
            rate, lengths, np.array([after]), np.array([lo_day]), np.array([hi_day]), days
        )[0]
        se = np.sqrt(expected * (1 - expected) / groups)
        assert abs(seen.mean() - expected) < 4 * se + 1e-9, (after, lo_day, hi_day)


def test_the_backlog_delay_over_the_hidden_capacity_is_how_often_it_comes():
    rng = np.random.default_rng(5)
    load = rng.uniform(0.0, 7.0, 300)
    factor = rng.uniform(0.72, 1.12, (20_000, 1))
    delay = np.minimum((load / factor).astype(int), MAX_BACKLOG_DAYS)
    for days in range(1, MAX_BACKLOG_DAYS + 2):
        expected = p_delay_at_least(load, days, (0.72, 1.12))
        assert np.abs((delay >= days).mean(axis=0) - expected).max() < 0.015, days
    # A known capacity leaves no doubt.
    assert np.array_equal(p_delay_at_least(load, 2, (1.0, 1.0)), (load >= 2).astype(float))


def test_the_noise_integral_is_the_integral():
    z = np.linspace(-8.0, 8.0, 161)
    e = np.linspace(-12.0, 12.0, 24_001)
    for sd in (0.0, 0.35, 1.0):
        if sd == 0.0:
            exact = _sigmoid(z)
        else:
            density = np.exp(-0.5 * (e / sd) ** 2) / (sd * np.sqrt(2 * np.pi))
            exact = np.trapezoid(_sigmoid(z[:, None] + e[None, :]) * density, e, axis=1)
        assert np.abs(mean_sigmoid(z, sd) - exact).max() < 1e-6, sd


def test_the_oracle_at_allocation_is_the_mean_of_the_ship_time_chance():
    """Redraw everything unsettled at allocation many times; the simulator's ship-time chance
    averages to the allocation-time one (the law of total expectation)."""
    cfg = load_config(None)
    # Loud hidden causes, so that leaving one out would show.
    cfg["delivery"].update(
        node_day_noise_sd=1.0, weather_daily_rate=0.1, carrier_disruption_daily_rate=0.08
    )
    rng = np.random.default_rng(17)
    net = build_network(cfg, rng)
    horizon = 60
    peak = np.zeros(horizon, dtype=bool)
    peak[20:28] = True
    carriers = build_carriers(cfg)
    model = LateModel(cfg, net, carriers, draw_node_effects(cfg, net, rng), horizon, peak, rng)
    n = 150
    day = rng.integers(0, 40, n)
    # Some allocated a day or two after the order's first allocation, as backorders are.
    first_day = day - rng.integers(0, 3, n) * (rng.random(n) < 0.3)
    t_alloc = day * DAY + rng.integers(0, DAY, n)
    in_store = rng.random(n) < 0.3
    plan_day = day + rng.integers(0, 3, n)
    transit = rng.integers(1, 5, n)
    promised_day = plan_day + transit + rng.integers(-1, 4, n)
    promised_t = np.where(
        in_store, t_alloc + rng.integers(HOUR // 2, 30 * HOUR, n), promised_day * DAY + 21 * HOUR
    )
    region = rng.integers(0, model.weather_cum.shape[0], n)
    group = rng.integers(0, model.carrier_cum.shape[0], n)
    known = AtAllocation(
        in_store,
        t_alloc,
        promised_t,
        plan_day,
        transit,
        rng.normal(0.0, 0.5, n),
        rng.normal(0.0, 0.3, n),
        region,
        group,
        rng.uniform(0.0, 3.0, n),
        first_day,
    )
    capacity = (0.72, 1.12)
    oracle = model.p_late_at_allocation(known, capacity)

    draws = 8_000
    delay = np.minimum((known.load / rng.uniform(*capacity, (draws, n))).astype(int), 5)
    node_eff = known.node_effect + rng.normal(0.0, 1.0, (draws, n))
    ship_day = plan_day + delay

    def hit(rate: float, reach: np.ndarray) -> np.ndarray:
        """Begun by the first allocation's day (the world's own), or after it (drawn again)."""
        _, spans = disruption_days(draws, horizon, rate, 1, 3, rng)
        g, first, last = (np.array(c) for c in zip(*spans, strict=True))
        out = reach[None, :] >= ship_day
        for i in range(n):
            late_start = (first > first_day[i]) & (first <= promised_day[i])
            reached = np.full(draws, -1)
            np.maximum.at(reached, g[late_start], last[late_start])
            out[:, i] |= reached >= ship_day[:, i]
        return out

    weather = hit(0.1, model.weather_reach[region, first_day])
    outage = hit(0.08, model.carrier_reach[group, first_day])
    slack = promised_day - (ship_day + transit)
    z = model.shipped_logit(slack, node_eff, known.carrier_effect, delay, weather, outage, ship_day)
    p_ship = np.where(ship_day < promised_day, _sigmoid(z), 1.0)
    p_store = np.where(
        shelf_ready(t_alloc, delay) > promised_t,
        1.0,
        _sigmoid(model.shelf_logit(node_eff, delay)),
    )
    realised = np.where(in_store, p_store, p_ship)
    se = realised.std(axis=0) / np.sqrt(draws)
    assert np.all(np.abs(realised.mean(axis=0) - oracle) <= 4.5 * se + 1e-9)
    # The rows are not trivial: their chance varies with the draws, and is not sure either way.
    assert (se > 0.001).sum() > n / 2 and ((oracle > 0.02) & (oracle < 0.9)).sum() > n / 3


def test_with_nothing_hidden_the_two_oracles_agree(tmp_path):
    config = tmp_path / "nothing_hidden.toml"
    config.write_text(
        "[delivery]\nnode_day_noise_sd = 0.0\nweather_daily_rate = 0.0\n"
        "carrier_disruption_daily_rate = 0.0\n[network]\ntrue_capacity_range = [1.0, 1.0]\n"
    )
    generate(tmp_path / "world", orders=1500, days=12, seed=3, config=config)
    truth = tmp_path / "world" / "truth"
    for name in ("shipment_truth", "order_drivers"):
        table = pq.read_table(truth / f"{name}.parquet").to_pandas()
        table = table[table["p_late_at_allocation"].notna()]
        assert table["p_late"].nunique() > 50
        assert np.allclose(table["p_late_at_allocation"], table["p_late"], rtol=0, atol=1e-12)


def test_the_oracle_at_allocation_knows_less_than_the_one_at_ship_time(tmp_path):
    generate(tmp_path / "world", orders=3000, days=40, seed=11)
    orders = pq.read_table(tmp_path / "world" / "truth" / "order_drivers.parquet").to_pandas()
    # Null where the ship-time chance is, and after a rejection (the plan did not hold).
    unknown = orders["p_late"].isna() | orders["rejected"]
    assert orders["rejected"].any() and orders["p_late_at_allocation"].isna().equals(unknown)
    done = orders[orders["is_late"].notna() & ~orders["rejected"]]
    at_allocation, ship_time = done["p_late_at_allocation"], done["p_late"]
    assert at_allocation.between(0.0, 1.0).all()
    late = done["is_late"].astype(bool)
    auc_allocation = roc_auc_score(late, at_allocation)
    assert 0.7 < auc_allocation < roc_auc_score(late, ship_time)
    # It is no constant: the knowable causes (slack, node, carrier, backlog) still rank orders.
    assert at_allocation.std() > 0.05
