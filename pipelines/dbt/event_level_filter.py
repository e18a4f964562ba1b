"""dbt's terminal log drops events below its level before writing them, not after.

dbt writes every event it fires to its terminal logger, which turns the event into its JSON line
(every field converted, secrets scrubbed) and only then hands the line to a Python logger that
drops it when it is below the log level. Most events are debug: the text of each query, each
connection opened or reused. At the default level nothing of them reaches the terminal, but
each was written out first. In the dbt build of a one-day `omsi run` at 1,000,000 orders,
dbt's Python held the interpreter lock for about two thirds of the step's time, a sixth of it
firing events, half of that writing lines nobody kept; the build's threads take turns at that
lock, so it is time the build waits.

The warm dbt server (pipelines/dbt/warm_server.py) runs dbt in its own process, so it can tell
the terminal logger to look at an event's level first. What the terminal shows is the same:
the same events, in the same lines, at the same levels. Print events go through whatever the
level, as dbt's logger sends them at error level (so that --quiet keeps them).
"""

from __future__ import annotations


def drop_events_below_level() -> None:
    """From now on, dbt's terminal logger in this process skips the events below its level
    before it writes their lines. Call once, before dbt runs a command."""
    from dbt.events import logging as dbt_logging
    from dbt_common.events import logger as dbt_logger

    stdout_config = dbt_logging.get_stdout_config
    if getattr(stdout_config, "drops_below_level", False):
        return
    levels = dbt_logger._log_level_map  # noqa: SLF001 - the numbers dbt's Python logger uses

    def level_first_config(line_format, use_colors, level, log_cache_events):
        config = stdout_config(line_format, use_colors, level, log_cache_events)
        least, kept = levels[level], config.filter

        def wanted(msg) -> bool:
            shown = dbt_logger._is_print_event(msg) or levels[msg.info.level] >= least  # noqa: SLF001
            return shown and kept(msg)

        config.filter = wanted
        return config

    level_first_config.drops_below_level = True
    dbt_logging.get_stdout_config = level_first_config
