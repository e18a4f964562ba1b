"""dbt's logs with the warm server's level filter: the same lines, fewer made."""

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


def _logs(levels: list[EventLevel], events) -> tuple[list[list[str]], int]:
    """The event names of the lines dbt's terminal loggers at `levels` write for `events`, one
    list per logger, and how many lines they made to get there."""
    manager, streams, made = EventManager(), [], []
    for level in levels:
        config = dbt_logging.get_stdout_config(LineFormat.Json, False, level, False)
        config.output_stream = io.StringIO()
        config.name += str(len(streams))  # a Python logger of its own, with its own level
        manager.add_logger(config)
        streams.append(config.output_stream)
    for logger in manager.loggers:
        logger.create_line = lambda msg, create=logger.create_line: made.append(msg) or create(msg)
    for event in events:
        manager.fire_event(event)
    for logger in manager.loggers:
        logger.flush()
    names = [
        [json.loads(line)["info"]["name"] for line in stream.getvalue().splitlines()]
        for stream in streams
    ]
    return names, len(made)


@pytest.fixture
def restored(monkeypatch):
    """dbt's logging as it was before the test patched it."""
    monkeypatch.setattr(dbt_logging, "get_stdout_config", dbt_logging.get_stdout_config)
    monkeypatch.setattr(EventManager, "fire_event", EventManager.fire_event)


EVENTS = [
    SQLQuery(conn_name="model.omsi.fct_orders", sql="select 1", node_info={}),
    Note(msg="a line at info"),
    SQLQuery(conn_name="model.omsi.fct_orders", sql="select 2", node_info={}),
    PrintEvent(msg="printed whatever the level"),
]


@pytest.mark.parametrize("level", [EventLevel.INFO, EventLevel.ERROR, EventLevel.DEBUG])
def test_the_terminal_shows_the_same_lines_and_makes_no_line_it_drops(restored, level):
    (before,), made_before = _logs([level], EVENTS)
    drop_events_below_level()
    drop_events_below_level()  # a second call changes nothing
    (after,), made_after = _logs([level], EVENTS)

    assert after == before
    assert made_before == len(EVENTS)  # dbt's own logger writes every event, then drops some
    assert made_after == len(after)  # filtered, it makes only what it shows
    assert (
        after
        == {
            EventLevel.DEBUG: ["SQLQuery", "Note", "SQLQuery", "PrintEvent"],
            EventLevel.INFO: ["Note", "PrintEvent"],
            EventLevel.ERROR: ["PrintEvent"],  # dbt sends prints at error level, for --quiet
        }[level]
    )


def test_an_event_one_log_keeps_still_reaches_it(restored):
    # A debug log (a file log at debug, say) beside the terminal at info.
    drop_events_below_level()
    (debug, info), made = _logs([EventLevel.DEBUG, EventLevel.INFO], EVENTS)

    assert debug == ["SQLQuery", "Note", "SQLQuery", "PrintEvent"]
    assert info == ["Note", "PrintEvent"]
    assert made == len(debug) + len(info)
