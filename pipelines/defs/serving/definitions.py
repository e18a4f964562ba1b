from __future__ import annotations

import dagster as dg

from pipelines.defs.serving.assets import serving_snapshot


def defs() -> dg.Definitions:
    return dg.Definitions(assets=[serving_snapshot])
