"""Score what is open with the promoted models and write the `ml` score tables.

- ml.delivery_risk_scores: every open order (allocated, neither completed nor cancelled);
- ml.inventory_risk_scores and ml.cycle_count_list: every current node/SKU record;
- ml.feature_drift: per scoring run and feature, the PSI of the scored rows against training.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import pandas as pd

from models.drift import PSI_WARNING
from models.features import DELIVERY, INVENTORY
from models.registry import Registry, load_artifact
from models.scoring import COUNTS_PER_NODE, cycle_count_list, drift_of, score_orders, score_records
from models.training import TrainedModel
from pipelines.ml.tables import replace_rows, replace_table
from pipelines.ml.training_run import feature_frame


class NoPromotedModel(RuntimeError):
    """No version of a model has passed its gates yet."""


@dataclass
class ScoringOutcome:
    model: str
    version: str
    rows: int
    drifting: list[str]

    def summary(self) -> str:
        drift = (
            f"; drift above {PSI_WARNING} in {', '.join(self.drifting)}" if self.drifting else ""
        )
        return f"{self.model}: scored {self.rows:,} rows with {self.version}{drift}"


def promoted_model(registry: Registry, model: str) -> tuple[str, TrainedModel]:
    version = registry.promoted(model)
    if version is None:
        raise NoPromotedModel(
            f"no {model} model is promoted yet: `omsi train --model {model}` trains one "
            "(a model is promoted once it beats its baselines and is calibrated)"
        )
    return version.version, TrainedModel.from_payload(load_artifact(version))


def score_delivery(
    con: duckdb.DuckDBPyConnection, registry: Registry, scored_at: datetime
) -> ScoringOutcome:
    version, model = promoted_model(registry, "delivery")
    frame = feature_frame(con, DELIVERY, "is_open")
    scores = score_orders(model, frame)
    context = frame[["order_id", "node_id", "node_type", "carrier", "service_level", "promised_by"]]
    scores = scores.merge(context, on="order_id", how="left").assign(
        scored_at=scored_at, model_version=version
    )
    replace_table(
        con,
        "delivery_risk_scores",
        scores,
        """
        select
            order_id::varchar as order_id,
            scored_at::timestamp as scored_at,
            model_version::varchar as model_version,
            p_late::double as p_late,
            node_id::varchar as node_id,
            node_type::varchar as node_type,
            carrier::varchar as carrier,
            service_level::varchar as service_level,
            promised_by::timestamp as promised_by,
            factor_1::varchar as factor_1, contribution_1::double as contribution_1,
            factor_2::varchar as factor_2, contribution_2::double as contribution_2,
            factor_3::varchar as factor_3, contribution_3::double as contribution_3,
            suggested_action::varchar as suggested_action
        from frame order by order_id
        """,
    )
    return ScoringOutcome(
        "delivery",
        version,
        len(scores),
        _write_drift(con, "delivery", version, model, frame, scored_at),
    )


def score_inventory(
    con: duckdb.DuckDBPyConnection,
    registry: Registry,
    scored_at: datetime,
    per_node: int = COUNTS_PER_NODE,
) -> ScoringOutcome:
    version, model = promoted_model(registry, "inventory")
    frame = feature_frame(con, INVENTORY, "is_current_record")
    scores = score_records(model, frame)
    replace_table(
        con,
        "inventory_risk_scores",
        scores.assign(scored_at=scored_at, model_version=version),
        """
        select
            node_id::varchar as node_id, sku::varchar as sku, scored_at::timestamp as scored_at,
            model_version::varchar as model_version, p_inaccurate::double as p_inaccurate,
            risk_rank::integer as risk_rank, on_hand::integer as on_hand,
            available_to_promise::integer as available_to_promise,
            suggested_buffer_units::integer as suggested_buffer_units,
            buffer_confidence::double as buffer_confidence,
            adjusted_available_to_promise::integer as adjusted_available_to_promise
        from frame order by risk_rank
        """,
    )
    # Tomorrow, in the data's own clock (the newest event), not the machine's.
    now = frame["observed_at"].max() if len(frame) else scored_at
    tomorrow = (pd.Timestamp(now).normalize() + pd.Timedelta(days=1)).date()
    replace_table(
        con,
        "cycle_count_list",
        cycle_count_list(scores, per_node).assign(count_date=tomorrow),
        """
        select
            count_date::date as count_date,
            node_id::varchar as node_id, sku::varchar as sku,
            rank_in_node::integer as rank_in_node, p_inaccurate::double as p_inaccurate
        from frame order by node_id, rank_in_node
        """,
    )
    return ScoringOutcome(
        "inventory",
        version,
        len(scores),
        _write_drift(con, "inventory", version, model, frame, scored_at),
    )


def _write_drift(
    con, model_name: str, version: str, model: TrainedModel, frame, scored_at
) -> list[str]:
    psi = drift_of(model, frame)
    drift = pd.DataFrame({"feature": list(psi), "psi": list(psi.values())}).assign(
        model=model_name, model_version=version, scored_at=scored_at
    )
    replace_rows(
        con,
        "feature_drift",
        drift,
        f"""
        select model::varchar as model, model_version::varchar as model_version,
            scored_at::timestamp as scored_at, feature::varchar as feature, psi::double as psi,
            psi > {PSI_WARNING} as is_drifting
        from frame
        """,
        "model = ? and scored_at = ?",
        [model_name, scored_at],
    )
    return sorted(feature for feature, value in psi.items() if value > PSI_WARNING)


def score_all(
    con: duckdb.DuckDBPyConnection,
    registry: Registry,
    progress: Callable[[str], None] | None = None,
) -> list[ScoringOutcome]:
    scored_at = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    outcomes = []
    for scorer in (score_delivery, score_inventory):
        outcome = scorer(con, registry, scored_at)
        if progress:
            progress("  " + outcome.summary())
        outcomes.append(outcome)
    return outcomes
