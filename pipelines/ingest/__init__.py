"""Ingest: land contract events and reference CSVs from a folder into the warehouse's raw tables."""

from pipelines.ingest.run import FileResult, IngestResult, ingest_folder

__all__ = ["FileResult", "IngestResult", "ingest_folder"]
