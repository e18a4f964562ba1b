"""The Great Expectations suite every landed batch must pass before anything reads it.

Ingest already rejects malformed events line by line; this suite looks at a batch as a whole,
for what no single line can show: an event_id landed twice, a batch of one event type only
because an export broke, timestamps far from the batch's own time.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb
import pandas as pd
import pyarrow as pa

from pipelines.contract import EVENT_TYPES
from pipelines.ingest import warm_checks

# Never phone home from a data pipeline (and this machine has no route out anyway).
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")


@dataclass(frozen=True)
class ExpectationOutcome:
    expectation: str
    column: str | None
    success: bool
    unexpected: int


@dataclass(frozen=True)
class SuiteResult:
    batch_id: int | None
    rows: int
    outcomes: list[ExpectationOutcome]

    @property
    def success(self) -> bool:
        return all(o.success for o in self.outcomes)

    def failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success]


# Great Expectations imports pyspark's Spark Connect when pyspark is installed (it is, for the
# Spark engine). That module's first import ends the process, exit status 0 and nothing but
# "Skipping doctests" on stderr, whenever the main module has no file: `python -c`, a notebook,
# pytest-xdist's workers. Great Expectations does without it (this suite validates pandas
# frames), so it is kept from importing it.
_SPARK_CONNECT = "pyspark.sql.connect"


def great_expectations():
    """The `great_expectations` module and its progress bar settings, imported on first use: the
    import takes seconds, and only the batch checks need it."""
    hidden = _SPARK_CONNECT not in sys.modules
    if hidden:
        sys.modules[_SPARK_CONNECT] = None  # importing it raises ImportError
    try:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig
    finally:
        if hidden:
            del sys.modules[_SPARK_CONNECT]  # whoever needs it later imports it as usual
    return gx, ProgressBarsConfig


def _suite(gx, now: datetime):
    expectations = gx.expectations
    suite = gx.ExpectationSuite(name="landed_events")
    for column in ("event_id", "event_type", "occurred_at", "source", "schema_version"):
        suite.add_expectation(expectations.ExpectColumnValuesToNotBeNull(column=column))
    suite.add_expectation(expectations.ExpectColumnValuesToBeUnique(column="event_id"))
    suite.add_expectation(
        expectations.ExpectColumnValuesToBeInSet(column="event_type", value_set=list(EVENT_TYPES))
    )
    suite.add_expectation(
        expectations.ExpectColumnValuesToBeInSet(column="schema_version", value_set=[1])
    )
    # Events from the future are a clock or time-zone bug at the source; a day of slack covers
    # sources that stamp local time as UTC.
    suite.add_expectation(
        expectations.ExpectColumnValuesToBeBetween(
            column="occurred_at", min_value=datetime(2000, 1, 1), max_value=now + timedelta(days=1)
        )
    )
    return suite


# Rows per frame the suite validates at once. A first run lands millions of events in one batch;
# the 10.7 million of a 1,000,000-order world took 4.5 GB in pandas and Great Expectations.
SLICE_ROWS = 1_000_000


def _landed_slice(con: duckdb.DuckDBPyConnection, batch_id: int, part: int, parts: int) -> pa.Table:
    """The columns the suite reads of one ingest batch's events: the `part`-th of `parts` slices
    by a hash of event_id, so that every copy of an event_id falls in the same slice and
    uniqueness within each slice is uniqueness within the batch. As Arrow, which is what the
    warm worker is handed, and then to pandas twice as fast as DuckDB's own conversion."""
    # occurred_at in nanoseconds: Great Expectations compares datetime64[ns] columns vectorised
    # and any other resolution one value at a time in Python (80% of the suite's time at
    # microseconds). Clamped to the range nanoseconds can hold, far beyond the expected
    # range on both sides, so a value outside it still fails as it did.
    return con.sql(
        """
        select event_id, event_type,
            least(greatest(occurred_at, timestamp '1700-01-01'), timestamp '2250-01-01')
                ::timestamp_ns as occurred_at,
            source, schema_version
        from raw.events where batch_id = $b and hash(event_id) % $parts = $part
        """,
        params={"b": batch_id, "parts": parts, "part": part},
    ).to_arrow_table()


def validate_landed_batch(
    con: duckdb.DuckDBPyConnection, now: datetime | None = None
) -> SuiteResult:
    """Run the suite over the latest batch, a slice of at most about SLICE_ROWS rows at a time;
    an expectation passes when it passes on every slice, its unexpected rows summed."""
    batch_id = con.execute("select max(batch_id) from raw.events").fetchall()[0][0]
    (rows,) = con.execute(
        "select count(*) from raw.events where batch_id = $b", {"b": batch_id}
    ).fetchall()[0]
    parts = max(1, -(-rows // SLICE_ROWS))
    now = now or datetime.now()
    slices = (_landed_slice(con, batch_id, part, parts) for part in range(parts))
    return _combined(batch_id, list(_suite_results(slices, batch_id, now)))


def _suite_results(
    slices: Iterator[pa.Table], batch_id: int, now: datetime
) -> Iterator[SuiteResult]:
    """The suite's results on each slice: from the warm worker while it answers
    (pipelines/ingest/warm_checks.py), else from this process."""
    for table in slices:
        warm = warm_checks.suite_results(table, batch_id, now)
        if warm is None:  # no worker, or it failed: this slice and the rest are validated here
            rest = itertools.chain([table], slices)
            yield from validated_frames((t.to_pandas() for t in rest), batch_id, now)
            return
        for fields in warm:
            outcomes = [ExpectationOutcome(**outcome) for outcome in fields["outcomes"]]
            yield SuiteResult(fields["batch_id"], fields["rows"], outcomes)


def _combined(batch_id: int | None, results: list[SuiteResult]) -> SuiteResult:
    outcomes: dict[tuple[str, str | None], ExpectationOutcome] = {}
    for result in results:
        for o in result.outcomes:
            seen = outcomes.get((o.expectation, o.column))
            if seen is not None:
                o = ExpectationOutcome(
                    o.expectation,
                    o.column,
                    seen.success and o.success,
                    seen.unexpected + o.unexpected,
                )
            outcomes[(o.expectation, o.column)] = o
    return SuiteResult(batch_id, sum(r.rows for r in results), list(outcomes.values()))


def validate_batch(
    frame: pd.DataFrame, batch_id: int | None, now: datetime | None = None
) -> SuiteResult:
    """Run the suite over a batch; an empty batch (nothing new landed) passes trivially."""
    return _combined(batch_id, list(validated_frames([frame], batch_id, now)))


def validated_frames(
    frames: Iterator[pd.DataFrame] | list[pd.DataFrame], batch_id: int | None, now: datetime | None
) -> Iterator[SuiteResult]:
    """The suite's result on each frame, with one context and suite for them all."""
    context = suite = batches = None
    for frame in frames:
        if frame.empty:
            continue
        if context is None:
            gx, ProgressBarsConfig = great_expectations()
            context = gx.get_context(mode="ephemeral")  # a suite needs a live context
            context.variables.progress_bars = ProgressBarsConfig(globally=False)
            suite = _suite(gx, now or datetime.now())
            batches = (
                context.data_sources.add_pandas("landing")
                .add_dataframe_asset("landed_events")
                .add_batch_definition_whole_dataframe("batch")
            )
        result = batches.get_batch(batch_parameters={"dataframe": frame}).validate(suite)
        outcomes = [
            ExpectationOutcome(
                expectation=r.expectation_config.type,
                column=r.expectation_config.kwargs.get("column"),
                success=bool(r.success),
                unexpected=int(r.result.get("unexpected_count", 0) or 0),
            )
            for r in result.results
        ]
        yield SuiteResult(batch_id, len(frame), outcomes)
