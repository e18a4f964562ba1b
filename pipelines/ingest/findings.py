"""What the batches of one `omsi run` found: schema drift and large quarantine shares.

`omsi run` ingests inside a Dagster step; its findings are read back from the warehouse
afterwards, so that the terminal ends with them as `omsi ingest`'s does.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.ingest.quarantine_alerts import QuarantineAlert, batch_alerts
from pipelines.ingest.schema_drift import Drift, batch_drift, renames


def batches_after(warehouse: Path) -> int:
    """The newest ingest batch so far (0 when none): later batches are this run's."""
    if not warehouse.exists():
        return 0
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            return con.execute(
                "select coalesce(max(batch_id), 0) from raw.ingest_batches"
            ).fetchall()[0][0]
    except duckdb.CatalogException:  # a warehouse from before the first ingest
        return 0


def findings_since(warehouse: Path, last_batch: int) -> tuple[list[Drift], list[QuarantineAlert]]:
    """Drift and alerts of the batches after `last_batch`; nothing when none ran."""
    if not warehouse.exists():
        return [], []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        batches = [
            b
            for (b,) in con.execute(
                "select batch_id from raw.ingest_batches where batch_id > $b order by 1",
                {"b": last_batch},
            ).fetchall()
        ]
        drift = [d for b in batches for d in batch_drift(con, b)]
        return drift, batch_alerts(con, batches, renames=renames(drift))
