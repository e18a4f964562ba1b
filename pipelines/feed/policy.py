"""How a routing engine uses the feed: the one rule the simulator's feed policy and the shadow
replay both apply, read from a files-sink snapshot exactly as an integrator would read it.

The rule, as commercial order optimizers weigh a node's performance beside its cost:
- rank candidate nodes by their own cost plus the node's `routing_penalty` (currency per
  order), cheapest first;
- source a line from the first node whose record, less the record's suggested buffer, covers
  it; when none does, fall back to the first whose record covers it at all (the buffer is a
  preference, not a refusal: refusing would cancel orders the stock could have filled).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import orjson

Node = TypeVar("Node")


@dataclass(frozen=True)
class FeedScores:
    """What a routing engine reads from one snapshot."""

    snapshot_id: str
    penalty: dict[str, float]  # node_id -> routing_penalty
    buffer: dict[tuple[str, str], int]  # (node_id, sku) -> suggested_buffer_units

    def penalty_of(self, node_id: str) -> float:
        """A node the snapshot does not score carries no penalty."""
        return self.penalty.get(node_id, 0.0)

    def buffer_of(self, node_id: str, sku: str) -> int:
        return self.buffer.get((node_id, sku), 0)


def read_snapshot(folder: Path) -> FeedScores:
    """A files-sink snapshot folder (or its `latest` link): its node penalties and buffers.

    Reads the JSON Lines files the manifest names, the format an integrator is given.
    """
    folder = Path(folder)
    manifest_path = folder / "manifest.json"
    if not manifest_path.exists():
        raise FileNotFoundError(
            f"no feed snapshot at {folder} (no manifest.json): publish one with `omsi feed`"
        )
    manifest = orjson.loads(manifest_path.read_bytes())
    penalty = {
        row["node_id"]: float(row["routing_penalty"] or 0.0)
        for row in _json_lines(folder / "node_scores.jsonl")
    }
    buffer = {
        (row["node_id"], row["sku"]): int(row["suggested_buffer_units"] or 0)
        for row in _json_lines(folder / "availability.jsonl")
    }
    return FeedScores(manifest["snapshot_id"], penalty, buffer)


def _json_lines(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line]


def rank(
    candidates: Sequence[Node], own_cost: Callable[[Node], float], penalty: Callable[[Node], float]
) -> list[Node]:
    """Candidates by own cost plus routing penalty, cheapest first; ties keep the given order."""
    return sorted(candidates, key=lambda n: own_cost(n) + penalty(n))


def choose(
    ranked: Sequence[Node],
    quantity: int,
    on_hand: Mapping[Node, int],
    buffer: Callable[[Node], int],
) -> Node | None:
    """The first ranked node whose record less its buffer covers `quantity`, else the first
    whose record covers it, else None."""
    fallback = None
    for n in ranked:
        have = on_hand.get(n, 0)
        if have - buffer(n) >= quantity:
            return n
        if fallback is None and have >= quantity:
            fallback = n
    return fallback
