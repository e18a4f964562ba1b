from __future__ import annotations

import dagster as dg

from pipelines.defs.feed.assets import routing_feed
from pipelines.defs.feed.schedules import build_feed_schedule, feed_job


def defs() -> dg.Definitions:
    return dg.Definitions(assets=[routing_feed], jobs=[feed_job], schedules=[build_feed_schedule()])
