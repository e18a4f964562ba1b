"""`omsi-dbt`: dbt's command line, run by the warm dbt server when one is listening.

The dbt resource calls this executable where it would call `dbt` (pipelines/defs/dbt/project.py).
With OMSI_WARM_DBT naming a server's socket (`omsi run` starts one, pipelines/dbt/warm_server.py),
it hands the server its arguments, environment, working folder and standard streams, forwards
an interrupt to the process running the command, and exits with that command's exit code.
Without a server, or when the server cannot be reached, it runs the dbt installed beside this
Python in its own process, as the server would (firing only the log events a log keeps,
pipelines/dbt/event_level_filter.py), so anything that calls it gets dbt either way.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys

from pipelines.dbt.warm_server import SOCKET_VARIABLE


def _cold(args: list[str]) -> None:
    """Run the dbt this Python has here, as the warm server runs it; without one, become the
    dbt on PATH (never returns)."""
    from pipelines.dbt.event_level_filter import drop_events_below_level

    try:
        from dbt.cli.main import cli
    except ImportError:
        os.execvp("dbt", ["dbt", *args])
    drop_events_below_level()  # another dbt logs as it always does
    sys.argv = ["dbt", *args]
    sys.exit(cli())


def _connected(path: str | None) -> socket.socket | None:
    if not path:
        return None
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(path)
    except OSError:
        connection.close()
        return None
    return connection


def main() -> None:
    args = sys.argv[1:]
    connection = _connected(os.environ.get(SOCKET_VARIABLE))
    if connection is None:
        _cold(args)
    request = {"args": args, "env": dict(os.environ), "cwd": os.getcwd()}
    message = json.dumps(request).encode() + b"\n"
    sent = socket.send_fds(connection, [message], [0, 1, 2])
    connection.sendall(message[sent:])  # what one message could not carry
    replies = connection.makefile("rb")
    first = replies.readline()
    if not first:  # the server went away before running it: run it here
        connection.close()
        _cold(args)
    pid = json.loads(first)["pid"]

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):  # it has just finished
            os.kill(pid, signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, forward)
    last = replies.readline()
    # No exit code: the server was stopped while the command ran.
    sys.exit(json.loads(last)["exit"] if last else 2)


if __name__ == "__main__":
    main()
