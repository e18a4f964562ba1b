"""Where a snapshot goes. Each sink publishes a whole snapshot or nothing a reader would take
for one, and publishing a snapshot a sink already holds changes nothing."""

from __future__ import annotations

from dataclasses import dataclass

DELIVERED = "delivered"
ALREADY_DELIVERED = "already_delivered"
DEAD_LETTERED = "dead_lettered"
FAILED = "failed"


@dataclass(frozen=True)
class SinkResult:
    sink: str
    snapshot_id: str
    outcome: str  # one of the constants above
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome in (DELIVERED, ALREADY_DELIVERED)
