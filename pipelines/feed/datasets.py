"""The feed's three datasets, read from the warehouse: the `ml` score tables and the marts.

`order_risk` and `availability` are the delivery and inventory scores as the models wrote them
(only renamed into the published schema's column order). `node_scores` is computed here, per
node, from those scores and the marts; its routing penalty prices the two failures a routing
engine can avoid with the cost model seed's rates (`late_order`, `reallocation`).

Every query binds its values as parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from pipelines.feed.schemas import DATASETS, arrow_schema, column_types, key

SCORE_TABLES = {
    "order_risk": "ml.delivery_risk_scores",
    "availability": "ml.inventory_risk_scores",
}
# What each model's table is called in the model registry's metadata (model_versions).
MODEL_OF_TABLE = {"ml.delivery_risk_scores": "delivery", "ml.inventory_risk_scores": "inventory"}
MARTS_NEEDED = (
    "marts.dim_nodes",
    "marts.fct_allocations",
    "marts.fct_shipments",
    "marts.cost_model",
)
PENALTY_COMPONENTS = ("late_order", "reallocation")


class FeedInputError(RuntimeError):
    """The warehouse lacks what the feed is built from; the message says what to run."""


@dataclass(frozen=True)
class NodeScoreSettings:
    """How node scores are estimated (feed.toml `[node_scores]`)."""

    # Days of history behind p_reject and a node's historical late rate.
    lookback_days: int = 28
    # Days of allocations behind capacity strain: a week evens out the weekday pattern.
    strain_days: int = 7
    # Pseudo-observations at the network's rate added to each node's counts, so that a node
    # with a handful of allocations is not called perfect or hopeless on that alone.
    prior_strength: float = 20.0


@dataclass(frozen=True)
class Inputs:
    """Everything a snapshot is made of, read in one go from one read-only connection."""

    tables: dict[str, pa.Table]
    model_versions: dict[str, str | None]
    as_of: Any  # datetime (UTC, naive) of the newest score
    late_order_cost: float
    reallocation_cost: float
    currency: str


def _existing_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        f"{schema}.{name}"
        for schema, name in con.execute(
            "select table_schema, table_name from information_schema.tables"
        ).fetchall()
    }


def check_inputs(con: duckdb.DuckDBPyConnection) -> None:
    """Raise FeedInputError naming what is missing and what to run."""
    present = _existing_tables(con)
    missing_marts = [t for t in MARTS_NEEDED if t not in present]
    if missing_marts:
        raise FeedInputError(
            f"the warehouse has no {', '.join(missing_marts)}: build it first with `omsi run`"
        )
    missing_scores = [t for t in SCORE_TABLES.values() if t not in present]
    if missing_scores:
        raise FeedInputError(
            f"the warehouse has no {', '.join(missing_scores)} yet: the risk models have not "
            "scored it. Run `omsi run` (it trains when no model is registered and scores after "
            "every build), or `omsi train`, then publish again"
        )
    for table, dataset in ((t, d) for d, t in SCORE_TABLES.items()):
        keys = ", ".join(key(dataset))
        dups = con.execute(
            f"select count(*) from (select {keys} from {table} group by all having count(*) > 1)"
        ).fetchall()[0][0]
        if dups:
            raise FeedInputError(
                f"{table} has {dups} key(s) ({keys}) scored more than once: the feed publishes one "
                "score per key. Re-run scoring (`omsi run`) so that the table holds one batch"
            )


def _costs(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    rates = dict(
        con.execute(
            "select component, cast(rate as double) from marts.cost_model "
            "where component in (?, ?) and applies_to = 'all'",
            list(PENALTY_COMPONENTS),
        ).fetchall()
    )
    missing = [c for c in PENALTY_COMPONENTS if c not in rates]
    if missing:
        raise FeedInputError(
            f"the warehouse's cost model has no {', '.join(missing)} row: it was built before "
            "the routing feed's costs were added to dbt_project/seeds/cost_model.csv. Rebuild "
            "it with `omsi run` (a changed seed always rebuilds)"
        )
    return rates


def _currency(con: duckdb.DuckDBPyConnection) -> str:
    row = con.execute(
        "select currency from marts.fct_orders where currency is not null "
        "group by currency order by count(*) desc, currency limit 1"
    ).fetchall()
    # ISO 4217's code for "no currency" when there are no orders at all.
    return row[0][0] if row else "XXX"


# The warehouse type each JSON type is read as: casting in SQL means a score table that holds
# a decimal or a 32-bit integer still gives the published type, converted exactly by DuckDB.
_SQL_TYPES = {
    "string": "varchar",
    "number": "double",
    "integer": "bigint",
    "boolean": "boolean",
    "date-time": "timestamp",
}


def _score_table(con: duckdb.DuckDBPyConnection, dataset: str) -> pa.Table:
    cols = ", ".join(
        f"cast({name} as {_SQL_TYPES[kind]}) as {name}"
        for name, (kind, _) in column_types(dataset).items()
    )
    order = ", ".join(key(dataset))
    table = con.sql(f"select {cols} from {SCORE_TABLES[dataset]} order by {order}")
    return table.to_arrow_table().cast(arrow_schema(dataset))


# One row per node in dim_nodes. late_risk: the model's mean p_late over the node's open orders
# when it has any (what routing one more order there is likely to face now), else the node's
# late share of shipments in the lookback window, smoothed towards the network's share.
_NODE_SCORES_SQL = """
with
clock as (
    -- The data's clock (the marts' "now"), never the machine's: a rebuild gives the same rows.
    select max(allocated_at) as now from marts.fct_allocations
),
open_scores as (
    select node_id, count(*) as open_orders, avg(p_late) as mean_p_late
    from ml.delivery_risk_scores
    group by node_id
),
shipped as (
    select
        s.node_id,
        count(s.is_late) as shipments,
        count(*) filter (where s.is_late) as late_shipments
    from marts.fct_shipments as s, clock
    where s.shipped_at > clock.now - to_days(cast($lookback_days as integer))
    group by s.node_id
),
decided as (
    select
        a.node_id,
        count(*) filter (where a.outcome in ('shipped', 'rejected')) as decided,
        count(*) filter (where a.outcome = 'rejected') as rejected
    from marts.fct_allocations as a, clock
    where a.allocated_at > clock.now - to_days(cast($lookback_days as integer))
    group by a.node_id
),
strain as (
    select a.node_id, sum(a.allocated_quantity) / $strain_days as units_per_day
    from marts.fct_allocations as a, clock
    where a.allocated_at > clock.now - to_days(cast($strain_days as integer))
    group by a.node_id
),
records as (
    select node_id, 1 - avg(p_inaccurate) as record_accuracy
    from ml.inventory_risk_scores
    group by node_id
),
network as (
    select
        coalesce(sum(late_shipments) / nullif(sum(shipments), 0), 0) as late_rate,
        (select coalesce(sum(rejected) / nullif(sum(decided), 0), 0) from decided) as reject_rate
    from shipped
),
scored as (
    select
        n.node_id,
        n.node_type,
        case
            when o.open_orders > 0 then o.mean_p_late
            else (coalesce(h.late_shipments, 0) + $prior * network.late_rate)
                / (coalesce(h.shipments, 0) + $prior)
        end as late_risk,
        case when o.open_orders > 0 then 'model' else 'history' end as late_risk_source,
        coalesce(o.open_orders, 0) as open_orders_scored,
        (coalesce(d.rejected, 0) + $prior * network.reject_rate)
            / (coalesce(d.decided, 0) + $prior) as p_reject,
        coalesce(d.decided, 0) as allocations_observed,
        coalesce(s.units_per_day, 0) / nullif(n.daily_capacity_units, 0) as capacity_strain,
        r.record_accuracy
    from marts.dim_nodes as n
    cross join network
    left join open_scores as o on n.node_id = o.node_id
    left join shipped as h on n.node_id = h.node_id
    left join decided as d on n.node_id = d.node_id
    left join strain as s on n.node_id = s.node_id
    left join records as r on n.node_id = r.node_id
)
select
    node_id,
    node_type,
    late_risk,
    late_risk_source,
    open_orders_scored,
    p_reject,
    1 - p_reject as reliability,
    allocations_observed,
    capacity_strain,
    record_accuracy,
    round(late_risk * $late_cost + p_reject * $reallocation_cost, 2) as routing_penalty,
    $currency as currency
from scored
order by node_id
"""


def node_scores(
    con: duckdb.DuckDBPyConnection,
    *,
    late_order_cost: float,
    reallocation_cost: float,
    currency: str,
    settings: NodeScoreSettings,
) -> pa.Table:
    params = {
        "lookback_days": settings.lookback_days,
        "strain_days": settings.strain_days,
        "prior": settings.prior_strength,
        "late_cost": late_order_cost,
        "reallocation_cost": reallocation_cost,
        "currency": currency,
    }
    result = con.sql(_NODE_SCORES_SQL, params=params)
    return result.to_arrow_table().cast(arrow_schema("node_scores"))


def _model_versions(con: duckdb.DuckDBPyConnection) -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for table, model in MODEL_OF_TABLE.items():
        found = [
            v for (v,) in con.execute(f"select distinct model_version from {table}").fetchall()
        ]
        if len(found) > 1:
            raise FeedInputError(
                f"{table} holds scores of {len(found)} model versions ({', '.join(sorted(found))}):"
                " a snapshot comes from one version per model. Re-run scoring with `omsi run`"
            )
        versions[model] = found[0] if found else None
    return versions


def read_inputs(
    con: duckdb.DuckDBPyConnection, settings: NodeScoreSettings | None = None
) -> Inputs:
    """Read the three datasets and their metadata from the warehouse (`con` may be read-only)."""
    check_inputs(con)
    costs = _costs(con)
    currency = _currency(con)
    tables = {name: _score_table(con, name) for name in SCORE_TABLES}
    tables["node_scores"] = node_scores(
        con,
        late_order_cost=costs["late_order"],
        reallocation_cost=costs["reallocation"],
        currency=currency,
        settings=settings or NodeScoreSettings(),
    )
    as_of = con.execute(
        "select greatest((select max(scored_at) from ml.delivery_risk_scores),"
        " (select max(scored_at) from ml.inventory_risk_scores))"
    ).fetchall()[0][0]
    if as_of is None:
        raise FeedInputError(
            "the score tables are empty: there is no open order and no stock record to score. "
            "Land events (`omsi ingest DIR` or files in landing/), then `omsi run`"
        )
    return Inputs(
        tables={name: tables[name] for name in DATASETS},
        model_versions=_model_versions(con),
        as_of=as_of,
        late_order_cost=costs["late_order"],
        reallocation_cost=costs["reallocation"],
        currency=currency,
    )
