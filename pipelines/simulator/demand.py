"""Demand: how many orders each day, and each order's customer, channel, lines and promise."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

from pipelines.simulator.catalogue import Catalogue

CHANNELS = ("web", "app", "marketplace", "store", "call_center")
SERVICES = ("standard", "express", "next_day")
# Share of orders by UTC hour: US shoppers, busiest in their evening.
_HOURLY = np.array(
    [6, 5, 4, 3, 2, 1.2, 0.8, 0.6, 0.6, 0.8, 1.2, 2, 3, 4, 4.5, 5, 5, 5, 5.2, 5.5, 5.8, 6, 6.2, 6.4]
)
_HOURLY = _HOURLY / _HOURLY.sum()


def thanksgiving(year: int) -> date:
    first = date(year, 11, 1)
    first_thursday = first + timedelta(days=(3 - first.weekday()) % 7)
    return first_thursday + timedelta(days=21)


def day_weights(cfg: dict[str, Any], start: date, days: int, rng: np.random.Generator):
    """Relative demand of each day: weekday, a Black-Friday-like week, December, noise."""
    d = cfg["demand"]
    weekday = np.array(d["weekday_weights"], dtype=float)
    w = np.empty(days)
    peak_flag = np.zeros(days, dtype=bool)
    for i in range(days):
        day = start + timedelta(days=i)
        peak_start = thanksgiving(day.year) - timedelta(days=3)
        f = weekday[day.weekday()]
        if peak_start <= day < peak_start + timedelta(days=int(d["peak_days"])):
            f *= float(d["peak_multiplier"])
            peak_flag[i] = True
        elif day.month == 12 and day.day <= 24:
            f *= float(d["december_multiplier"])
        elif day.month == 12 or (day.month == 1 and day.day <= 7):
            f *= float(d["post_holiday_multiplier"])
        w[i] = f
    w *= rng.lognormal(0.0, 0.06, days)
    return w, peak_flag


def split_orders(total: int, weights: np.ndarray) -> np.ndarray:
    """Exactly `total` orders spread over days in proportion to `weights`."""
    exact = total * weights / weights.sum()
    counts = np.floor(exact).astype(np.int64)
    short = total - int(counts.sum())
    if short:
        counts[np.argsort(-(exact - counts), kind="stable")[:short]] += 1
    return counts


@dataclass
class DayOrders:
    placed_sec: np.ndarray  # seconds into the day, ascending
    customer: np.ndarray
    metro: np.ndarray
    channel: np.ndarray
    pickup: np.ndarray  # bool
    service: np.ndarray
    line_start: np.ndarray  # lines of order i are line_start[i]:line_start[i+1]
    sku: np.ndarray
    qty: np.ndarray
    pre_cancel: np.ndarray  # 0 none, 1 payment_failed, 2 fraud, 3 customer_request
    promise_days: np.ndarray  # delivery promise in days after the placed day
    postal_suffix: np.ndarray  # last two digits of the ship-to postal code
    jitter: np.ndarray  # (n, 2) ship-to lat/lon offset from the metro centre, degrees
    pay_delay: np.ndarray  # seconds from placing to payment authorisation
    wallet: np.ndarray  # bool: paid by wallet rather than card
    alloc_wait: np.ndarray  # seconds after the remorse window until sourcing

    @property
    def n(self) -> int:
        return len(self.placed_sec)


def make_orders(
    n: int,
    cfg: dict[str, Any],
    cat: Catalogue,
    customers_metro: np.ndarray,
    has_pickup_store: np.ndarray,
    remote_metro: np.ndarray,
    promise_transit: dict[str, int],
    rng: np.random.Generator,
) -> DayOrders:
    d = cfg["demand"]
    hours = rng.choice(24, size=n, p=_HOURLY)
    placed = np.sort(hours * 3600 + rng.integers(0, 3600, n))
    n_cust = len(customers_metro)
    customer = np.minimum((n_cust * rng.random(n) ** 1.6).astype(np.int64), n_cust - 1)
    metro = customers_metro[customer]
    ch_p = np.array([d["channels"][c] for c in CHANNELS])
    channel = rng.choice(len(CHANNELS), size=n, p=ch_p / ch_p.sum())
    pickup = (channel <= 1) & (rng.random(n) < float(d["pickup_share"])) & has_pickup_store[metro]
    sv_p = np.array([d["service_levels"][s] for s in SERVICES])
    service = rng.choice(len(SERVICES), size=n, p=sv_p / sv_p.sum())
    lp = np.array(d["lines_per_order"])
    n_lines = rng.choice(len(lp), size=n, p=lp) + 1
    line_start = np.concatenate([[0], np.cumsum(n_lines)])
    total = int(line_start[-1])
    sku = np.searchsorted(cat.cum_popularity, rng.random(total) * cat.cum_popularity[-1])
    sku = np.minimum(sku, cat.n - 1)
    up = np.array(d["units_per_line"])
    qty = rng.choice(len(up), size=total, p=up) + 1
    o = cfg["orders"]
    r = rng.random(n)
    cuts = np.cumsum([o["payment_failed_rate"], o["fraud_rate"], o["customer_cancel_rate"]])
    kind = np.searchsorted(cuts, r, side="right")
    pre_cancel = np.where(kind < len(cuts), kind + 1, 0)
    # Promise at checkout: a processing day (none for fast services before the cut-off), the
    # carrier's promised transit, a day more for remote metros, two more for freight items.
    after_cutoff = (placed // 3600) >= int(d["cutoff_hour"])
    transit = np.array([promise_transit[s] for s in SERVICES])[service]
    processing = np.where(service == 0, 1, 0) + after_cutoff
    heavy_line = (cat.weight[sku] > 20).astype(np.int64)
    heavy = np.add.reduceat(heavy_line, line_start[:-1]) > 0
    promise = processing + transit + remote_metro[metro] + np.where(heavy, 3, 0)
    service = np.where(heavy, 0, service)
    # Drawn last and for every order at once, so the demand above keeps its draws and the order
    # loop makes no per-order calls for them.
    postal_suffix = rng.integers(0, 100, n)
    jitter = rng.uniform(-0.2, 0.2, (n, 2))
    pay_delay = rng.integers(2, 41, n)
    wallet = rng.random(n) >= 0.8
    alloc_wait = rng.integers(30, 901, n)
    return DayOrders(
        placed_sec=placed,
        customer=customer,
        metro=metro,
        channel=channel,
        pickup=pickup & ~heavy,
        service=service,
        line_start=line_start,
        sku=sku,
        qty=qty,
        pre_cancel=pre_cancel,
        promise_days=promise,
        postal_suffix=postal_suffix,
        jitter=jitter,
        pay_delay=pay_delay,
        wallet=wallet,
        alloc_wait=alloc_wait,
    )
