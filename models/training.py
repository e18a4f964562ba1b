"""Train a risk model on the past, judge it on the newest window, next to its baselines.

The split is by time, never random: rows sorted by their cutoff, the newest `test_share` held
out. Of the older rows, the newest `calibration_share` calibrates the fitted model (Platt scaling,
through a frozen estimator), and the rest fit it. Every step is seeded and has no early-stopping
holdout, so the same rows and configuration give the same model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from functools import cached_property

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator

from models.baselines import baselines_for
from models.buffers import ShortfallCurve
from models.drift import DriftReference
from models.explain import PathExplainer
from models.exposure import CountIntervals
from models.features import (
    SPECS,
    FeatureSpec,
    Vocabulary,
    categorical_mask,
    encode,
    learn_vocabulary,
)
from models.metrics import score_metrics

# Fewer labelled rows than this cannot give a test window worth reading.
MIN_LABELLED_ROWS = 200
# What an artifact holds and how it is scored. A release that changes either bumps it; the first
# run after retrains the model, and the new version replaces a promoted one of an older format
# once it passes its gates (2: path explanations and count intervals replaced occlusion values).
ARTIFACT_FORMAT = 2


@dataclass(frozen=True)
class TrainConfig:
    test_share: float = 0.20
    calibration_share: float = 0.10
    # Small, many-leafed trees overfit the hidden day-to-day noise of nodes and carriers; few
    # leaves with many rows each ranked the newest window best on the simulated worlds.
    max_iter: int = 300
    learning_rate: float = 0.05
    max_leaf_nodes: int = 15
    min_samples_leaf: int = 100
    l2_regularization: float = 1.0
    random_state: int = 0


# Delivery scores every open order on every run, so its tree count is its scoring time: it keeps
# 150 trees, at 0.05, which fitted the label noise less than 0.1 on the 20,000-order world
# (docs/decisions.md, "Small trees"). Inventory learns from a few thousand counts: 150 trees of
# 7 leaves overfitted less than 300 of 15 (PR-AUC 2.05 against 1.89 times the base rate on the
# 20,000-order world, 2.17 against 2.10 on the default one).
DEFAULT_CONFIGS = {
    "delivery": TrainConfig(max_iter=150, learning_rate=0.05),
    "inventory": TrainConfig(max_iter=150, max_leaf_nodes=7),
}


@dataclass
class Windows:
    """Which labelled rows fit, calibrate and test the model (positions in time order)."""

    fit: pd.DataFrame
    calibrate: pd.DataFrame
    test: pd.DataFrame

    def describe(self, spec: FeatureSpec) -> dict[str, dict[str, str | int]]:
        def window(frame: pd.DataFrame) -> dict[str, str | int]:
            times = frame[spec.time_column]
            return {"rows": len(frame), "from": str(times.min()), "to": str(times.max())}

        return {
            "fit": window(self.fit),
            "calibrate": window(self.calibrate),
            "test": window(self.test),
        }


@dataclass
class TrainedModel:
    """What the registry stores: the estimator and everything needed to use it the same way."""

    # The features this model was trained on (a later release may read more columns).
    spec: FeatureSpec
    estimator: CalibratedClassifierCV
    vocabulary: Vocabulary
    drift: DriftReference
    shortfall: ShortfallCurve | None
    # Inventory only: the usual days between counts, to score records between counts.
    intervals: CountIntervals | None
    config: dict

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        missing = [c for c in self.spec.features if c not in frame.columns]
        if missing:
            raise ValueError(
                f"{self.spec.table} lacks {', '.join(missing)}, which this {self.spec.model} model "
                f"reads: rebuild the warehouse (`omsi run`) or retrain (`omsi train`)"
            )
        return encode(frame, self.spec, self.vocabulary)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return self.estimator.predict_proba(self.encode(frame))[:, 1]

    def to_payload(self) -> dict:
        """Plain data and the estimator: what the registry serializes."""
        return {
            "model": self.spec.model,
            "features": features_of(self.spec),
            "estimator": self.estimator,
            "vocabulary": self.vocabulary,
            "drift": self.drift.to_dict(),
            "shortfall": self.shortfall.to_dict() if self.shortfall else None,
            "intervals": self.intervals.to_dict() if self.intervals else None,
            "config": self.config,
        }

    @classmethod
    def from_payload(cls, payload: dict) -> TrainedModel:
        features = payload["features"]
        spec = replace(
            SPECS[payload["model"]],
            categorical=tuple(features["categorical"]),
            numeric=tuple(features["numeric"]),
            factors={name: tuple(group) for name, group in features["factors"].items()},
        )
        return cls(
            spec=spec,
            estimator=payload["estimator"],
            vocabulary=payload["vocabulary"],
            drift=DriftReference.from_dict(payload["drift"]),
            shortfall=ShortfallCurve.from_dict(payload["shortfall"]),
            intervals=CountIntervals.from_dict(payload.get("intervals")),
            config=payload["config"],
        )

    @property
    def booster(self) -> HistGradientBoostingClassifier:
        """The fitted gradient-boosted model inside the calibration (raw scores, logit units)."""
        return self.estimator.calibrated_classifiers_[0].estimator.estimator

    @cached_property
    def explainer(self) -> PathExplainer:
        return PathExplainer(self.booster, self.spec)

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        """P(positive) from the booster's raw scores: `predict_proba` without a second pass."""
        # One calibration slice, so one calibrator; `tests/test_ml.py` checks it equals
        # predict_proba.
        return self.estimator.calibrated_classifiers_[0].calibrators[0].predict(raw)


def features_of(spec: FeatureSpec) -> dict:
    """The feature lists of a spec as plain data (the card and the artifact carry them)."""
    return {
        "categorical": list(spec.categorical),
        "numeric": list(spec.numeric),
        "factors": {name: list(group) for name, group in spec.factors.items()},
    }


def labelled_rows(frame: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    rows = frame[frame[spec.label].notna()]
    return rows.sort_values([spec.time_column, spec.key], kind="stable").reset_index(drop=True)


def split_by_time(labelled: pd.DataFrame, config: TrainConfig) -> Windows:
    n = len(labelled)
    test_start = int(round(n * (1 - config.test_share)))
    calibration_start = int(round(test_start * (1 - config.calibration_share)))
    return Windows(
        fit=labelled.iloc[:calibration_start],
        calibrate=labelled.iloc[calibration_start:test_start],
        test=labelled.iloc[test_start:],
    )


def observed_features(spec: FeatureSpec, frame: pd.DataFrame) -> FeatureSpec:
    """The spec without the features that never hold a value in `frame`.

    A source that lacks a field (Olist has no carrier transit, no stock counts) leaves whole
    columns empty; they carry nothing to learn, and scikit-learn's binning rejects them.
    """
    present = {c for c in spec.features if frame[c].notna().any()}
    factors = {
        name: tuple(f for f in group if f in present) for name, group in spec.factors.items()
    }
    return replace(
        spec,
        categorical=tuple(c for c in spec.categorical if c in present),
        numeric=tuple(c for c in spec.numeric if c in present),
        factors={name: group for name, group in factors.items() if group},
    )


def fit_model(spec: FeatureSpec, windows: Windows, config: TrainConfig) -> TrainedModel:
    spec = observed_features(spec, windows.fit)
    vocabulary = learn_vocabulary(windows.fit, spec)
    x_fit = encode(windows.fit, spec, vocabulary)
    y_fit = windows.fit[spec.label].astype(bool).to_numpy()
    booster = HistGradientBoostingClassifier(
        max_iter=config.max_iter,
        learning_rate=config.learning_rate,
        max_leaf_nodes=config.max_leaf_nodes,
        min_samples_leaf=config.min_samples_leaf,
        l2_regularization=config.l2_regularization,
        categorical_features=categorical_mask(spec),
        early_stopping=False,
        random_state=config.random_state,
    ).fit(x_fit, y_fit)
    calibrated = CalibratedClassifierCV(FrozenEstimator(booster), method="sigmoid").fit(
        encode(windows.calibrate, spec, vocabulary),
        windows.calibrate[spec.label].astype(bool).to_numpy(),
    )
    return TrainedModel(
        spec=spec,
        estimator=calibrated,
        vocabulary=vocabulary,
        drift=DriftReference.learn(x_fit, list(spec.features), categorical_mask(spec)),
        shortfall=ShortfallCurve.learn(windows.fit) if spec.model == "inventory" else None,
        intervals=CountIntervals.learn(windows.fit) if spec.model == "inventory" else None,
        config=asdict(config),
    )


@dataclass
class Evaluation:
    """Model and baselines on the same test rows, with the model's test predictions."""

    metrics: dict[str, dict[str, float]]
    test_keys: list[str]
    test_labels: np.ndarray
    test_predictions: np.ndarray


def evaluate(spec: FeatureSpec, model: TrainedModel, windows: Windows) -> Evaluation:
    train = pd.concat([windows.fit, windows.calibrate])
    y_train = train[spec.label].astype(bool).to_numpy()
    y_test = windows.test[spec.label].astype(bool).to_numpy()
    p_model = model.predict(windows.test)
    metrics = {"model": score_metrics(y_test, p_model)}
    for name, baseline in baselines_for(spec.model).items():
        baseline.fit(train, y_train)
        metrics[name] = score_metrics(y_test, baseline.predict(windows.test))
    return Evaluation(
        metrics=metrics,
        test_keys=windows.test[spec.key].astype(str).tolist(),
        test_labels=y_test,
        test_predictions=p_model,
    )


def train(spec: FeatureSpec, frame: pd.DataFrame, config: TrainConfig | None = None):
    """Split, fit, calibrate and evaluate; returns the model, its windows and its evaluation."""
    config = config or DEFAULT_CONFIGS[spec.model]
    labelled = labelled_rows(frame, spec)
    if len(labelled) < MIN_LABELLED_ROWS:
        raise ValueError(
            f"{spec.model} model: only {len(labelled)} labelled rows in {spec.table} (at least "
            f"{MIN_LABELLED_ROWS} needed); ingest more history, then `omsi run`"
        )
    y = labelled[spec.label].astype(bool)
    if y.nunique() < 2:
        raise ValueError(
            f"{spec.model} model: every labelled row has the same label; nothing to learn"
        )
    windows = split_by_time(labelled, config)
    model = fit_model(spec, windows, config)
    return model, windows, evaluate(spec, model, windows)
