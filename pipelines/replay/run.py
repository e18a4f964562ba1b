"""Run the shadow replay on a warehouse: read the point-in-time candidates and the delivery
features, apply the feed's rule and the estimator (pipelines/replay/shadow.py), and replace the
rows of `ml.shadow_routing_decisions`, which `marts.fct_shadow_routing` reads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import duckdb
import pandas as pd

from models.features import DELIVERY
from models.registry import Registry
from pipelines.ml.scoring_run import NoPromotedModel, promoted_model
from pipelines.ml.tables import read_frame, table_exists
from pipelines.replay.shadow import Estimator, ReplaySummary, replay, summarize

TABLE = "ml.shadow_routing_decisions"
CANDIDATES = "ml.ml_shadow_candidates"


class ReplayInputsMissing(RuntimeError):
    """The warehouse lacks what the replay reads; the message says what to run."""


def estimator_for(registry: Registry, say: Callable[[str], None]) -> Estimator:
    """The promoted delivery model, or, when none is promoted, the nodes' history (said so)."""
    try:
        version, model = promoted_model(registry, "delivery")
    except NoPromotedModel as exc:
        say(
            f"{exc}. The replay estimates P(late) from each node's late history instead "
            "(late_estimate = 'history'); promote a model and replay again for the model's estimate"
        )
        return Estimator.of_history()
    return Estimator.of_model(version, model.predict)


def _check_inputs(con: duckdb.DuckDBPyConnection) -> None:
    for table in (DELIVERY.table, CANDIDATES, TABLE):
        schema, name = table.split(".")
        if not table_exists(con, name, schema):
            raise ReplayInputsMissing(
                f"the warehouse has no {table}: build it with `omsi run` (a warehouse built "
                "before the shadow replay was added gets it on its next run)"
            )
    unpriced = con.execute(
        f"select count(*) filter (where routing_penalty is not null), count(*) from {CANDIDATES}"
    ).fetchall()[0]
    if unpriced[1] and not unpriced[0]:
        raise ReplayInputsMissing(
            "no candidate node has a routing penalty: the warehouse's cost model has no "
            "late_order or reallocation row (dbt_project/seeds/cost_model.csv). Rebuild it with "
            "`omsi run` (a changed seed always rebuilds)"
        )


def write_decisions(con: duckdb.DuckDBPyConnection, decisions: pd.DataFrame) -> None:
    """Replace every row of the decisions table with `decisions`, matched by column name, in one
    transaction. dbt creates the table (dbt_project/macros/ml/shadow_routing_decisions.sql)."""
    cur = con.cursor()
    try:
        cur.register("decisions", decisions)
        cur.execute("begin")
        cur.execute(f"delete from {TABLE}")
        cur.execute(f"insert into {TABLE} by name select * from decisions")
        cur.execute("commit")
    finally:
        cur.close()


def replay_warehouse(
    con: duckdb.DuckDBPyConnection,
    registry: Registry,
    say: Callable[[str], None] = lambda _message: None,
    replayed_at: datetime | None = None,
) -> ReplaySummary:
    """Replay every first sourcing decision of the warehouse and write the result, stamped
    `replayed_at` (default: now, UTC)."""
    _check_inputs(con)
    features = read_frame(con, f"select * from {DELIVERY.table}")
    candidates = read_frame(con, f"select * from {CANDIDATES}")
    replayable = int((candidates["is_chosen"] & candidates["is_replayed"]).sum())
    contenders = int((~candidates["is_chosen"]).sum())
    say(
        f"  {len(features):,} decisions, {replayable:,} replayable (delivery, one node); "
        f"{contenders:,} candidate nodes could beat the OMS's choice"
    )
    estimator = estimator_for(registry, say)
    say(
        "  expected P(late) from "
        + (f"the delivery model {estimator.version}" if estimator.version else "node history")
    )
    replayed_at = replayed_at or datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    decisions = replay(features, candidates, estimator, replayed_at)
    write_decisions(con, decisions)
    say(f"  {len(decisions):,} rows written to {TABLE}")
    labels = features.set_index("order_id")["is_late"].reindex(decisions["order_id"])
    return summarize(decisions, labels)
