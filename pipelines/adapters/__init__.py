"""Source adapters: convert other systems' exports into contract v1 events and reference CSVs.

Each adapter writes the landing layout the ingest reads (`events/*.jsonl`, `reference/*.csv`)
and returns a report that accounts for every source row it read.
"""

from pipelines.adapters.olist import OlistImportReport, convert_olist
from pipelines.adapters.shopify import ShopifyImportReport, convert_shopify

__all__ = ["OlistImportReport", "ShopifyImportReport", "convert_olist", "convert_shopify"]
