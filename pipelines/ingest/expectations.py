"""The Great Expectations suite every landed batch must pass before anything reads it.

Ingest already rejects malformed events line by line; this suite looks at a batch as a whole,
for what no single line can show: an event_id landed twice, a batch of one event type only
because an export broke, timestamps far from the batch's own time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb
import pandas as pd

from pipelines.contract import EVENT_TYPES

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


def landed_batch(
    con: duckdb.DuckDBPyConnection, batch_id: int | None = None
) -> tuple[int | None, pd.DataFrame]:
    """The events of one ingest batch (the latest by default), without their data payload."""
    if batch_id is None:
        batch_id = con.execute("select max(batch_id) from raw.events").fetchall()[0][0]
    frame = con.execute(
        """
        select event_id, event_type, occurred_at, source, schema_version, order_id
        from raw.events where batch_id = $b
        """,
        {"b": batch_id},
    ).df()
    return batch_id, frame


def validate_batch(
    frame: pd.DataFrame, batch_id: int | None, now: datetime | None = None
) -> SuiteResult:
    """Run the suite over a batch; an empty batch (nothing new landed) passes trivially."""
    if frame.empty:
        return SuiteResult(batch_id, 0, [])
    import great_expectations as gx  # imported late: it takes seconds and only checks need it
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")  # a suite needs a live context to be built
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    suite = _suite(gx, now or datetime.now())
    batch = (
        context.data_sources.add_pandas("landing")
        .add_dataframe_asset("landed_events")
        .add_batch_definition_whole_dataframe("batch")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    result = batch.validate(suite)
    outcomes = [
        ExpectationOutcome(
            expectation=r.expectation_config.type,
            column=r.expectation_config.kwargs.get("column"),
            success=bool(r.success),
            unexpected=int(r.result.get("unexpected_count", 0) or 0),
        )
        for r in result.results
    ]
    return SuiteResult(batch_id, len(frame), outcomes)
