"""Which dbt tests a build runs, and over which rows: tests that scale with the change.

A full build tests every row of every model. An incremental build wrote only the rows of the
batches ingested since the last successful build (event staging tables append them, order
facts replace the orders they touch), so its tests of those tables read just those rows
(`dbt_project/macros/tests/written_rows.sql`, told the batch by OMSI_TESTS_AFTER_BATCH), and
the tests that cannot be cut to them run on full builds and in the nightly full check instead:

- relationships, which read the whole parent;
- tests of models over all of history (the dashboards' row-level views, which recompute every
  order when tested, and the intermediate tables, which could be cut to the batch like the
  facts' but are not yet), tagged `whole_history` in dbt_project.yml;
- unit tests, which test the SQL, not the data: the project's fingerprint is unchanged since
  the last build, or this would not be a scoped build.

Tables rebuilt whole (aggregates, dimensions, most ml feature tables) are tested whole on every
build: every row of theirs was written by it. So are the daily KPIs, rebuilt by day but small.
The stock positions, rewritten from the first day that changed, carry the batch they were
written in like the facts.

One model waits for full builds too: the shadow replay's candidates (tag `replay`), rebuilt whole
from all history and read only by `omsi replay`, which builds them first
(pipelines/replay/candidates.py). On 1,000,000 orders they took 34 s of a one-day run.

And a scoped build leaves out the models built from reference files and seeds alone (tag
`reference_only`: the dimensions of nodes and carriers, the reference views): it runs with the
project unchanged and no new reference file, so they would come out as they are. dbt leaves
out every test that reads one of them, so a test that also reads a rebuilt model waits for full
builds too: only relationships do today, which wait anyway (tests/test_dbt_builds.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from pipelines.dbt.builds import last_build

SCOPE_VARIABLE = "OMSI_TESTS_AFTER_BATCH"
WHOLE_HISTORY_TESTS = ("tag:whole_history", "test_name:relationships", "resource_type:unit_test")
# Models (with their tests) a scoped build leaves out: those built on full builds and on demand
# only, and those it would rebuild unchanged. Serving does not wait for them (a dependency a run
# does not build would skip it).
LEFT_OUT_MODEL_TAGS = ("replay", "reference_only")


@dataclass(frozen=True)
class DataTestScope:
    """None: every test over every row. A batch id: tests read rows of newer batches only."""

    after_batch: int | None = None

    def exclude_args(self) -> list[str]:
        # One argument: dbt reads a space-separated union, and dagster-dbt, which merges a
        # command's --exclude with its own selection, keeps only the first value after the flag.
        if self.after_batch is None:
            return []
        left_out = WHOLE_HISTORY_TESTS + tuple(f"tag:{tag}" for tag in LEFT_OUT_MODEL_TAGS)
        return ["--exclude", " ".join(left_out)]

    def env(self) -> dict[str, str]:
        # Always set, so that one process running several builds never inherits a scope.
        return {SCOPE_VARIABLE: "" if self.after_batch is None else str(self.after_batch)}

    def describe(self) -> str:
        if self.after_batch is None:
            return "every test over every row"
        return (
            f"tests read the rows of batches after {self.after_batch}; relationships, unit tests"
            " and tests of views over history run on full builds and in the nightly full check;"
            " the replay's candidates are built then and by `omsi replay`; what is built from"
            " reference files and seeds alone is left as it is"
        )


def data_test_scope(
    con: duckdb.DuckDBPyConnection, fingerprint: str, *, every_row: bool
) -> DataTestScope:
    """The scope of the next build: cut to the new batches when the last successful build read
    every older one with the same project and no reference file came since (a new reference
    rebuilds every order, so every row is new)."""
    last = None if every_row else last_build(con)
    if last is None or last.project_fingerprint != fingerprint:
        return DataTestScope()
    through = last.through_batch_id
    new_reference = con.execute(
        """
        select count(*) from (
            select batch_id from raw.nodes
            union all select batch_id from raw.skus
            union all select batch_id from raw.carriers
        ) where batch_id > $through
        """,
        {"through": through},
    ).fetchall()[0][0]
    return DataTestScope() if new_reference else DataTestScope(through)
