"""Train, judge, register and (when it is better) promote each risk model.

One run per model: read its feature table, train on the past and test on the newest window,
score the promoted model again on that same window, register the new version with its card, and
promote it only when it passes its gates and beats the promoted one. The metrics table and the
backtest predictions are written from what the registry holds.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version as package_version

import duckdb
import pandas as pd

from models.features import SPECS, FeatureSpec
from models.metrics import score_metrics
from models.promotion import PRIMARY_METRIC, beats, gate_failures
from models.registry import Registry, load_artifact
from models.training import ARTIFACT_FORMAT, TrainConfig, TrainedModel, features_of, train
from pipelines.ml.tables import read_frame, replace_rows, replace_table, table_exists

LIBRARIES = ("scikit-learn", "numpy", "pandas", "duckdb", "skops", "dbt-core")
BACKTEST = {"delivery": "delivery_risk_backtest", "inventory": "inventory_risk_backtest"}


class FeaturesMissing(RuntimeError):
    """The feature tables are not built yet."""


@dataclass
class TrainingOutcome:
    model: str
    version: str
    promoted: bool
    reason: str
    metrics: dict[str, dict[str, float]]
    gate_failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        primary = PRIMARY_METRIC[self.model]
        own = self.metrics["model"]
        best = max(
            (v[primary] for k, v in self.metrics.items() if k != "model"), default=float("nan")
        )
        verdict = "promoted" if self.promoted else "not promoted"
        return (
            f"{self.model}: {self.version} {verdict} ({self.reason}); test {primary} "
            f"{own[primary]:.3f} vs best baseline {best:.3f}, ECE {own['ece']:.3f}, "
            f"{self.seconds:.1f} s"
        )


def feature_frame(
    con: duckdb.DuckDBPyConnection, spec: FeatureSpec, where: str = "true"
) -> pd.DataFrame:
    schema, table = spec.table.split(".")
    if not table_exists(con, table, schema):
        raise FeaturesMissing(
            f"{spec.table} does not exist yet: build the warehouse first (`omsi run`)"
        )
    return read_frame(con, f"select * from {spec.table} where {where}")


def is_outdated(card: dict, model: str) -> bool:
    """The promoted model was made for an older release: other features, or another artifact
    format. The first run after such a release retrains it."""
    return (
        card.get("spec_features") != features_of(SPECS[model])
        or card.get("artifact_format") != ARTIFACT_FORMAT
    )


def train_model(
    con: duckdb.DuckDBPyConnection,
    registry: Registry,
    model: str,
    config: TrainConfig | None = None,
) -> TrainingOutcome:
    started = time.perf_counter()
    spec = SPECS[model]
    frame = feature_frame(con, spec)
    trained, windows, evaluation = train(spec, frame, config)
    failures = gate_failures(model, evaluation.metrics)
    card = {
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "feature_table": spec.table,
        "label": spec.label,
        # What the model reads, and the release's full list it was chosen from (features a
        # source never fills are left out of the model).
        "features": features_of(trained.spec),
        "spec_features": features_of(spec),
        "artifact_format": ARTIFACT_FORMAT,
        "windows": windows.describe(spec),
        "rows": {
            "table": len(frame),
            "labelled": sum(len(w) for w in (windows.fit, windows.calibrate, windows.test)),
        },
        "metrics": evaluation.metrics,
        "gate_failures": failures,
        "config": trained.config,
        "libraries": {name: package_version(name) for name in LIBRARIES}
        | {"python": platform.python_version()},
    }
    version = registry.register(model, trained.to_payload(), card)
    promoted = registry.promoted(model)
    decision = {"model": model, "candidate": version.version, "gate_failures": failures}
    if failures:
        is_promoted, reason = False, "below its gates: " + "; ".join(failures)
    elif promoted is None:
        is_promoted, reason = True, "first version to pass its gates"
    elif is_outdated(promoted.card, model):
        is_promoted, reason = True, f"replaces {promoted.version}, made for an older release"
    else:
        # The promoted model, scored again on the candidate's (newest) test window.
        incumbent = TrainedModel.from_payload(load_artifact(promoted))
        incumbent_metrics = score_metrics(evaluation.test_labels, incumbent.predict(windows.test))
        decision |= {"promoted": promoted.version, "promoted_metrics_on_window": incumbent_metrics}
        if beats(model, evaluation.metrics["model"], incumbent_metrics):
            is_promoted, reason = True, f"beats {promoted.version} on the newest window"
        else:
            is_promoted, reason = False, f"does not beat {promoted.version} on the newest window"
    decision |= {
        "candidate_metrics": evaluation.metrics["model"],
        "decision": reason,
        "is_promoted": is_promoted,
    }
    if is_promoted:
        registry.promote(version, decision)
    else:
        registry.record(model, decision)
    _write_backtest(con, spec, version.version, windows.test, evaluation)
    write_metrics_table(con, registry)
    return TrainingOutcome(
        model,
        version.version,
        is_promoted,
        reason,
        evaluation.metrics,
        failures,
        time.perf_counter() - started,
    )


def _write_backtest(con, spec: FeatureSpec, version: str, test: pd.DataFrame, evaluation) -> None:
    key = "order_id" if spec.model == "delivery" else "count_id"
    score, label = (
        ("p_late", "is_late") if spec.model == "delivery" else ("p_inaccurate", "is_inaccurate")
    )
    frame = pd.DataFrame(
        {
            key: test[key].astype(str).to_numpy(),
            "model_version": version,
            score: evaluation.test_predictions,
            label: evaluation.test_labels,
        }
    )
    replace_rows(
        con,
        BACKTEST[spec.model],
        frame,
        f"select {key}::varchar as {key}, model_version::varchar as model_version, "
        f"{score}::double as {score}, {label}::boolean as {label} from frame",
        "model_version = ?",
        [version],
    )


def write_metrics_table(con: duckdb.DuckDBPyConnection, registry: Registry) -> None:
    """ml.model_metrics from every registered version's card (the registry is the record)."""
    rows = []
    for model in SPECS:
        promoted = registry.promoted(model)
        for version in registry.versions(model):
            card = version.card
            for scorer, metrics in card["metrics"].items():
                for metric, value in metrics.items():
                    rows.append(
                        {
                            "model": model,
                            "model_version": version.version,
                            "is_promoted": promoted is not None
                            and promoted.version == version.version,
                            "trained_at": card["trained_at"],
                            "scorer": scorer,
                            "metric": metric,
                            "value": value,
                        }
                    )
    frame = pd.DataFrame(
        rows,
        columns=[
            "model",
            "model_version",
            "is_promoted",
            "trained_at",
            "scorer",
            "metric",
            "value",
        ],
    )
    replace_table(
        con,
        "model_metrics",
        frame,
        "select model::varchar as model, model_version::varchar as model_version, "
        "is_promoted::boolean as is_promoted, "
        "cast(cast(trained_at as timestamptz) at time zone 'UTC' as timestamp) as trained_at, "
        "scorer::varchar as scorer, metric::varchar as metric, value::double as value from frame",
    )


def train_models(
    con: duckdb.DuckDBPyConnection,
    registry: Registry,
    models: tuple[str, ...] = tuple(SPECS),
    config: TrainConfig | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[TrainingOutcome]:
    outcomes = []
    for model in models:
        if progress:
            progress(f"training the {model} model")
        outcome = train_model(con, registry, model, config)
        if progress:
            progress("  " + outcome.summary())
        outcomes.append(outcome)
    return outcomes
