from __future__ import annotations

import dagster as dg

from pipelines.defs.ml.assets import TRAIN_TAG, model_assets, score_assets

TRAINING_JOB = "train_models"

training_job = dg.define_asset_job(
    TRAINING_JOB,
    selection=dg.AssetSelection.assets(*model_assets, *score_assets),
    tags={TRAIN_TAG: "true"},
    description="Retrain both risk models, promote a better one, and score with the promoted ones.",
)
weekly_training = dg.ScheduleDefinition(
    name="weekly_training",
    job=training_job,
    # Mondays before the daily refresh: the week's new labels are in, routing reads fresh scores.
    cron_schedule="0 4 * * 1",
    description="Weekly retraining; a model is promoted only when it beats the promoted one.",
)


# The shadow replay's table, which marts.fct_shadow_routing reads: `omsi replay` writes it, on
# demand and outside every job (pipelines/replay/; docs/closed-loop.md says why).
shadow_routing_decisions = dg.AssetSpec(
    key=dg.AssetKey(["ml", "shadow_routing_decisions"]),
    group_name="ml",
    description="ml.shadow_routing_decisions: every first sourcing decision replayed by the "
    "routing feed's rule, written by `omsi replay` (not by any job).",
)


def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=[*model_assets, *score_assets, shadow_routing_decisions],
        jobs=[training_job],
        schedules=[weekly_training],
    )
