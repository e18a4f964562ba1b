"""dbt drops the events no log shows before it writes them, not after.

dbt turns every event it fires into a message (each field converted) and hands it to its
terminal logger, which writes the message as its JSON line (converted again, secrets scrubbed)
and only then hands the line to a Python logger that drops it when it is below the log level.
Most events are debug: the text of each query, each connection opened or reused. At the default
level nothing of them reaches the terminal, but each was converted twice and written out first.
In the dbt build of a one-day `omsi run` at 1,000,000 orders, dbt's Python held the interpreter
lock for most of the step's time, a sixth of it firing events, half of that writing lines
nobody kept; the build's threads take turns at that lock, so it is time the build waits.

Where omsi runs dbt in a process of its own (the warm dbt server, pipelines/dbt/warm_server.py,
and `omsi-dbt` without one, pipelines/dbt/warm_client.py), it has an event's level looked at
first: an event below every log's level is not made into a message at all, and the terminal
logger skips what is below its own level before writing (another log, a debug file log say,
may still want it). What the logs show is the same: the same events, in the same lines, at the
same levels. Print events go through whatever the level, as dbt's logger sends them at error
level (so that --quiet keeps them); warnings and errors are always fired, since dbt may turn a
warning into an error and its own callback looks at warnings.
"""

from __future__ import annotations


def drop_events_below_level() -> str | None:
    """From now on, dbt in this process fires no event below every log's level, and its terminal
    logger skips the events below its own level before it writes their lines. Call before dbt
    runs a command; a second call changes nothing. Returns why not when this dbt's logging lacks
    what it needs (another version): then dbt logs as it always does."""
    try:
        _fire_only_what_a_log_keeps()
        _terminal_looks_at_the_level_first()
    except (ImportError, AttributeError, KeyError) as exc:
        return repr(exc)
    return None


def _fire_only_what_a_log_keeps() -> None:
    from dbt.tracking import track_behavior_change_warn
    from dbt_common.events import logger as dbt_logger
    from dbt_common.events.base_types import EventLevel
    from dbt_common.events.event_manager import EventManager

    fire = EventManager.fire_event
    if getattr(fire, "drops_below_level", False):
        return
    levels = dbt_logger._log_level_map  # noqa: SLF001 - the numbers dbt's Python logger uses
    always = levels[EventLevel.WARN]

    def fire_if_kept(self, e, level=None, node=None, force_warn_or_error_handling=False):
        # Only dbt's own callback (it looks at warnings) may be listening besides the logs.
        quiet = (
            not force_warn_or_error_handling
            and self.loggers
            and type(e).__name__ not in dbt_logger.PRINT_EVENT_NAMES
            and all(callback is track_behavior_change_warn for callback in self.callbacks)
        )
        if quiet:
            rank = levels[level or e.level_tag()]
            if rank < always and all(rank < levels[log.level] for log in self.loggers):
                return
        fire(self, e, level, node, force_warn_or_error_handling)

    fire_if_kept.drops_below_level = True
    EventManager.fire_event = fire_if_kept


def _terminal_looks_at_the_level_first() -> None:
    from dbt.events import logging as dbt_logging
    from dbt_common.events import logger as dbt_logger

    stdout_config = dbt_logging.get_stdout_config
    if getattr(stdout_config, "drops_below_level", False):
        return
    levels = dbt_logger._log_level_map  # noqa: SLF001 - the numbers dbt's Python logger uses
    is_print = dbt_logger._is_print_event  # noqa: SLF001 - what dbt sends at error level

    def level_first_config(line_format, use_colors, level, log_cache_events):
        config = stdout_config(line_format, use_colors, level, log_cache_events)
        least, kept = levels[level], config.filter

        def wanted(msg) -> bool:
            return (is_print(msg) or levels[msg.info.level] >= least) and kept(msg)

        config.filter = wanted
        return config

    level_first_config.drops_below_level = True
    dbt_logging.get_stdout_config = level_first_config
