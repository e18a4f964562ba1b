"""The catalogue: SKUs with category, price, weight, Pareto demand and ABC class; who carries what."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pipelines.simulator.network import Network


@dataclass
class Catalogue:
    sku_ids: list[str]
    category: np.ndarray  # index into categories
    categories: list[str]
    price: np.ndarray
    cost: np.ndarray
    weight: np.ndarray
    popularity: np.ndarray  # share of demand, sums to 1
    cum_popularity: np.ndarray
    abc: np.ndarray  # 0 = A, 1 = B, 2 = C
    vendor: np.ndarray  # node index of the only drop-ship vendor, -1 if stocked in the network
    return_rate: np.ndarray

    @property
    def n(self) -> int:
        return len(self.sku_ids)


ABC = ("A", "B", "C")


def build_catalogue(cfg: dict[str, Any], net: Network, rng: np.random.Generator) -> Catalogue:
    cat_cfg = cfg["catalogue"]
    n = int(cat_cfg["skus"])
    names = list(cat_cfg["categories"])
    shares = np.array([cat_cfg["categories"][c]["share"] for c in names], dtype=float)
    category = rng.choice(len(names), size=n, p=shares / shares.sum())
    median = np.array([cat_cfg["categories"][c]["price"] for c in names])[category]
    spread = np.array([cat_cfg["categories"][c]["spread"] for c in names])[category]
    price = np.round(median * np.exp(rng.normal(0, 1, n) * spread), 0) - 0.01
    price = np.maximum(price, 2.99)
    cost = np.round(price * rng.uniform(0.35, 0.6, n), 2)
    base_weight = np.array([cat_cfg["categories"][c]["weight_kg"] for c in names])[category]
    weight = np.round(base_weight * rng.lognormal(0, 0.3, n), 2)
    # Popularity is shuffled against price so that dear items are not all slow.
    rank = rng.permutation(n)
    pop = 1.0 / (rank + 5.0) ** float(cat_cfg["pareto_alpha"])
    # Each category gets its configured share of demand, so that what a category drives
    # (drop-ship splits, apparel returns) does not swing with which SKUs drew the top ranks.
    for ci in range(len(names)):
        members = category == ci
        if members.any():
            pop[members] *= shares[ci] / shares.sum() / pop[members].sum()
    pop /= pop.sum()
    order = np.argsort(-pop, kind="stable")
    cum = np.cumsum(pop[order])
    a_cut, b_cut = cat_cfg["abc_cumulative"]
    abc = np.full(n, 2)
    abc[order[cum <= a_cut]] = 0
    abc[order[(cum > a_cut) & (cum <= b_cut)]] = 1
    abc[order[0]] = 0
    vendor = np.full(n, -1)
    for ci, cname in enumerate(names):
        ds = float(cat_cfg["categories"][cname]["dropship_share"])
        vendors = [
            i for i, vc in enumerate(net.vendor_categories) if vc is not None and cname in vc
        ]
        if ds <= 0 or not vendors:
            continue
        members = rng.permutation(np.flatnonzero(category == ci))
        # Pick SKUs until they carry `ds` of the category's demand, so that the demand that
        # only a vendor can serve (and the splits it causes) does not swing with the seed.
        share = np.cumsum(pop[members]) / max(pop[members].sum(), 1e-12)
        chosen = members[: int(np.searchsorted(share, ds - 1e-9)) + 1] if ds < 1 else members
        vendor[chosen] = rng.choice(vendors, size=len(chosen))
    rates = np.array([cat_cfg["categories"][c]["return_rate"] for c in names])[category]
    return Catalogue(
        sku_ids=[f"SKU-{i + 1:05d}" for i in range(n)],
        category=category,
        categories=names,
        price=price,
        cost=cost,
        weight=weight,
        popularity=pop,
        cum_popularity=np.cumsum(pop),
        abc=abc,
        vendor=vendor,
        return_rate=rates,
    )


def build_assortment(
    cfg: dict[str, Any], net: Network, cat: Catalogue, rng: np.random.Generator
) -> np.ndarray:
    """carried[node, sku]: which node keeps stock of which SKU."""
    net_cfg = cfg["network"]
    carried = np.zeros((net.n, cat.n), dtype=bool)
    stocked = cat.vendor < 0
    # Stores and the 3PL lean to the fast movers: the chance to carry rises with popularity.
    pop_rank = np.argsort(np.argsort(-cat.popularity)) / cat.n
    for i, t in enumerate(net.node_types):
        if t == "dc":
            carried[i] = stocked & ((cat.abc == 0) | (rng.random(cat.n) < net_cfg["dc_assortment"]))
        elif t == "store":
            share = float(net_cfg["store_assortment"])
            p = np.clip(share * 2.2 * (1 - pop_rank) ** 1.5, 0, 0.97)
            carried[i] = stocked & (rng.random(cat.n) < p)
        elif t == "3pl":
            share = float(net_cfg["tpl_assortment"])
            carried[i] = stocked & (pop_rank < share)
        else:
            carried[i] = cat.vendor == i
    # Every stocked SKU lives in at least one DC so that nothing is orphaned.
    dcs = np.flatnonzero(net.of_type("dc"))
    orphan = stocked & ~carried[dcs].any(axis=0)
    carried[dcs[0], orphan] = True
    return carried
