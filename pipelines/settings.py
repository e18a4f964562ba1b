"""Where omsi keeps its files: everything lives under one folder, `$OMSI_HOME` (default ./data)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# A folder holding this file is never ingested: the simulator marks its truth/ folder with it,
# so that a generated world can be dropped into landing/ as it is.
IGNORE_MARKER = ".omsi-ignore"
# A folder to publish ingest's batches to as Parquet (pipelines/lake/), relative to $OMSI_HOME
# unless absolute. Unset: no lake.
LAKE_ENV = "OMSI_LAKE"


@dataclass(frozen=True)
class OmsiHome:
    root: Path

    @classmethod
    def from_env(cls) -> OmsiHome:
        return cls(Path(os.environ.get("OMSI_HOME", "data")).resolve())

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def serving(self) -> Path:
        return self.root / "serving.duckdb"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def feed(self) -> Path:
        return self.root / "feed"

    @property
    def lake(self) -> Path | None:
        """Where `omsi run` publishes each ingest batch as Parquet, when $OMSI_LAKE names it."""
        configured = os.environ.get(LAKE_ENV, "").strip()
        return (self.root / configured).resolve() if configured else None

    def ensure(self) -> OmsiHome:
        for folder in (self.root, self.landing, self.models, self.feed):
            folder.mkdir(parents=True, exist_ok=True)
        return self
