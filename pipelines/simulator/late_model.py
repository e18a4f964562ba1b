"""The hidden late-delivery model: node and carrier effects, distance and disruptions.

p(late) of a shipment = sigmoid(base + slack weight x (days needed - days promised) + node
effect + carrier effect + disruption + backlog + peak), with the knobs in `[delivery]` of
`default_world.toml`. `shipping.py` evaluates it over each day's parcels.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pipelines.simulator.network import METROS, Carriers, Network


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
        self.weather_spans = [(regions[g], a, b) for g, a, b in spans]
        self.carrier_cum, spans = disruption_days(
            len(carrier_names),
            horizon_days,
            float(dcfg["carrier_disruption_daily_rate"]),
            lo,
            hi,
            rng,
        )
        self.carrier_spans = [(carrier_names[g], a, b) for g, a, b in spans]
        self.peak = np.concatenate([peak_flag, np.zeros(horizon_days, dtype=bool)])
