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


def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=[*model_assets, *score_assets], jobs=[training_job], schedules=[weekly_training]
    )
