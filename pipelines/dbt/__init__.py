"""Plain code about the dbt project, without Dagster: where it is, its fingerprint, the command
lines that run it and the record of the last build. Tests, benchmarks, the CLI and the Dagster
assets in `pipelines/defs/dbt/` all use it."""
