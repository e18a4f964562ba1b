"""The warehouse as a Dagster resource: one place that knows where `$OMSI_HOME` keeps things."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb

from pipelines import warehouse
from pipelines.settings import OmsiHome

# Every asset that writes warehouse.duckdb runs in this pool; dagster.yaml gives it one slot,
# because DuckDB allows a single writing process.
WAREHOUSE_POOL = "warehouse"


class WarehouseResource(dg.ConfigurableResource):
    home: str

    @classmethod
    def from_env(cls) -> WarehouseResource:
        return cls(home=str(OmsiHome.from_env().root))

    @property
    def paths(self) -> OmsiHome:
        return OmsiHome(Path(self.home))

    def connect(self, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        return warehouse.connect(self.paths.warehouse, read_only=read_only)
