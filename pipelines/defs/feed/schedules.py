"""The routing feed's job and schedule: hourly by default (`[schedule] cron` in feed.toml)."""

from __future__ import annotations

import dagster as dg

from pipelines.defs.feed.assets import FEED_KEY, SCORE_KEYS
from pipelines.feed.config import ConfigError, load_config
from pipelines.settings import OmsiHome

FEED_JOB = "routing_feed"

feed_job = dg.define_asset_job(
    FEED_JOB,
    selection=dg.AssetSelection.assets(FEED_KEY),
    description="Publish a routing feed snapshot to the configured sinks.",
)


def _cron() -> str:
    # Read when the code location loads; a broken file keeps the default and the asset's run
    # reports the error.
    try:
        return load_config(OmsiHome.from_env().root).schedule_cron
    except ConfigError:
        return "0 * * * *"


def _newest(instance: dg.DagsterInstance, key: dg.AssetKey) -> float | None:
    event = instance.get_latest_materialization_event(key)
    return event.timestamp if event is not None else None


def build_feed_schedule(cron: str | None = None) -> dg.ScheduleDefinition:
    @dg.schedule(
        name="routing_feed_schedule",
        job=feed_job,
        cron_schedule=cron or _cron(),
        execution_timezone="UTC",
        description="Publishes the routing feed when the scores were materialized again since "
        "the last snapshot.",
    )
    def routing_feed_schedule(context: dg.ScheduleEvaluationContext):
        scored = [_newest(context.instance, key) for key in SCORE_KEYS]
        if any(t is None for t in scored):
            return dg.SkipReason(
                "no scores materialized yet (ml/delivery_risk_scores, ml/inventory_risk_scores):"
                " run `omsi run`"
            )
        published = _newest(context.instance, FEED_KEY)
        fresh = min(scored)
        if published is not None and published >= fresh:
            return dg.SkipReason("the last snapshot already has the newest scores")
        return dg.RunRequest(run_key=f"scores-{fresh}")

    return routing_feed_schedule
