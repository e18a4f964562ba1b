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
# Which engine dbt builds the warehouse's models on: `duckdb` (the default, in the warehouse
# file) or `spark` (docs/scale-out.md). `omsi run --engine` sets it for its run.
ENGINE_ENV = "OMSI_ENGINE"
ENGINES = ("duckdb", "spark")
# Where the Spark engine keeps its table files and catalog; default $OMSI_HOME/spark.
SPARK_DIR_ENV = "OMSI_SPARK_DIR"


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
    def engine(self) -> str:
        """The engine dbt builds on: $OMSI_ENGINE, else duckdb."""
        engine = os.environ.get(ENGINE_ENV, "").strip().lower() or "duckdb"
        if engine not in ENGINES:
            raise ValueError(f"{ENGINE_ENV}={engine!r}: the engine is one of {', '.join(ENGINES)}")
        return engine

    @property
    def lake(self) -> Path | None:
        """Where `omsi run` publishes each ingest batch as Parquet: where $OMSI_LAKE names it,
        and $OMSI_HOME/lake when dbt builds on Spark, which reads its raw tables there."""
        configured = os.environ.get(LAKE_ENV, "").strip()
        if not configured and self.engine == "spark":
            configured = "lake"
        return (self.root / configured).resolve() if configured else None

    @property
    def spark(self) -> Path:
        """The Spark engine's table files and catalog: $OMSI_SPARK_DIR, else $OMSI_HOME/spark."""
        configured = os.environ.get(SPARK_DIR_ENV, "").strip() or "spark"
        return (self.root / configured).resolve()

    def ensure(self) -> OmsiHome:
        for folder in (self.root, self.landing, self.models, self.feed):
            folder.mkdir(parents=True, exist_ok=True)
        return self
