"""Training and scoring of the risk models as assets of the `ml` group, with their checks.

- `ml/<model>_model` trains, evaluates and promotes when no model is promoted yet, when the
  promoted one was made for an older release (other features or artifact format), or when the
  run asks for it (tag `omsi/train`, set by the weekly schedule's job); otherwise it keeps the
  promoted version. Its blocking check fails (ERROR) when the promoted model is below its
  gates, and warns when no model is promoted yet (so the marts still reach serving).
- `ml/<model>_risk_scores` scores what is open with the promoted model, every run. Its blocking
  check fails when the scores do not cover every row to score; a drift check warns above PSI 0.2.
"""

# No `from __future__ import annotations`: Dagster reads parameter types from the signature.
# Training and scoring import scikit-learn and skops inside the assets, not here: 2.7 s that
# every `omsi` command loading the definitions would pay, and that `omsi run` pays while dbt
# runs instead (pipelines/preload.py).
import dagster as dg

from models.drift import PSI_WARNING
from models.promotion import gate_failures
from pipelines.defs.warehouse_resource import WAREHOUSE_POOL, WarehouseResource

TRAIN_TAG = "omsi/train"
FEATURE_TABLES = {"delivery": "ml_delivery_features", "inventory": "ml_inventory_features"}
# What each model's scores cover: (score table, feature-table filter for the rows to score).
SCORED_ROWS = {
    "delivery": ("delivery_risk_scores", "is_open"),
    "inventory": ("inventory_risk_scores", "is_current_record"),
}


def _training_asset(model: str) -> dg.AssetsDefinition:
    key = dg.AssetKey(["ml", f"{model}_model"])

    @dg.asset(
        key=key,
        group_name="ml",
        deps=[dg.AssetKey(["ml", FEATURE_TABLES[model]])],
        pool=WAREHOUSE_POOL,
        description=f"The promoted {model}-risk model: trained, judged against baselines, registered.",
        check_specs=[dg.AssetCheckSpec("promoted_model_meets_gates", asset=key, blocking=True)],
    )
    def train_asset(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
        from models.registry import Registry
        from pipelines.ml.training_run import FeaturesMissing, is_outdated, train_model

        registry = Registry(warehouse.paths.models)
        metadata = {}
        asked = context.run.tags.get(TRAIN_TAG) == "true"
        promoted = registry.promoted(model)
        # A release that changed the model's features or format retrains it on the first run.
        outdated = promoted is not None and is_outdated(promoted.card, model)
        if promoted is None or asked or outdated:
            try:
                with warehouse.connect() as con:
                    outcome = train_model(con, registry, model)
                context.log.info(outcome.summary())
                metadata = {"trained": outcome.version, "decision": outcome.reason}
                metadata |= {f"test.{k}": v for k, v in outcome.metrics["model"].items()}
            except (ValueError, FeaturesMissing) as exc:
                context.log.warning(f"{model} model not trained: {exc}")
                metadata = {"not_trained": str(exc)}
        promoted = registry.promoted(model)
        metadata["promoted"] = promoted.version if promoted else "none"
        yield dg.MaterializeResult(metadata=metadata)
        if promoted is None:
            yield dg.AssetCheckResult(
                check_name="promoted_model_meets_gates",
                passed=False,
                severity=dg.AssetCheckSeverity.WARN,
                description=f"no {model} model is promoted yet; nothing will be scored",
            )
            return
        failures = gate_failures(model, promoted.card["metrics"])
        yield dg.AssetCheckResult(
            check_name="promoted_model_meets_gates",
            passed=not failures,
            severity=dg.AssetCheckSeverity.ERROR,
            description="; ".join(failures) or "beats its baselines and is calibrated",
            metadata={"version": promoted.version},
        )

    return train_asset


def _scoring_asset(model: str) -> dg.AssetsDefinition:
    table, scored_filter = SCORED_ROWS[model]
    key = dg.AssetKey(["ml", table])

    @dg.asset(
        key=key,
        group_name="ml",
        deps=[dg.AssetKey(["ml", f"{model}_model"]), dg.AssetKey(["ml", FEATURE_TABLES[model]])],
        pool=WAREHOUSE_POOL,
        description=f"ml.{table}: what is open now, scored by the promoted {model} model.",
        check_specs=[
            dg.AssetCheckSpec("scores_cover_open_rows", asset=key, blocking=True),
            dg.AssetCheckSpec("feature_drift_below_warning", asset=key),
        ],
    )
    def score_asset(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
        from datetime import UTC, datetime

        from models.registry import Registry
        from pipelines.ml import scoring_run

        scorer = {"delivery": scoring_run.score_delivery, "inventory": scoring_run.score_inventory}
        registry = Registry(warehouse.paths.models)
        scored_at = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        try:
            with warehouse.connect() as con:
                outcome = scorer[model](con, registry, scored_at)
                expected = con.execute(
                    f"select count(*) from ml.{FEATURE_TABLES[model]} where {scored_filter}"
                ).fetchall()[0][0]
                written = con.execute(
                    f"select count(*) from ml.{table} where model_version = ?", [outcome.version]
                ).fetchall()[0][0]
        except scoring_run.NoPromotedModel as exc:
            context.log.warning(str(exc))
            yield dg.MaterializeResult(metadata={"not_scored": str(exc)})
            yield dg.AssetCheckResult(
                check_name="scores_cover_open_rows",
                passed=False,
                severity=dg.AssetCheckSeverity.WARN,
                description=str(exc),
            )
            yield dg.AssetCheckResult(
                check_name="feature_drift_below_warning", passed=True, description="nothing scored"
            )
            return
        context.log.info(outcome.summary())
        yield dg.MaterializeResult(
            metadata={
                "rows": outcome.rows,
                "model_version": outcome.version,
                "scored_at": str(scored_at),
            }
        )
        yield dg.AssetCheckResult(
            check_name="scores_cover_open_rows",
            passed=written == expected,
            severity=dg.AssetCheckSeverity.ERROR,
            description=f"{written:,} scores for {expected:,} rows to score",
        )
        yield dg.AssetCheckResult(
            check_name="feature_drift_below_warning",
            passed=not outcome.drifting,
            severity=dg.AssetCheckSeverity.WARN,
            description=(
                f"PSI above {PSI_WARNING}: {', '.join(outcome.drifting)}"
                if outcome.drifting
                else f"every feature's PSI is at most {PSI_WARNING}"
            ),
        )

    return score_asset


model_assets = [_training_asset("delivery"), _training_asset("inventory")]
score_assets = [_scoring_asset("delivery"), _scoring_asset("inventory")]
