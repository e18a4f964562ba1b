from __future__ import annotations

import dagster as dg

from pipelines.defs.ingest.assets import raw_tables
from pipelines.defs.ingest.checks import ingest_reconciles, landed_events_suite


def defs() -> dg.Definitions:
    return dg.Definitions(assets=[raw_tables], asset_checks=[landed_events_suite, ingest_reconciles])
