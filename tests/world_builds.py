"""Simulated worlds built with the real dbt, for the tests that need a whole warehouse: ingest a
landing folder and build, and copy a world with its events edited (to prove that what was
decided before an instant ignores what happened after it, or to plant a history)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import orjson

from pipelines import warehouse
from pipelines.ingest import ingest_folder
from tests.dbt_runner import run_dbt


def build(landing: Path, wh: Path, work: Path, args: list[str]) -> None:
    """Ingest `landing` into the warehouse file `wh`, then run dbt with `args` on it."""
    con = warehouse.connect(wh)
    try:
        ingest_folder(con, landing)
    finally:
        con.close()
    code, output, _ = run_dbt(args, wh, work)
    assert code == 0, output[-6000:]


def rewrite_events(world: Path, target: Path, edit: Callable[[dict], dict | None]) -> None:
    """Copy the world's reference files and events into `target`, each event through `edit`
    (which returns the event to write, changed or not, or None to drop it)."""
    shutil.copytree(world / "reference", target / "reference")
    (target / "events").mkdir(parents=True)
    for path in sorted((world / "events").iterdir()):
        kept = [
            orjson.dumps(edited)
            for line in path.read_bytes().splitlines()
            if (edited := edit(orjson.loads(line))) is not None
        ]
        (target / "events" / path.name).write_bytes(b"\n".join(kept) + b"\n")
