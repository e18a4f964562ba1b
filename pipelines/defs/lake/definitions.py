from __future__ import annotations

import dagster as dg

from pipelines.defs.lake.assets import lake_batches


def defs() -> dg.Definitions:
    return dg.Definitions(assets=[lake_batches])
