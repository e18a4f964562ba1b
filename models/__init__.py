"""The risk models: feature specs, training, evaluation, registry and scoring.

Pure Python over pandas DataFrames: nothing here opens the warehouse or imports Dagster. The
pipeline (`pipelines/ml/`) reads the dbt feature tables, calls these functions and writes what
they return; the Dagster assets and the `omsi train` / `omsi score` commands share that code.
"""
