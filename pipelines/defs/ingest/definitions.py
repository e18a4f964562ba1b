from __future__ import annotations

import dagster as dg

from pipelines.defs.ingest.assets import raw_tables


def defs() -> dg.Definitions:
    return dg.Definitions(assets=[raw_tables])
