"""Great Expectations imported in a process of its own while `omsi run` starts.

The batch checks are the first step that needs Great Expectations, and importing it takes 2-4 s
of one core (some 1,500 modules). On a one-day run at 1,000,000 orders that import was most of
the checks' 2.3-2.9 s, while in the run's first seconds one of the two cores sat idle: Python
imports Dagster and the definitions on one core. So `omsi run` starts this worker first thing;
it imports Great Expectations and waits. The checks hand it each slice of the batch as an Arrow
file and read the suite's outcomes back (pipelines/ingest/expectations.py).

The worker can make the checks faster, never different: it runs the same suite on the same
frame, and when anything goes wrong with it (it did not start, died, or answered with an error)
the checks run the suite in their own process, as they do without a worker.

Protocol: one JSON request per line on the worker's stdin, `{"arrow": path, "batch_id": n,
"now": iso}`, and one JSON reply per line on its stdout, `{"results": [...]}` (what
expectations.validated_frames yields, as dicts) or `{"error": text}`.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

# The worker of the `warm_checks` block this process is in, if any, and the folder for the
# slices it is handed. The checks run in the process that started it (Dagster's in-process
# executor), so a module-level handle reaches them.
_worker: subprocess.Popen | None = None
_folder: Path | None = None
_NOT_IMPORTED = ("sqlalchemy", "pyspark")
# How long the checks wait for the worker's answer on one slice before they give up on it and
# validate here. A slice of SLICE_ROWS rows takes it about 3 s (6 s on a loaded machine), and the
# first also waits out the import: two minutes is far beyond a healthy worker, and a worker
# that hangs (alive, never answering) then costs the hourly job two minutes, not the job.
REPLY_TIMEOUT_S = 120.0


@contextmanager
def warm_checks() -> Iterator[None]:
    """A warm Great Expectations worker while the block runs; stopped when it ends, or when
    this process dies (the worker's stdin closes)."""
    global _worker, _folder
    folder = Path(tempfile.mkdtemp(prefix="omsi-warm-checks-"))
    process = subprocess.Popen(
        [sys.executable, "-m", "pipelines.ingest.warm_checks"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    _worker, _folder = process, folder
    try:
        yield
    finally:
        _worker = _folder = None
        _stop(process)
        shutil.rmtree(folder, ignore_errors=True)


def _stop(process: subprocess.Popen) -> None:
    # The worker's loop ends at end of input; if it had died, what was left to send goes nowhere.
    with contextlib.suppress(BrokenPipeError):
        process.stdin.close()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    process.stdout.close()


def suite_results(
    table: pa.Table, batch_id: int | None, now: datetime
) -> list[dict[str, Any]] | None:
    """The suite's results on `table` from the warm worker, as dicts; None when there is no
    worker or it failed (the caller then runs the suite itself)."""
    global _worker
    if _worker is None or _folder is None:
        return None
    import pyarrow as pa

    path = _folder / "slice.arrow"
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    request = {"arrow": str(path), "batch_id": batch_id, "now": now.isoformat()}
    try:
        _worker.stdin.write(json.dumps(request) + "\n")
        _worker.stdin.flush()
        # One reply line per request, so nothing is left buffered from an earlier one and the
        # pipe itself tells whether the answer has begun.
        answered, _, _ = select.select([_worker.stdout], [], [], REPLY_TIMEOUT_S)
        if not answered:
            raise TimeoutError(f"no answer from the warm checks worker in {REPLY_TIMEOUT_S:.0f} s")
        reply = json.loads(_worker.stdout.readline())  # "" when it died: ValueError
    except (OSError, ValueError):
        # Gone, garbled or hung (TimeoutError is an OSError): not asked again in this run.
        # Killed first, since a hung worker would not end at the end of its input.
        _worker.kill()
        _stop(_worker)
        _worker = None
        return None
    finally:
        path.unlink(missing_ok=True)
    return reply.get("results")


def _serve() -> None:
    """The worker: import Great Expectations, then answer requests until stdin closes."""
    # Second in line for a core: the run's own start-up and the warm dbt server come first, and
    # the checks, when they need this process, wait for it with their core free.
    os.nice(10)
    # Optional for Great Expectations, and not needed for the suite's pandas frames: a third of
    # its import time (2.3 s against 3.2 s). Should a later version need them, the worker fails
    # to answer and the checks run in the run's own process.
    for optional in _NOT_IMPORTED:
        sys.modules[optional] = None
    import pyarrow as pa

    from pipelines.ingest import expectations

    # Replies on the real stdout; whatever a library prints goes to stderr instead.
    replies = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    expectations.great_expectations()  # the import this process exists for
    for line in sys.stdin:
        request = json.loads(line)
        try:
            with pa.memory_map(request["arrow"]) as source:
                frame = pa.ipc.open_file(source).read_all().to_pandas()
            results = expectations.validated_frames(
                [frame], request["batch_id"], datetime.fromisoformat(request["now"])
            )
            reply: dict[str, Any] = {"results": [asdict(result) for result in results]}
        except Exception as error:  # noqa: BLE001 - the caller runs the suite itself and sees it
            reply = {"error": f"{type(error).__name__}: {error}"}
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


if __name__ == "__main__":
    _serve()
