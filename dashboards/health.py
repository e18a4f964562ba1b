"""Data health beyond intake: the checks a snapshot can prove about itself, and how old each
part of it is (ingest, dbt build, snapshot, newest event, models, scores, routing feed).

Everything but the feed folder's listing comes from the serving snapshot. The checks are
recomputed from the tables the snapshot holds, so a page never claims more than it can show.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from dashboards.queries import frame, missing_tables
from dashboards.reconciliation import reconciliation_problems
from dashboards.snapshot import SnapshotVersion, age_text

# Each dashboard mart beside the fact it sums: (mart, its count column, fact). The same pairs
# as dbt's singular test tests/marts/dashboard_aggregates_reconcile.sql.
MART_SUMS = (
    ("agg_orders_daily", "orders", "fct_orders"),
    ("agg_shipments_daily", "shipments", "fct_shipments"),
    ("agg_allocations_daily", "allocations", "fct_allocations"),
    ("agg_return_reasons_daily", "returned_lines", "fct_returns"),
    ("agg_inventory_accuracy_daily", "counts", "fct_inventory_counts"),
)
STATUS = {True: "pass", False: "fail", None: "not run"}
ML_SCORE_TABLES = ("delivery_risk_scores", "inventory_risk_scores")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def check_results(
    version: SnapshotVersion, files: pd.DataFrame, mismatches: pd.DataFrame
) -> pd.DataFrame:
    """One row per check: name, status (pass, fail, or not run when the snapshot lacks the
    tables it needs, as one published before the dashboard marts existed) and what it found."""
    rows = []
    problems = reconciliation_problems(files, mismatches)
    rows.append(
        (
            "ingest reconciles",
            not problems,
            "lines read = landed + duplicates + resumed + quarantined for every file and batch"
            if not problems
            else f"{len(problems)} problem(s): {problems[0]}",
        )
    )
    # A batch cut short (killed, or failed mid-way) is finished by the next batch over the same
    # folder, which reads its unfinished files again: only one with no such successor is open.
    unfinished = frame(
        version,
        """
        select
            count(*) filter (where not resumed) as open,
            count(*) filter (where resumed) as resumed,
        from (
            select exists (
                select 1 from ingest_batches as later
                where later.batch_id > b.batch_id and later.landing_dir = b.landing_dir
                    and later.finished_at is not null
            ) as resumed,
            from ingest_batches as b
            where b.finished_at is null
        )
        """,
    ).iloc[0]
    opened = (
        "no batch left unfinished"
        if unfinished["open"] == 0
        else f"{unfinished['open']} unfinished"
    )
    if unfinished["resumed"]:
        opened += f"; {unfinished['resumed']} cut short and finished by a later batch"
    rows.append(
        (
            "every ingest batch finished",
            unfinished["open"] == 0,
            opened,
        )
    )
    for mart, column, fact in MART_SUMS:
        if missing_tables(version, [mart, fact]):
            rows.append((f"{mart} sums to {fact}", None, "not in this snapshot: run `omsi run`"))
            continue
        sums = frame(
            version,
            f"select (select coalesce(sum({column}), 0) from {mart})::bigint as summed, "
            f"(select count(*) from {fact}) as facts",
        ).iloc[0]
        rows.append(
            (
                f"{mart} sums to {fact}",
                sums["summed"] == sums["facts"],
                f"{sums['summed']:,} {column} in the mart, {sums['facts']:,} rows in the fact",
            )
        )
    if not missing_tables(version, ["dbt_builds"]):
        built = frame(
            version,
            "select (select max(through_batch_id) from dbt_builds) as built_through, "
            "(select max(batch_id) from ingest_batches where finished_at is not null) as landed",
        ).iloc[0]
        current = pd.notna(built["built_through"]) and built["built_through"] >= built["landed"]
        rows.append(
            (
                "marts built from every landed batch",
                bool(current),
                f"dbt built through batch {built['built_through']}, last landed batch "
                f"{built['landed']}",
            )
        )
    checks = pd.DataFrame(rows, columns=["check", "passed", "detail"])
    checks.insert(
        1,
        "status",
        [STATUS[passed] for passed in checks.pop("passed")],
    )
    return checks


def _age_row(part: str, at: object, detail: str, now: datetime) -> tuple[str, object, str, str]:
    if at is None or pd.isna(at):
        return (part, None, "never", detail)
    stamp = pd.Timestamp(at).to_pydatetime()
    return (part, stamp, age_text(stamp, now), detail)


def freshness(
    version: SnapshotVersion, feed_dir: Path, now: datetime | None = None
) -> pd.DataFrame:
    """How old each part of what the pages show is: part, at (UTC), age, detail."""
    now = now or _now()
    stamps = frame(
        version,
        """
        select
            (select max(built_at) from serving_manifest) as snapshot_built,
            (select max(finished_at) from ingest_batches) as ingest_finished,
            (select max(last_at) from events_by_type) as newest_event
        """,
    ).iloc[0]
    rows = [
        _age_row("serving snapshot", stamps["snapshot_built"], "published by `omsi run`", now),
        _age_row("last ingest", stamps["ingest_finished"], "raw.ingest_batches", now),
        _age_row("newest event", stamps["newest_event"], "occurred_at of the latest event", now),
    ]
    if not missing_tables(version, ["dbt_builds"]):
        built = frame(version, "select max(finished_at) as at from dbt_builds")["at"].iloc[0]
        rows.append(_age_row("dbt build", built, "ops.dbt_builds", now))
    if missing_tables(version, ["model_metrics"]):
        rows.append(("models", None, "not trained", "run `omsi train`, then `omsi run`"))
    else:
        models = frame(
            version,
            """
            select model, model_version, max(trained_at) as trained_at
            from model_metrics where is_promoted group by all order by model
            """,
        )
        for model in models.itertuples():
            rows.append(
                _age_row(f"{model.model} model", model.trained_at, model.model_version, now)
            )
    for table in ML_SCORE_TABLES:
        if missing_tables(version, [table]):
            rows.append((table, None, "not scored", "run `omsi run` after `omsi train`"))
        else:
            scored = frame(
                version, f"select max(scored_at) as at, count(*) as n from {table}"
            ).iloc[0]
            rows.append(_age_row(table, scored["at"], f"{scored['n']:,} rows", now))
    feed_files = sorted(p for p in feed_dir.rglob("*") if p.is_file()) if feed_dir.is_dir() else []
    if not feed_files:
        rows.append(
            ("routing feed", None, "never", f"nothing published in {feed_dir}: `omsi feed`")
        )
    else:
        newest = max(feed_files, key=lambda p: p.stat().st_mtime)
        at = datetime.fromtimestamp(newest.stat().st_mtime, UTC).replace(tzinfo=None)
        rows.append(
            _age_row("routing feed", at, f"{len(feed_files)} file(s), newest {newest.name}", now)
        )
    return pd.DataFrame(rows, columns=["part", "at", "age", "detail"])
