"""Routing policies in the simulator and the common random numbers that make two runs comparable.

The closed-loop experiment runs one world twice, once per routing policy. Its difference means
something only if every draw a routing decision does not cause is shared: these tests prove it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import orjson
import pytest

from pipelines.simulator import generate
from pipelines.simulator.network import METROS
from pipelines.simulator.routing import FeedRouting, OmsRouting, routing_from_config
from pipelines.simulator.sourcing import RoutingPlan, Sourcing

ORDERS, DAYS, SEED = 2500, 30, 7
# Ids numbered in the order the simulator emits (events, shipments, contacts, returns, parcels'
# tracking): one extra rejection renumbers every later one, so they are not part of what an
# order's events say.
_EMISSION_NUMBERS = ("event_id", "shipment_id", "contact_id", "return_id", "tracking_number")


def _files(out: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name != "world.json"
    }


def _events(out: Path) -> list[dict]:
    rows = []
    for path in sorted((out / "events").glob("*.jsonl")):
        rows += [orjson.loads(line) for line in path.read_bytes().splitlines()]
    return rows


def _key(event: dict) -> bytes:
    data = {k: v for k, v in event["data"].items() if k not in _EMISSION_NUMBERS}
    return orjson.dumps(
        [event["event_type"], event["occurred_at"], event["source"], data],
        option=orjson.OPT_SORT_KEYS,
    )


def _by_order(events: list[dict]) -> tuple[dict[str, Counter], Counter]:
    """Each order's events (as a multiset of their content) and the events of no order."""
    orders: dict[str, Counter] = defaultdict(Counter)
    other: Counter = Counter()
    for e in events:
        oid = e["data"].get("order_id")
        (orders[oid] if oid else other)[_key(e)] += 1
    return orders, other


def write_snapshot(folder: Path, penalty: dict[str, float], buffer: dict[tuple, int]) -> Path:
    """A files-sink snapshot holding just what the feed policy reads."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_bytes(orjson.dumps({"snapshot_id": f"test-{folder.name}"}))
    (folder / "node_scores.jsonl").write_bytes(
        b"".join(
            orjson.dumps({"node_id": n, "routing_penalty": p}) + b"\n" for n, p in penalty.items()
        )
    )
    (folder / "availability.jsonl").write_bytes(
        b"".join(
            orjson.dumps({"node_id": n, "sku": s, "suggested_buffer_units": u}) + b"\n"
            for (n, s), u in buffer.items()
        )
    )
    return folder


@pytest.fixture(scope="module")
def oms_world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("oms")
    generate(out, orders=ORDERS, days=DAYS, seed=SEED)
    return out


def test_a_routing_that_never_switches_writes_the_same_bytes(oms_world, tmp_path):
    snapshot = write_snapshot(tmp_path / "snap", {"DC-01": 100.0}, {})
    explicit = tmp_path / "explicit"
    generate(explicit, orders=ORDERS, days=DAYS, seed=SEED, routing=OmsRouting())
    dormant = tmp_path / "dormant"
    routing = FeedRouting(snapshot, switch_day=DAYS + 100)
    generate(dormant, orders=ORDERS, days=DAYS, seed=SEED, routing=routing)
    assert _files(explicit) == _files(oms_world)
    assert _files(dormant) == _files(oms_world)
    assert routing.snapshots == []


class _SwapOnce:
    """The OMS's routing, except that on one day one metro's first two candidates swap: the
    smallest change of routing there is."""

    def __init__(self, day: int, metro: int) -> None:
        self.day, self.metro = day, metro

    def snapshot_due(self, day: int) -> bool:
        return False

    def plan(self, day: int, sourcing: Sourcing) -> RoutingPlan:
        oms = sourcing.oms_plan
        if day != self.day:
            return oms
        ranked = list(oms.ranked)
        first, second, *rest = ranked[self.metro]
        ranked[self.metro] = [second, first, *rest]
        return RoutingPlan(ranked, oms.transfer_ranked)

    def describe(self) -> dict:
        return {"policy": "swap-once"}


def _demand(events: list[dict]) -> list[tuple]:
    """What each customer asked for, when (the promise is not here: it reads the stock)."""
    return [
        (e["occurred_at"], e["data"]["order_id"], e["data"]["customer_id"], e["data"]["lines"],
         e["data"]["ship_to"], e["data"]["fulfillment_method"])
        for e in events
        if e["event_type"] == "order.placed"
    ]  # fmt: skip


def _allocated_nodes(events: list[dict]) -> dict[str, set[str]]:
    nodes: dict[str, set[str]] = defaultdict(set)
    for e in events:
        if e["event_type"] == "order.line_allocated":
            nodes[e["data"]["order_id"]].add(e["data"]["node_id"])
    return nodes


def test_one_changed_decision_changes_only_what_follows_from_it(oms_world, tmp_path):
    base_events = _events(oms_world)
    placed = {e["data"]["order_id"]: e for e in base_events if e["event_type"] == "order.placed"}
    # The busiest destination of a mid-world day, so that the swap meets at least one order.
    day = DAYS // 2
    date = f"2024-09-{day + 1:02d}"
    postal = Counter(
        e["data"]["ship_to"]["postal_code"][:-2]
        for e in placed.values()
        if e["occurred_at"].startswith(date) and e["data"]["fulfillment_method"] == "delivery"
    )
    assert postal, "the day has orders"
    swapped = tmp_path / "swapped"
    metro = [m[6] for m in METROS].index(postal.most_common(1)[0][0])
    generate(swapped, orders=ORDERS, days=DAYS, seed=SEED, routing=_SwapOnce(day, metro))
    new_events = _events(swapped)

    base_orders, base_other = _by_order(base_events)
    new_orders, new_other = _by_order(new_events)
    # Demand is common: the same orders, placed at the same times with the same contents.
    assert base_orders.keys() == new_orders.keys()
    assert _demand(new_events) == _demand(base_events)
    changed = sorted(
        (o for o in base_orders if base_orders[o] != new_orders[o]),
        key=lambda o: placed[o]["occurred_at"],
    )
    assert changed, "the swap must change at least one decision"
    first = changed[0]
    assert placed[first]["occurred_at"].startswith(date)
    # Every other changed order follows, in time and in cause: it was sourced (in either run)
    # from a node whose stock or capacity an earlier changed order moved.
    before, after = _allocated_nodes(base_events), _allocated_nodes(new_events)
    touched = before[first] | after[first]
    for o in changed[1:]:
        assert placed[o]["occurred_at"] >= placed[first]["occurred_at"]
        nodes = before[o] | after[o]
        assert nodes & touched, f"{o} changed without sharing a node with an earlier change"
        touched |= nodes
    # Events of no order (stock counts, receipts, shrink) differ only at those nodes.
    for key in (base_other - new_other) + (new_other - base_other):
        assert orjson.loads(key)[3]["node_id"] in touched
    # And the change stays local: nearly every order placed after it is untouched.
    later = [o for o in placed if placed[o]["occurred_at"] > placed[first]["occurred_at"]]
    assert len(changed) < 0.1 * len(later)


def test_the_feed_policy_routes_away_from_a_penalised_node(oms_world, tmp_path):
    base = _allocated_nodes(_events(oms_world))
    counts = Counter(n for nodes in base.values() for n in nodes)
    busiest = counts.most_common(1)[0][0]
    snapshot = write_snapshot(tmp_path / "snap", {busiest: 1000.0}, {})
    out = tmp_path / "feed"
    routing = routing_from_config(
        {"policy": "feed", "feed_snapshot": str(snapshot), "switch_day": DAYS // 2}
    )
    generate(out, orders=ORDERS, days=DAYS, seed=SEED, routing=routing)
    events = _events(out)
    first_allocations = Counter(
        e["data"]["node_id"]
        for e in events
        if e["event_type"] == "order.line_allocated"
        and e["data"]["attempt"] == 1
        and e["occurred_at"] >= f"2024-09-{DAYS // 2 + 2:02d}"
        and e["occurred_at"] < f"2024-09-{DAYS:02d}"
    )
    share = first_allocations[busiest] / sum(first_allocations.values())
    assert share < 0.5 * counts[busiest] / sum(counts.values())
    meta = orjson.loads((out / "truth" / "world.json").read_bytes())
    assert meta["routing"]["snapshots"] == [{"day": DAYS // 2, "snapshot_id": "test-snap"}]


def test_buffers_steer_lines_off_held_records_but_never_refuse_them(oms_world, tmp_path):
    """A buffer as large as every record of the busiest node moves its lines to other nodes,
    yet the node still serves what no other node's record covers (a buffer is a preference)."""
    base = _allocated_nodes(_events(oms_world))
    counts = Counter(n for nodes in base.values() for n in nodes)
    busiest = counts.most_common(1)[0][0]
    skus = [
        line.split(",")[0]
        for line in (oms_world / "reference" / "skus.csv").read_text().splitlines()[1:]
    ]
    snapshot = write_snapshot(tmp_path / "snap", {}, {(busiest, s): 10**6 for s in skus})
    out = tmp_path / "buffered"
    generate(out, orders=ORDERS, days=DAYS, seed=SEED, routing=FeedRouting(snapshot))
    after = Counter(n for nodes in _allocated_nodes(_events(out)).values() for n in nodes)
    assert 0 < after[busiest] < 0.7 * counts[busiest]


def test_a_missing_snapshot_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="omsi feed"):
        routing_from_config({"policy": "feed", "feed_snapshot": str(tmp_path / "nope")})
    with pytest.raises(ValueError, match="feed_snapshot"):
        routing_from_config({"policy": "feed"})
    with pytest.raises(ValueError, match="unknown"):
        routing_from_config({"policy": "fastest"})
