"""dbt's terminal log with the warm server's level filter: the same lines, fewer written."""

from __future__ import annotations

import io
import json

import pytest

from pipelines.dbt.event_level_filter import drop_events_below_level

dbt_logging = pytest.importorskip("dbt.events.logging", reason="dbt is installed by `make install`")
from dbt.adapters.events.types import SQLQuery  # noqa: E402
from dbt_common.events.base_types import EventLevel  # noqa: E402
from dbt_common.events.event_manager import EventManager  # noqa: E402
from dbt_common.events.logger import LineFormat  # noqa: E402
from dbt_common.events.types import Note, PrintEvent  # noqa: E402


def _terminal(level: EventLevel, events) -> tuple[list[tuple[str, str]], int]:
    """(event name, level) of each line dbt's terminal logger at `level` writes for `events`,
    and how many lines it made to get there."""
    config = dbt_logging.get_stdout_config(LineFormat.Json, False, level, False)
    config.output_stream = io.StringIO()
    manager = EventManager()
    manager.add_logger(config)
    logger = manager.loggers[0]
    made = []
    create_line = logger.create_line
    logger.create_line = lambda msg: made.append(msg) or create_line(msg)
    for event in events:
        manager.fire_event(event)
    logger.flush()
    lines = [json.loads(line)["info"] for line in config.output_stream.getvalue().splitlines()]
    return [(info["name"], info["level"]) for info in lines], len(made)


EVENTS = [
    SQLQuery(conn_name="model.omsi.fct_orders", sql="select 1", node_info={}),
    Note(msg="a line at info"),
    SQLQuery(conn_name="model.omsi.fct_orders", sql="select 2", node_info={}),
    PrintEvent(msg="printed whatever the level"),
]


@pytest.mark.parametrize("level", [EventLevel.INFO, EventLevel.ERROR, EventLevel.DEBUG])
def test_the_terminal_shows_the_same_lines_and_writes_no_line_it_drops(monkeypatch, level):
    monkeypatch.setattr(dbt_logging, "get_stdout_config", dbt_logging.get_stdout_config)
    before, made_before = _terminal(level, EVENTS)
    drop_events_below_level()
    drop_events_below_level()  # a second call changes nothing
    after, made_after = _terminal(level, EVENTS)

    assert after == before
    assert made_before == len(EVENTS)  # dbt's own logger writes every event, then drops some
    assert made_after == len(after)  # filtered, it writes only what it shows
    expected = {
        EventLevel.DEBUG: ["SQLQuery", "Note", "SQLQuery", "PrintEvent"],
        EventLevel.INFO: ["Note", "PrintEvent"],
        EventLevel.ERROR: ["PrintEvent"],  # dbt sends prints at error level, for --quiet
    }[level]
    assert [name for name, _ in after] == expected
