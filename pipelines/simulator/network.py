"""The fulfilment network: metros where customers live, nodes, carriers and their distances."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

# (city, state, lat, lon, region, population weight, 3-digit postal prefix)
METROS: tuple[tuple[str, str, float, float, str, float, str], ...] = (
    ("New York", "NY", 40.71, -74.01, "NE", 20.0, "100"),
    ("Los Angeles", "CA", 34.05, -118.24, "W", 13.0, "900"),
    ("Chicago", "IL", 41.88, -87.63, "MW", 9.5, "606"),
    ("Dallas", "TX", 32.78, -96.80, "SW", 7.6, "752"),
    ("Houston", "TX", 29.76, -95.37, "SW", 7.1, "770"),
    ("Washington", "DC", 38.91, -77.04, "NE", 6.3, "200"),
    ("Philadelphia", "PA", 39.95, -75.17, "NE", 6.2, "191"),
    ("Miami", "FL", 25.76, -80.19, "SE", 6.1, "331"),
    ("Atlanta", "GA", 33.75, -84.39, "SE", 6.1, "303"),
    ("Boston", "MA", 42.36, -71.06, "NE", 4.9, "021"),
    ("Phoenix", "AZ", 33.45, -112.07, "SW", 4.9, "850"),
    ("San Francisco", "CA", 37.77, -122.42, "W", 4.7, "941"),
    ("Riverside", "CA", 33.95, -117.40, "W", 4.6, "925"),
    ("Detroit", "MI", 42.33, -83.05, "MW", 4.3, "482"),
    ("Seattle", "WA", 47.61, -122.33, "W", 4.0, "981"),
    ("Minneapolis", "MN", 44.98, -93.27, "MW", 3.7, "554"),
    ("San Diego", "CA", 32.72, -117.16, "W", 3.3, "921"),
    ("Tampa", "FL", 27.95, -82.46, "SE", 3.2, "336"),
    ("Denver", "CO", 39.74, -104.99, "W", 3.0, "802"),
    ("St. Louis", "MO", 38.63, -90.20, "MW", 2.8, "631"),
    ("Baltimore", "MD", 39.29, -76.61, "NE", 2.8, "212"),
    ("Charlotte", "NC", 35.23, -80.84, "SE", 2.7, "282"),
    ("Orlando", "FL", 28.54, -81.38, "SE", 2.7, "328"),
    ("San Antonio", "TX", 29.42, -98.49, "SW", 2.6, "782"),
    ("Portland", "OR", 45.52, -122.68, "W", 2.5, "972"),
    ("Sacramento", "CA", 38.58, -121.49, "W", 2.4, "958"),
    ("Pittsburgh", "PA", 40.44, -80.00, "NE", 2.4, "152"),
    ("Austin", "TX", 30.27, -97.74, "SW", 2.4, "787"),
    ("Las Vegas", "NV", 36.17, -115.14, "W", 2.3, "891"),
    ("Cincinnati", "OH", 39.10, -84.51, "MW", 2.3, "452"),
    ("Kansas City", "MO", 39.10, -94.58, "MW", 2.2, "641"),
    ("Columbus", "OH", 39.96, -83.00, "MW", 2.1, "432"),
    ("Indianapolis", "IN", 39.77, -86.16, "MW", 2.1, "462"),
    ("Cleveland", "OH", 41.50, -81.69, "MW", 2.1, "441"),
    ("Nashville", "TN", 36.16, -86.78, "SE", 2.0, "372"),
    ("Milwaukee", "WI", 43.04, -87.91, "MW", 1.6, "532"),
    ("Raleigh", "NC", 35.78, -78.64, "SE", 1.5, "276"),
    ("Oklahoma City", "OK", 35.47, -97.52, "SW", 1.4, "731"),
    ("Salt Lake City", "UT", 40.76, -111.89, "W", 1.3, "841"),
    ("New Orleans", "LA", 29.95, -90.07, "SE", 1.3, "701"),
    ("Albuquerque", "NM", 35.08, -106.65, "SW", 0.9, "871"),
    ("Boise", "ID", 43.62, -116.20, "W", 0.8, "837"),
)

# Fixed nodes: (node_id, node_type, name, lat, lon, region, categories a vendor ships or None)
FIXED_NODES: tuple[tuple[str, str, str, float, float, str, tuple[str, ...] | None], ...] = (
    ("DC-ALL", "dc", "Allentown DC", 40.61, -75.49, "NE", None),
    ("DC-ATL", "dc", "McDonough DC", 33.45, -84.15, "SE", None),
    ("DC-DFW", "dc", "Lancaster DC", 32.59, -96.76, "SW", None),
    ("DC-RNO", "dc", "Reno DC", 39.53, -119.81, "W", None),
    ("DC-CHI", "dc", "Joliet DC", 41.53, -88.08, "MW", None),
    ("3PL-MEM", "3pl", "Memphis 3PL", 35.15, -90.05, "SE", None),
    ("DS-HPT", "dropship", "High Point furniture vendor", 35.96, -80.01, "SE", ("furniture",)),
    ("DS-IND", "dropship", "City of Industry vendor", 34.02, -117.96, "W", ("electronics",)),
    ("DS-GRR", "dropship", "Grand Rapids home vendor", 42.96, -85.67, "MW", ("home",)),
)


def haversine_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray):
    """Great-circle distance in km, broadcasting over arrays."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dlat, dlon = p2 - p1, np.radians(lon2) - np.radians(lon1)
    a = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(a))


@dataclass
class Network:
    node_ids: list[str]
    node_types: list[str]
    names: list[str]
    regions: list[str]
    lat: np.ndarray
    lon: np.ndarray
    vendor_categories: list[tuple[str, ...] | None]
    ship_from_store: np.ndarray  # bool per node; True for every non-store node
    store_metro: np.ndarray  # metro index of a store, -1 for other nodes
    metro_lat: np.ndarray
    metro_lon: np.ndarray
    metro_weight: np.ndarray
    dist: np.ndarray  # km, metros x nodes

    @property
    def n(self) -> int:
        return len(self.node_ids)

    def of_type(self, node_type: str) -> np.ndarray:
        return np.array([t == node_type for t in self.node_types])


def build_network(cfg: dict[str, Any], rng: np.random.Generator) -> Network:
    net_cfg = cfg["network"]
    rows = list(FIXED_NODES)
    store_metro = [-1] * len(rows)
    n_stores = int(net_cfg["stores"])
    # The biggest metros get the first stores; the very biggest get a second one.
    order = np.argsort([-m[5] for m in METROS], kind="stable")
    picks = list(order) + list(order[:8])
    for k in range(n_stores):
        m = int(picks[k % len(picks)])
        city, state, lat, lon, region, _, _ = METROS[m]
        lat += float(rng.normal(0, 0.08))
        lon += float(rng.normal(0, 0.08))
        rows.append((f"ST-{k + 1:03d}", "store", f"{city} store {k + 1}", lat, lon, region, None))
        store_metro.append(m)
    types = [r[1] for r in rows]
    sfs = np.array([t != "store" for t in types])
    store_idx = [i for i, t in enumerate(types) if t == "store"]
    enabled = rng.random(len(store_idx)) < float(net_cfg["ship_from_store_share"])
    for i, ok in zip(store_idx, enabled, strict=True):
        sfs[i] = bool(ok)
    metro_lat = np.array([m[2] for m in METROS])
    metro_lon = np.array([m[3] for m in METROS])
    lat = np.array([r[3] for r in rows])
    lon = np.array([r[4] for r in rows])
    dist = haversine_km(metro_lat[:, None], metro_lon[:, None], lat[None, :], lon[None, :])
    weight = np.array([m[5] for m in METROS])
    return Network(
        node_ids=[r[0] for r in rows],
        node_types=types,
        names=[r[2] for r in rows],
        regions=[r[5] for r in rows],
        lat=lat,
        lon=lon,
        vendor_categories=[r[6] for r in rows],
        ship_from_store=sfs,
        store_metro=np.array(store_metro),
        metro_lat=metro_lat,
        metro_lon=metro_lon,
        metro_weight=weight / weight.sum(),
        dist=dist,
    )


@dataclass
class Carriers:
    """Flat table of (carrier, service level) rows."""

    carrier: list[str]
    service: list[str]
    transit: np.ndarray
    base_cost: np.ndarray
    cost_per_kg: np.ndarray
    effect: np.ndarray  # hidden reliability logit

    def index(self, carrier: str, service: str) -> int:
        for i, (c, s) in enumerate(zip(self.carrier, self.service, strict=True)):
            if c == carrier and s == service:
                return i
        raise KeyError(f"{carrier}/{service}")

    def find(self, carrier: str, service: str) -> int:
        try:
            return self.index(carrier, service)
        except KeyError:
            return -1


def build_carriers(cfg: dict[str, Any]) -> Carriers:
    rows = []
    for carrier, levels in cfg["carriers"].items():
        for service, (transit, base, per_kg, effect) in levels.items():
            rows.append((carrier, service, transit, base, per_kg, effect))
    return Carriers(
        carrier=[r[0] for r in rows],
        service=[r[1] for r in rows],
        transit=np.array([r[2] for r in rows], dtype=np.int64),
        base_cost=np.array([r[3] for r in rows], dtype=float),
        cost_per_kg=np.array([r[4] for r in rows], dtype=float),
        effect=np.array([r[5] for r in rows], dtype=float),
    )
