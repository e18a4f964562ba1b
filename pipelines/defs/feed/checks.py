"""Which checks stand between bad data and the routing feed, and whether one failed last time.

The feed reads the score tables and, for node scores, the marts. Every blocking check on an
asset upstream of those (the landed-events suite, the reconciliation, dbt tests of severity
error, the models' own checks once they exist) must have passed at its latest evaluation, or
the feed refuses to publish and names them.
"""

from __future__ import annotations

import dagster as dg


def blocking_checks_upstream(asset_graph, asset_key: dg.AssetKey) -> list[dg.AssetCheckKey]:
    """Blocking checks on the asset's ancestors, in a stable order."""
    ancestors = asset_graph.get_ancestor_asset_keys(asset_key)
    return sorted(
        (
            check
            for check in asset_graph.asset_check_keys
            if check.asset_key in ancestors and asset_graph.get_check_spec(check).blocking
        ),
        key=lambda c: (c.asset_key.to_user_string(), c.name),
    )


def failed_checks(instance: dg.DagsterInstance, checks: list[dg.AssetCheckKey]) -> list[str]:
    """`asset:check` for each check whose latest evaluation failed."""
    failed = []
    for check in checks:
        record = instance.get_latest_asset_check_evaluation_record(check)
        evaluation = record.evaluation if record is not None else None
        if evaluation is not None and not evaluation.passed:
            failed.append(f"{check.asset_key.to_user_string()}:{check.name}")
    return failed
