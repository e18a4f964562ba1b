"""The hidden late-delivery model: node and carrier effects, distance and disruptions.

p(late) of a shipment = sigmoid(base + slack weight x (days needed - days promised) + node
effect + carrier effect + disruption + backlog + peak), with the knobs in `[delivery]` of
`default_world.toml`. `shipping.py` evaluates it over each day's parcels, with every hidden
cause as it turned out (the ship-time p_late of the truth), and `p_late_at_allocation` with the
causes not yet settled when the parcel was allocated integrated out (the allocation-time oracle).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from pipelines.simulator.emit import DAY
from pipelines.simulator.network import METROS, Carriers, Network
from pipelines.simulator.sourcing import HOUR

# A node's backlog holds a parcel back this many days at most (it calls in help beyond that).
MAX_BACKLOG_DAYS = 5
# The Gauss-Hermite rule that integrates a node's day noise out of the logistic: 12 points are
# exact to 1e-15 at the default noise (sd 0.35) and to 1e-7 at sd 1.
_HERMITE_X, _HERMITE_W = np.polynomial.hermite.hermgauss(12)


def draw_node_effects(cfg: dict[str, Any], net: Network, rng: np.random.Generator) -> np.ndarray:
    """Each node's hidden reliability (logit): normal around its node type's offset."""
    dcfg = cfg["delivery"]
    effect = rng.normal(0.0, float(dcfg["node_effect_sd"]), net.n)
    types = np.array(net.node_types)
    effect[types == "store"] += float(dcfg["store_node_logit"])
    effect[types == "dropship"] += float(dcfg["dropship_node_logit"])
    return effect


def disruption_days(
    groups: int, days: int, rate: float, lo: int, hi: int, rng: np.random.Generator
) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """Disrupted days per group: a cumulative count per day, and the spans (group, first, last).

    The count is of disrupted days before each day, so a span of days is hit when it grows.
    """
    flags = np.zeros((groups, days + 1), dtype=np.int64)
    starts = rng.random((groups, days)) < rate
    spans = []
    for g, d in np.argwhere(starts).tolist():
        length = int(rng.integers(lo, hi + 1))
        flags[g, d : d + length] = 1
        spans.append((g, d, d + length - 1))
    cum = np.concatenate([np.zeros((groups, 1), dtype=np.int64), np.cumsum(flags, 1)], 1)
    return cum, spans


def disruption_reach(groups: int, days: int, spans: list[tuple[int, int, int]]) -> np.ndarray:
    """Per group and day, the last disrupted day of the spans begun by that day (-1: none).

    A span begun by day A touches days S..P (A <= S) exactly when it reaches S.
    """
    reach = np.full((groups, days + 1), -1, dtype=np.int64)
    for g, first, last in spans:
        reach[g, first] = max(reach[g, first], last)
    return np.maximum.accumulate(reach, axis=1)


def p_disruption_begins(
    rate: float,
    lengths: tuple[int, int],
    after_day: np.ndarray,
    first: np.ndarray,
    last: np.ndarray,
    horizon_days: int,
) -> np.ndarray:
    """The chance that a disruption beginning after `after_day` touches days first..last.

    As `disruption_days` draws them: a start on each day before `horizon_days` with chance
    `rate`, independently, lasting a uniform whole number of days in `lengths`.
    """
    lo, hi = lengths
    # Starts from the first day of the window to its last touch it whatever their length.
    n = np.minimum(last, horizon_days - 1) - np.maximum(after_day + 1, first) + 1
    miss = (1.0 - rate) ** np.maximum(n, 0)
    # A start j days before the window touches it when it lasts more than j days.
    for j in range(1, hi):
        longer = (hi - max(j + 1, lo) + 1) / (hi - lo + 1)
        start = first - j
        can = (start > after_day) & (start < horizon_days)
        miss = miss * np.where(can, 1.0 - rate * longer, 1.0)
    return 1.0 - miss


def p_delay_at_least(load: np.ndarray, days: int, capacity_range: tuple[float, float]):
    """P(the backlog holds a parcel back `days` days or more), days >= 1, over the node's
    hidden capacity today, nominal x uniform(capacity_range): the delay is
    min(int(load / factor), MAX_BACKLOG_DAYS) for a load in days of nominal capacity."""
    if days > MAX_BACKLOG_DAYS:
        return np.zeros(len(load))
    lo, hi = capacity_range
    # delay >= days exactly when factor <= load / days.
    if hi <= lo:
        return (load / days >= lo).astype(float)
    return np.clip((load / days - lo) / (hi - lo), 0.0, 1.0)


def mean_sigmoid(z: np.ndarray, sd: float) -> np.ndarray:
    """E[sigmoid(z + e)] for e ~ Normal(0, sd), by Gauss-Hermite quadrature; z of any shape."""
    # 1 / (1 + exp(-x)) at x = z + point, in place: the (parcels x cases x points) array is the
    # biggest the oracle makes, and each step of the formula would otherwise be a new one.
    x = np.subtract.outer(-z, (sd * np.sqrt(2.0)) * _HERMITE_X)
    np.exp(x, out=x)
    x += 1.0
    np.reciprocal(x, out=x)
    return x @ _HERMITE_W / np.sqrt(np.pi)


def shelf_ready(t_alloc: np.ndarray, delay: np.ndarray | int) -> np.ndarray:
    """When a pickup from the store's own shelf is planned to be ready: within the hour of its
    allocation unless the store is behind."""
    return t_alloc + HOUR + delay * DAY


class AtAllocation(NamedTuple):
    """What the late model reads of each parcel that is settled when it is allocated (arrays
    over parcels): its plan, its route, the lasting reliabilities and the backlog ahead."""

    in_store: np.ndarray  # a pickup from the store's own shelf
    t_alloc: np.ndarray
    promised_t: np.ndarray
    plan_day: np.ndarray
    transit: np.ndarray
    node_effect: np.ndarray  # the node's lasting effect, without the day's noise
    carrier_effect: np.ndarray
    region: np.ndarray  # of the destination metro
    group: np.ndarray  # carrier group
    load: np.ndarray  # the node's open units when allocated, in days of its nominal capacity
    first_day: np.ndarray  # of the order's first allocation (a backorder's allocation is later)


class LateModel:
    """The hidden causes of late deliveries: node and carrier effects, distance, disruptions."""

    def __init__(
        self,
        cfg: dict[str, Any],
        net: Network,
        carriers: Carriers,
        node_effect: np.ndarray,
        horizon_days: int,
        peak_flag: np.ndarray,
        rng: np.random.Generator,
    ) -> None:
        dcfg = cfg["delivery"]
        # Numbers as floats once, so the per-parcel code reads them without converting.
        self.cfg = {k: float(v) if isinstance(v, int | float) else v for k, v in dcfg.items()}
        self.node_effect = node_effect
        t1, t2 = dcfg["distance_extra_days_km"]
        self.extra_days = ((net.dist >= t1).astype(int) + (net.dist >= t2)).tolist()
        regions = sorted(set(net.regions))
        self.metro_region = [regions.index(m[4]) for m in METROS]
        self.c_transit = carriers.transit.tolist()
        self.c_effect = carriers.effect
        carrier_names = sorted(set(carriers.carrier))
        self.c_group = [carrier_names.index(n) for n in carriers.carrier]
        # Weather-like days per region and bad days per carrier, in this order (rng draws).
        lo, hi = dcfg["disruption_days"]
        self.weather_cum, spans = disruption_days(
            len(regions), horizon_days, float(dcfg["weather_daily_rate"]), lo, hi, rng
        )
        self.weather_reach = disruption_reach(len(regions), horizon_days, spans)
        self.weather_spans = [(regions[g], a, b) for g, a, b in spans]
        self.carrier_cum, spans = disruption_days(
            len(carrier_names),
            horizon_days,
            float(dcfg["carrier_disruption_daily_rate"]),
            lo,
            hi,
            rng,
        )
        self.carrier_reach = disruption_reach(len(carrier_names), horizon_days, spans)
        self.carrier_spans = [(carrier_names[g], a, b) for g, a, b in spans]
        self.peak = np.concatenate([peak_flag, np.zeros(horizon_days, dtype=bool)])
        self.horizon_days = horizon_days

    def shelf_logit(self, node_eff: np.ndarray, delay) -> np.ndarray:
        """The logit of a pickup from the store's own shelf that is ready in time."""
        d = self.cfg
        return d["base_logit"] + d["store_shelf_logit"] + node_eff + d["backlog_logit"] * delay

    def shipped_logit(
        self, slack, node_eff, carrier_eff, delay, weather, carrier_dis, ship_day
    ) -> np.ndarray:
        """The logit of a shipped parcel that leaves before its promise day."""
        d = self.cfg
        return (
            d["base_logit"]
            - d["slack_weight"] * slack
            + node_eff
            + carrier_eff
            + d["backlog_logit"] * delay
            + d["weather_logit"] * weather
            + d["carrier_disruption_logit"] * carrier_dis
            + d["peak_logit"] * self.peak[ship_day]
        )

    def p_late_at_allocation(
        self, k: AtAllocation, capacity_range: tuple[float, float]
    ) -> np.ndarray:
        """P(late) of each parcel as its allocation could know it: the model's chance with what
        was not yet settled integrated out rather than realised.

        Integrated: the node's staffing on the day, both its reliability noise (normal, by
        quadrature) and its capacity (uniform, so the backlog's delay has a closed-form
        distribution), and disruptions that begin after the day of the order's first allocation
        (a start each day at their daily rate). Disruptions begun by then count as known, with
        their end: a forecast or an outage notice announces it. The outcome's own draw is not
        there.
        """
        p = np.zeros(len(k.t_alloc))
        at_least = np.ones(len(k.t_alloc))
        for delay in range(MAX_BACKLOG_DAYS + 1):
            more = p_delay_at_least(k.load, delay + 1, capacity_range)
            weight = at_least - more
            rows = np.flatnonzero(weight > 0)
            if len(rows) == len(p):  # most days, every parcel may meet no delay
                p += weight * self._p_late_given_delay(k, delay)
            elif len(rows):
                sub = AtAllocation(*(a[rows] for a in k))
                p[rows] += weight[rows] * self._p_late_given_delay(sub, delay)
            at_least = more
        return p

    def _p_late_given_delay(self, k: AtAllocation, delay: int) -> np.ndarray:
        d, sd = self.cfg, self.cfg["node_day_noise_sd"]
        ready = shelf_ready(k.t_alloc, delay)
        p_store = np.where(
            ready > k.promised_t, 1.0, mean_sigmoid(self.shelf_logit(k.node_effect, delay), sd)
        )
        day = k.first_day
        promised_day = k.promised_t // DAY
        ship_day = k.plan_day + delay
        z = self.shipped_logit(
            promised_day - (ship_day + k.transit),
            k.node_effect,
            k.carrier_effect,
            delay,
            0.0,
            0.0,
            ship_day,
        )
        # Each disruption kind touches the transit window or not: begun (known) or to begin.
        lengths = tuple(d["disruption_days"])
        weather = np.where(
            self.weather_reach[k.region, day] >= ship_day,
            1.0,
            p_disruption_begins(
                d["weather_daily_rate"], lengths, day, ship_day, promised_day, self.horizon_days
            ),
        )
        outage = np.where(
            self.carrier_reach[k.group, day] >= ship_day,
            1.0,
            p_disruption_begins(
                d["carrier_disruption_daily_rate"],
                lengths,
                day,
                ship_day,
                promised_day,
                self.horizon_days,
            ),
        )
        w, c = d["weather_logit"], d["carrier_disruption_logit"]
        cases = mean_sigmoid(z[:, None] + np.array([0.0, w, c, w + c]), sd)
        p_ship = (
            (1 - weather) * (1 - outage) * cases[:, 0]
            + weather * (1 - outage) * cases[:, 1]
            + (1 - weather) * outage * cases[:, 2]
            + weather * outage * cases[:, 3]
        )
        p_ship = np.where(ship_day < promised_day, p_ship, 1.0)
        return np.where(k.in_store, p_store, p_ship)
