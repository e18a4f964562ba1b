"""A simulated world landed in two ingest batches, for the tests of the lake and of dbt on Spark:
the first half of its event files, then the rest with one node renamed (batch 2 replaces a
reference row)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path


def landing_in_two_batches(world: Path, home: Path) -> tuple[Path, list[Path]]:
    """A landing folder with the first half of the world's event files; the rest to add."""
    landing = home / "landing"
    shutil.copytree(world / "reference", landing / "reference")
    files = sorted((world / "events").iterdir())
    (landing / "events").mkdir(parents=True)
    for path in files[: len(files) // 2]:
        shutil.copy2(path, landing / "events" / path.name)
    return landing, files[len(files) // 2 :]


def second_batch(landing: Path, rest: list[Path]) -> None:
    """The rest of the events, and a renamed node: batch 2 replaces one reference row."""
    for path in rest:
        shutil.copy2(path, landing / "events" / path.name)
    rename_first_node(landing)


def rename_first_node(landing: Path) -> None:
    """Append " (renamed)" to the name of the first node in the landing's nodes.csv."""
    nodes = landing / "reference" / "nodes.csv"
    with nodes.open(newline="") as f:
        rows = list(csv.DictReader(f))
    rows[0]["name"] = rows[0]["name"] + " (renamed)"
    with nodes.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
