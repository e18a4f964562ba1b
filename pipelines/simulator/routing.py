"""Who decides where the simulated OMS sources from: its own rules, or its rules plus our feed.

`OmsRouting` is the OMS as it ships: nodes by distance and pick/pack cost, from the stock record
as it stands. `FeedRouting` is the same engine after an integrator wired omsi's routing feed into
it (pipelines/feed/policy.py): from `switch_day` on, it reads a files-sink snapshot each time one
is due and adds each node's routing penalty to its cost and holds each record's buffer back.
Both decide only the order of candidates and the buffers; everything else about the world is
the same, draw for draw (draws.py), which is what makes two runs comparable.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from pipelines.feed.policy import read_snapshot
from pipelines.simulator.sourcing import RoutingPlan, Sourcing


class Routing(Protocol):
    def snapshot_due(self, day: int) -> bool:
        """Whether the routing reads a new snapshot at the start of `day` (the engine then
        writes every finished day's file first, so a pipeline can read them)."""
        ...

    def plan(self, day: int, sourcing: Sourcing) -> RoutingPlan: ...


class OmsRouting:
    """The OMS's own sourcing rules."""

    name = "oms"

    def snapshot_due(self, day: int) -> bool:
        return False

    def plan(self, day: int, sourcing: Sourcing) -> RoutingPlan:
        return sourcing.oms_plan

    def describe(self) -> dict:
        return {"policy": self.name}


class FeedRouting:
    """The OMS's rules plus the routing feed, from `switch_day` on.

    `snapshot(day)` gives the snapshot folder to read at the start of `day`: a fixed folder, or
    (the closed-loop experiment) a function that first runs the pipeline on the events so far
    and publishes one. It is called on `switch_day` and every `refresh_days` after it (once,
    when `refresh_days` is None).
    """

    name = "feed"

    def __init__(
        self,
        snapshot: Path | Callable[[int], Path],
        *,
        switch_day: int = 0,
        refresh_days: int | None = None,
    ) -> None:
        if refresh_days is not None and refresh_days < 1:
            raise ValueError("refresh_days must be at least 1")
        self._snapshot = snapshot if callable(snapshot) else (lambda _day: Path(snapshot))
        self.switch_day, self.refresh_days = switch_day, refresh_days
        self._plan: RoutingPlan | None = None
        self.snapshots: list[tuple[int, str]] = []  # (day, snapshot_id) of every snapshot read

    def snapshot_due(self, day: int) -> bool:
        if day < self.switch_day:
            return False
        if self._plan is None:
            return True
        return self.refresh_days is not None and (day - self.switch_day) % self.refresh_days == 0

    def plan(self, day: int, sourcing: Sourcing) -> RoutingPlan:
        if day < self.switch_day:
            return sourcing.oms_plan
        if self.snapshot_due(day):
            scores = read_snapshot(self._snapshot(day))
            self._plan = sourcing.plan_with(scores)
            self.snapshots.append((day, scores.snapshot_id))
        return self._plan

    def describe(self) -> dict:
        return {
            "policy": self.name,
            "switch_day": self.switch_day,
            "refresh_days": self.refresh_days,
            "snapshots": [{"day": d, "snapshot_id": sid} for d, sid in self.snapshots],
        }


def routing_from_config(section: dict) -> OmsRouting | FeedRouting:
    """The routing a world's `[routing]` section (or the command line) asks for."""
    policy = section.get("policy", "oms")
    if policy == "oms":
        return OmsRouting()
    if policy != "feed":
        raise ValueError(f"routing policy {policy!r} is unknown: use 'oms' or 'feed'")
    snapshot = section.get("feed_snapshot") or ""
    if not snapshot:
        raise ValueError(
            "the feed policy reads a routing-feed snapshot: set routing.feed_snapshot (or"
            " --feed-snapshot) to a files-sink snapshot folder, e.g. $OMSI_HOME/feed/latest"
        )
    read_snapshot(Path(snapshot))  # fail now, not on the switch day, when it is not one
    return FeedRouting(Path(snapshot), switch_day=int(section.get("switch_day", 0)))
