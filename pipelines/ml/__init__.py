"""The risk models against the warehouse: read the feature tables, train, score, write `ml.*`.

The `models` package does the learning on DataFrames; this package owns the I/O around it, so
that the Dagster assets (`pipelines/defs/ml/`) and the `omsi train` / `omsi score` commands run
the same code.
"""
