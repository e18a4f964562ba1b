"""What the Spark tests need: pyspark, dbt-spark and a Java runtime. Without them a test skips
saying what to install (pipelines/dbt/spark_engine.py knows the list, as `omsi run` does)."""

from __future__ import annotations

import pytest

from pipelines.dbt.spark_engine import missing_for_spark


def require_spark():
    """pyspark.sql, or a skip that says what this machine lacks."""
    missing = missing_for_spark()
    if missing:
        pytest.skip(missing)
    import pyspark.sql

    return pyspark.sql
