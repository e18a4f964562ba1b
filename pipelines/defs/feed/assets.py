"""The routing feed as a Dagster asset: a snapshot published to the configured sinks."""

# No `from __future__ import annotations`: Dagster reads parameter types from the signature.
import dagster as dg
import duckdb

from pipelines.defs.feed.checks import blocking_checks_upstream, failed_checks
from pipelines.defs.warehouse_resource import WAREHOUSE_POOL, WarehouseResource
from pipelines.feed.config import load_config

FEED_KEY = dg.AssetKey(["feed", "routing_feed"])
SCORE_KEYS = (
    dg.AssetKey(["ml", "delivery_risk_scores"]),
    dg.AssetKey(["ml", "inventory_risk_scores"]),
)
# node_scores reads these marts beside the scores, so their checks guard the feed too.
MART_KEYS = tuple(
    dg.AssetKey(["marts", name])
    for name in ("dim_nodes", "fct_allocations", "fct_shipments", "fct_orders", "cost_model")
)


def _code_location_graph():
    # Imported when the asset runs, not when it is defined: the code location imports this
    # module, and the checks to look at are those of the whole graph, not of the feed's job.
    from pipelines.definitions import defs

    return defs.resolve_asset_graph()


def stale_scores(con: duckdb.DuckDBPyConnection) -> str | None:
    """Why the scores are older than the warehouse they should score, or None when fresh."""
    has_builds = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'ops' and table_name = 'dbt_builds'"
    ).fetchall()[0][0]
    if not has_builds:
        return None  # a warehouse dbt did not build (the record starts with the first build)
    built_at = con.execute("select max(finished_at) from ops.dbt_builds").fetchall()[0][0]
    if built_at is None:
        return None
    scored_at = con.execute(
        "select least((select max(scored_at) from ml.delivery_risk_scores),"
        " (select max(scored_at) from ml.inventory_risk_scores))"
    ).fetchall()[0][0]
    if scored_at is not None and scored_at < built_at:
        return (
            f"the scores (computed {scored_at:%Y-%m-%d %H:%M} UTC) are older than the warehouse "
            f"build of {built_at:%Y-%m-%d %H:%M} UTC: run `omsi run` so that the models score "
            "the new marts, then the feed publishes"
        )
    return None


@dg.asset(
    key=FEED_KEY,
    group_name="feed",
    deps=[*SCORE_KEYS, *MART_KEYS],
    pool=WAREHOUSE_POOL,
    description="A routing feed snapshot (node scores, availability, order risk) published to "
    "the sinks of $OMSI_HOME/feed.toml; see docs/routing-feed.md.",
)
def routing_feed(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    checks = blocking_checks_upstream(_code_location_graph(), FEED_KEY)
    failed = failed_checks(context.instance, checks)
    if failed:
        raise dg.Failure(
            description=f"not publishing: blocking check(s) upstream failed at their latest "
            f"evaluation: {', '.join(failed)}. Fix the data, then `omsi run`; the feed "
            "publishes once they pass",
            allow_retries=False,
        )
    home = warehouse.paths
    # Imported when the feed publishes: the sinks' HTTP and PostgreSQL clients would add 0.4 s
    # to loading the definitions, at the start of every `omsi run`, which does not publish.
    from pipelines.feed.datasets import FeedInputError
    from pipelines.feed.publish import publish

    try:
        with warehouse.connect(read_only=True) as con:
            reason = stale_scores(con)
    except (duckdb.Error, FeedInputError):
        reason = None  # publish() says what is missing, with what to run
    if reason:
        raise dg.Failure(description=f"not publishing: {reason}", allow_retries=False)
    config = load_config(home.root)
    report = publish(home, config, log=context.log.info)
    metadata = {
        "snapshot_id": report.snapshot.snapshot_id,
        "as_of": report.snapshot.manifest["as_of"].isoformat(),
        "checks_passed": len(checks),
    }
    metadata |= {f"rows.{n}": d.rows for n, d in report.snapshot.datasets.items()}
    metadata |= {f"sink.{r.sink}": r.outcome for r in report.results}
    if not report.ok:
        raise dg.Failure(
            description="; ".join(f"{r.sink}: {r.detail}" for r in report.results if not r.ok),
            metadata=metadata,
        )
    return dg.MaterializeResult(metadata=metadata)
