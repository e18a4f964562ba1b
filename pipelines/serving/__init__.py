"""The serving snapshot: what dashboards read, published whole and atomically."""

from pipelines.serving.snapshot import SERVING_TABLES, publish_snapshot

__all__ = ["SERVING_TABLES", "publish_snapshot"]
