"""A dbt process that is ready before the build needs it: dbt imported, the project parsed.

A `dbt build` started cold spends seconds before its first model: Python imports dbt, dbt
reads its partial-parse file and checks the project, then writes the manifest out again. On a
one-day run at 1,000,000 orders that was 4.5-7.9 s of the dbt step outside dbt's own elapsed
time, where a build handed an already parsed manifest spent 0.7-0.9 s. `omsi run` starts this
server as it begins, so that the import and the parse happen while Dagster loads, ingests and
checks the batch. When the build comes, `omsi-dbt` (pipelines/dbt/warm_client.py, the
executable the dbt resource calls) hands the server its command line, environment, working
folder and standard streams; the server forks, and the child runs the command on the parsed
manifest, writing to the caller's streams. The caller sees what it would see from `dbt`: the
same JSON log lines and exit code.

Why the parse can be done early: it reads the project's files and profiles.yml, which do not
change during a run, and the warehouse path, which the server is given. What a run decides
later (the batch its tests read after, OMSI_TESTS_AFTER_BATCH) is read while dbt executes, not
while it parses (pipelines/dbt/data_test_scope.py). A command that passes `--vars` changes what
a parse produces, so it is parsed again.

Parsing opens no connection to the warehouse, so the server holds no lock on it.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pipelines.dbt.event_level_filter import drop_events_below_level
from pipelines.dbt.project_files import DBT_PROJECT_DIR
from pipelines.garbage_collection import survivors_frozen

# The environment variable that tells `omsi-dbt` where the server listens.
SOCKET_VARIABLE = "OMSI_WARM_DBT"
_STREAMS = 3  # stdin, stdout, stderr
_MESSAGE_BYTES = 1 << 20


@dataclass(frozen=True)
class WarmDbt:
    """A running server: where it listens, and its log (warm-up time, one line per command)."""

    socket: Path
    log: Path


@contextmanager
def warm_dbt(warehouse: Path) -> Iterator[WarmDbt]:
    """A warm dbt server for builds on `warehouse` while the block runs; SOCKET_VARIABLE names it.

    It stops when the block ends, or when this process dies (it watches its parent).
    """
    folder = Path(tempfile.mkdtemp(prefix="omsi-warm-dbt-"))
    server = WarmDbt(folder / "dbt.sock", folder / "server.log")
    # Listening before the server has started: a caller that comes at once waits in the
    # backlog rather than finding no socket.
    with (
        socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener,
        server.log.open("wb") as log,
    ):
        listener.bind(str(server.socket))
        listener.listen(4)
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pipelines.dbt.warm_server",
                str(listener.fileno()),
                str(warehouse),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            pass_fds=[listener.fileno()],
        )
    saved = os.environ.get(SOCKET_VARIABLE)
    os.environ[SOCKET_VARIABLE] = str(server.socket)
    try:
        yield server
    finally:
        if saved is None:
            os.environ.pop(SOCKET_VARIABLE, None)
        else:
            os.environ[SOCKET_VARIABLE] = saved
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)


def _parsed_manifest(warehouse: Path):
    """The project parsed as the build would parse it, or None if the parse failed.

    It parses into a folder of its own, from a copy of the prepared partial-parse file
    (prepare_project parsed for this warehouse), so that only files changed since are read.
    """
    from dbt.cli.main import dbtRunner

    os.environ["OMSI_WAREHOUSE"] = str(warehouse)
    target = Path(tempfile.mkdtemp(prefix="omsi-warm-dbt-parse-"))
    prepared = DBT_PROJECT_DIR / "target" / "partial_parse.msgpack"
    if prepared.exists():
        shutil.copy(prepared, target / prepared.name)
    project = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    parsed = dbtRunner().invoke(
        ["parse", *project, "--target-path", str(target), "--log-path", str(target), "--quiet"]
    )
    shutil.rmtree(target, ignore_errors=True)
    return parsed.result if parsed.success else None


def _run(request: dict, manifest) -> int:
    """Run one dbt command in this (forked) process, as the `dbt` executable would; its exit
    code: 0 done, 1 a node or test failed, 2 dbt could not run it."""
    from dbt.cli.main import dbtRunner

    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    args = request["args"]
    # --vars changes what a parse produces: parse again, as a cold dbt would.
    runner = dbtRunner(manifest=None if "--vars" in args else manifest)
    try:
        result = runner.invoke(args)
    except BaseException as exc:  # noqa: BLE001 - reported like dbt's own unhandled errors
        print(f"dbt failed to run: {exc!r}", file=sys.stderr)
        return 2
    if result.exception is not None:
        return 2
    return 0 if result.success else 1


def _serve_one(listener: socket.socket, connection: socket.socket, manifest) -> None:
    """Take one request: fork, and report the child's pid, then its exit code, to the caller."""
    data, fds, _, _ = socket.recv_fds(connection, _MESSAGE_BYTES, _STREAMS)
    while data and not data.endswith(b"\n"):  # the rest of a long environment
        more = connection.recv(_MESSAGE_BYTES)
        if not more:
            break
        data += more
    if len(fds) != _STREAMS or not data.endswith(b"\n"):
        for fd in fds:
            os.close(fd)
        return
    request = json.loads(data)
    pid = os.fork()
    if pid == 0:  # the child: the caller's streams become its own
        code = 2
        try:
            listener.close()
            connection.close()
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            for number, fd in enumerate(fds):
                os.dup2(fd, number)
                os.close(fd)
            # A build of a one-day run at 1,000,000 orders spent 1.5 s of its 9 s of Python (the
            # time its threads take turns at) collecting garbage, a second of it in full
            # collections that walked the parsed project and dbt's modules again each time.
            with survivors_frozen():
                code = _run(request, manifest)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    for fd in fds:
        os.close(fd)
    started = time.perf_counter()
    connection.sendall(json.dumps({"pid": pid}).encode() + b"\n")
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    connection.sendall(json.dumps({"exit": code}).encode() + b"\n")
    command = request["args"][0] if request["args"] else ""
    print(f"dbt {command}: exit {code} in {time.perf_counter() - started:.1f} s", flush=True)


def serve(listening: int, warehouse: Path) -> None:
    """Warm up, then serve the callers of the socket listening on file descriptor `listening`
    one at a time, until terminated or until the process that started it is gone."""
    parent = os.getppid()
    listener = socket.socket(fileno=listening)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    started = time.perf_counter()
    unfiltered = drop_events_below_level()  # for the parse and every command
    if unfiltered:
        print(f"dbt's log events are written as dbt writes them: {unfiltered}", flush=True)
    manifest = _parsed_manifest(warehouse)
    # What is loaded now lives as long as the server: the forked builds' collections need not
    # walk it (pipelines/garbage_collection.py), and pages never written stay shared with them.
    gc.freeze()
    print(
        f"warm in {time.perf_counter() - started:.1f} s"
        + ("" if manifest is not None else "; the parse failed, commands parse for themselves"),
        flush=True,
    )
    listener.settimeout(1.0)
    while os.getppid() == parent:
        try:
            connection, _ = listener.accept()
        except TimeoutError:
            continue
        with connection:
            connection.settimeout(None)
            try:
                _serve_one(listener, connection, manifest)
            except OSError as exc:  # the caller went away; the next one is served all the same
                print(f"a caller went away: {exc}", flush=True)


if __name__ == "__main__":
    serve(int(sys.argv[1]), Path(sys.argv[2]))
