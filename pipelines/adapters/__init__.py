"""Source adapters: convert other systems' exports into contract v1 events and reference CSVs.

Each adapter writes the landing layout the ingest reads (`events/*.jsonl`, `reference/*.csv`)
and returns a report that accounts for every source row it read.
"""

from pipelines.adapters.olist import OlistImportReport, convert_olist

__all__ = ["OlistImportReport", "convert_olist"]
