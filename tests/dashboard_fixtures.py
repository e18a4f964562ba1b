"""Serving snapshots for the dashboard tests, in the exact table shapes the serving writer uses."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

SERVING_DDL = """
create table serving_manifest (built_at timestamp, warehouse_batch_id bigint, tables varchar);
create table ingest_batches (
    batch_id bigint, landing_dir varchar, started_at timestamp, finished_at timestamp,
    files integer, files_skipped integer, lines_read bigint, landed bigint, duplicates bigint,
    resumed bigint, quarantined bigint
);
create table ingest_files (
    batch_id bigint, file varchar, kind varchar, sha256 varchar, size_bytes bigint,
    lines_read bigint, landed bigint, duplicates bigint, resumed bigint, quarantined bigint,
    seconds double, ingested_at timestamp
);
create table quarantine_reasons (reason varchar, file varchar, lines bigint);
create table quarantine_sample (
    file varchar, line_no bigint, reason varchar, detail varchar, raw varchar
);
create table events_by_type (
    event_type varchar, events bigint, first_at timestamp, last_at timestamp
);
"""

# The marts' KPI tables as the serving writer copies them from schema `marts`.
KPI_DDL = """
create table kpi_daily (
    kpi_date date, channel varchar, fulfillment_method varchar, node_type varchar, kpi varchar,
    numerator double, denominator double, value double
);
create table kpi_definitions (
    kpi varchar, label varchar, unit varchar, higher_is_better boolean, definition varchar,
    reference varchar
);
"""

# Four KPI days: Sat 2024-05-04 and Sun 05-05 (the "previous" period of the two after them),
# Mon 05-06 and Tue 05-07, so a weekly trend over all four has two ISO weeks. Days carry very
# different denominators: averaging daily values gives other numbers than sum/sum. The tests
# state the expected aggregates by hand.
# (kpi_date, channel, fulfillment_method, node_type, kpi, numerator, denominator)
KPI_DAILY = [
    ("2024-05-04", "web", "delivery", "dc", "on_time_rate", 8, 10),
    ("2024-05-05", "store", "pickup", "store", "on_time_rate", 9, 10),
    ("2024-05-06", "web", "delivery", "dc", "on_time_rate", 9, 10),
    ("2024-05-07", "web", "delivery", "dc", "on_time_rate", 10, 40),
    ("2024-05-06", "store", "pickup", "store", "on_time_rate", 5, 5),
    ("2024-05-07", "store", "pickup", "store", "on_time_rate", 3, 4),
    # No channel and no fulfillment method: cycle counts happen at nodes.
    ("2024-05-04", "all", "all", "dc", "inventory_record_accuracy", 40, 50),
    ("2024-05-06", "all", "all", "dc", "inventory_record_accuracy", 45, 50),
    ("2024-05-07", "all", "all", "store", "inventory_record_accuracy", 10, 20),
    # No node type; an app day with no orders has a zero denominator and no value.
    ("2024-05-04", "web", "delivery", "all", "cancellation_rate", 3, 100),
    ("2024-05-06", "web", "delivery", "all", "cancellation_rate", 2, 100),
    ("2024-05-07", "app", "delivery", "all", "cancellation_rate", 0, 0),
    # Hours: numerator = sum of hours, denominator = orders.
    ("2024-05-05", "web", "delivery", "dc", "click_to_ship_hours", 200, 5),
    ("2024-05-06", "web", "delivery", "dc", "click_to_ship_hours", 240, 10),
    ("2024-05-07", "web", "delivery", "dc", "click_to_ship_hours", 120, 2),
    ("2024-05-06", "web", "delivery", "all", "cost_to_serve_per_order", 1250.25, 100),
    # A KPI the definitions seed does not know (yet).
    ("2024-05-07", "web", "delivery", "dc", "mystery_rate", 1, 4),
]

# (kpi, label, unit, higher_is_better, definition, reference)
KPI_DEFINITIONS = [
    ("on_time_rate", "On-time delivery", "ratio", True, "On time / delivered.", "Fluent"),
    ("cancellation_rate", "Cancellation rate", "ratio", False, "Cancelled / placed.", "Fluent"),
    (
        "inventory_record_accuracy",
        "Inventory record accuracy",
        "ratio",
        True,
        "Counts within tolerance / counts.",
        "CAPS Research",
    ),
    ("click_to_ship_hours", "Click-to-ship", "hours", False, "Mean hours to ship.", "IBM"),
    ("cost_to_serve_per_order", "Cost to serve", "currency", False, "Cost / orders.", "IBM"),
    # Defined but with no rows: no tile.
    ("wismo_rate", "WISMO rate", "ratio", False, "WISMO contacts / orders.", "Practice"),
]

BUILT_AT = datetime(2024, 5, 3, 6, 0, 0)

# (batch_id, file, kind, landed, duplicates, resumed, {reason: quarantined lines})
_FILES = [
    (1, "events/2024-05-01.jsonl", "events", 48_213, 0, 0, {"invalid_json": 17}),
    (1, "reference/nodes.csv", "nodes", 42, 0, 0, {"missing_field:node_type": 2}),
    (1, "reference/skus.csv", "skus", 1_250, 3, 0, {}),
    # Read again after a batch cut short mid-file: 20,000 of its lines had landed then.
    (2, "events/2024-05-02.jsonl", "events", 31_877, 12, 20_000, {"missing_field:order_id": 9}),
    (
        2,
        "events/2024-05-02-resend.jsonl",
        "events",
        0,
        4_006,
        0,
        # A reason with a quote: pasting it into SQL would break the sample query.
        {"conflicting_duplicate": 5, "unknown_event_type:o'brien": 3},
    ),
]

_EVENTS = [
    ("order.placed", 30_114),
    ("order.line_allocated", 41_020),
    ("order.shipped", 28_956),
]


@dataclass
class ServingFixture:
    path: Path
    files: list[dict[str, object]] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)
    samples: list[dict[str, object]] = field(default_factory=list)
    events: dict[str, int] = field(default_factory=dict)

    def total(self, column: str) -> int:
        return sum(int(row[column]) for row in self.files)


def write_serving_snapshot(
    path: Path,
    *,
    break_file: str | None = None,
    built_at: datetime = BUILT_AT,
    kpis: bool = True,
) -> ServingFixture:
    """Publish a snapshot at `path` the way the pipeline does: new file, renamed into place.

    `break_file` names a file whose lines_read (and its batch's) gets 7 extra lines that no
    outcome accounts for, so the snapshot no longer reconciles. `kpis=False` leaves out the KPI
    marts, as a snapshot published before the marts were built.
    """
    fixture = ServingFixture(path=path)
    for batch_id, file, kind, landed, duplicates, resumed, quarantined_by_reason in _FILES:
        quarantined = sum(quarantined_by_reason.values())
        lines_read = landed + duplicates + resumed + quarantined + (7 if file == break_file else 0)
        fixture.files.append(
            {
                "batch_id": batch_id,
                "file": file,
                "kind": kind,
                "sha256": hashlib.sha256(file.encode()).hexdigest(),
                "size_bytes": lines_read * 180,
                "lines_read": lines_read,
                "landed": landed,
                "duplicates": duplicates,
                "resumed": resumed,
                "quarantined": quarantined,
                "seconds": lines_read / 250_000,
                "ingested_at": built_at - timedelta(hours=3 - batch_id),
            }
        )
        for reason, lines in quarantined_by_reason.items():
            fixture.reasons[reason] = fixture.reasons.get(reason, 0) + lines
            for line_no in range(1, min(lines, 4) + 1):
                fixture.samples.append(
                    {
                        "file": file,
                        "line_no": line_no * 101,
                        "reason": reason,
                        "detail": f"{reason} at line {line_no * 101}",
                        "raw": f'{{"bad": "{reason}", "n": {line_no}}}',
                    }
                )
    fixture.events = dict(_EVENTS)
    if break_file is not None and break_file not in {row["file"] for row in fixture.files}:
        raise ValueError(f"break_file {break_file!r} is not one of the fixture's files")

    staging = path.with_name(path.name + ".tmp")
    staging.unlink(missing_ok=True)
    con = duckdb.connect(str(staging))
    try:
        con.execute(SERVING_DDL)
        con.execute(
            "insert into serving_manifest values (?, ?, ?)",
            [built_at, 2, "ingest_batches,ingest_files,quarantine_reasons,quarantine_sample"],
        )
        for batch_id in sorted({row["batch_id"] for row in fixture.files}):
            rows = [row for row in fixture.files if row["batch_id"] == batch_id]
            con.execute(
                "insert into ingest_batches values (?, 'data/landing', ?, ?, ?, 0, ?, ?, ?, ?, ?)",
                [
                    batch_id,
                    rows[0]["ingested_at"] - timedelta(minutes=5),
                    rows[0]["ingested_at"],
                    len(rows),
                    *(
                        sum(int(r[c]) for r in rows)
                        for c in ("lines_read", "landed", "duplicates", "resumed", "quarantined")
                    ),
                ],
            )
        con.executemany(
            "insert into ingest_files values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [list(row.values()) for row in fixture.files],
        )
        con.executemany(
            "insert into quarantine_reasons values (?, ?, ?)",
            [
                [reason, file, lines]
                for _, file, _, _, _, _, by_reason in _FILES
                for reason, lines in by_reason.items()
            ],
        )
        con.executemany(
            "insert into quarantine_sample values (?, ?, ?, ?, ?)",
            [list(row.values()) for row in fixture.samples],
        )
        con.executemany(
            "insert into events_by_type values (?, ?, ?, ?)",
            [
                [event_type, events, datetime(2024, 5, 1), datetime(2024, 5, 2, 23, 59)]
                for event_type, events in _EVENTS
            ],
        )
        if kpis:
            write_kpi_tables(con)
    finally:
        con.close()
    os.replace(staging, path)
    return fixture


def write_kpi_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(KPI_DDL)
    con.executemany(
        "insert into kpi_daily values (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [*row, row[5] / row[6] if row[6] else None]  # value, as the mart computes it
            for row in KPI_DAILY
        ],
    )
    con.executemany("insert into kpi_definitions values (?, ?, ?, ?, ?, ?)", KPI_DEFINITIONS)


# --- A simulated world built for real: simulator, ingest, dbt, serving ------------------------

# The dbt nodes the pages read: the dashboard marts, kpi_daily (the Overview) and everything
# upstream of them, the KPI definitions seed, and the shadow replay's candidates. Tests and
# checks are left to tests/test_dbt_marts.py, which builds all.
WORLD_DBT_ARGS = [
    "build",
    "--select",
    "+path:models/marts/dashboards",
    "+path:models/marts/ingest_health",
    "+kpi_daily",
    "kpi_definitions",
    "+ml_shadow_candidates",
    "--resource-type",
    "model",
    "--resource-type",
    "seed",
]


@dataclass
class WorldSnapshots:
    """A world delivered in two parts: the snapshot after the first and after both."""

    warehouse: Path
    first: Path
    final: Path


def build_world_snapshots(
    root: Path, *, orders: int = 1500, days: int = 30, seed: int = 11, first_days: int = 20
) -> WorldSnapshots:
    """Simulate a world, land its first `first_days` day files, build and publish a snapshot
    (kept as `first`), then land the rest, build incrementally, replay its sourcing decisions
    (`omsi replay`'s code; no model is trained, so P(late) comes from history) and publish
    again (`final`).

    The warehouse afterwards holds the final marts, for tests to read the numbers independently.
    """
    import shutil

    from models.registry import Registry
    from pipelines import warehouse as wh
    from pipelines.ingest import ingest_folder
    from pipelines.replay.run import replay_warehouse
    from pipelines.serving import publish_snapshot
    from pipelines.simulator import generate
    from tests.dbt_runner import run_dbt

    world, landing, warehouse = root / "world", root / "landing", root / "warehouse.duckdb"
    generate(world, orders=orders, days=days, seed=seed)
    files = sorted((world / "events").iterdir())
    shutil.copytree(world / "reference", landing / "reference")
    (landing / "events").mkdir(parents=True)
    snapshots = []
    for number, part in enumerate((files[:first_days], files[first_days:]), start=1):
        for path in part:
            shutil.copy2(path, landing / "events" / path.name)
        con = wh.connect(warehouse)
        try:
            ingest_folder(con, landing)
        finally:
            con.close()
        code, output, _ = run_dbt(WORLD_DBT_ARGS, warehouse, root / f"dbt-{number}")
        if code != 0:
            raise RuntimeError(f"dbt failed on delivery {number}:\n{output[-6000:]}")
        if number == 2:
            con = wh.connect(warehouse)
            try:
                replay_warehouse(con, Registry(root / "models"))
            finally:
                con.close()
        snapshot = root / f"serving-{number}.duckdb"
        publish_snapshot(warehouse, snapshot)
        snapshots.append(snapshot)
    return WorldSnapshots(warehouse=warehouse, first=snapshots[0], final=snapshots[1])


def publish_copy(source: Path, target: Path) -> None:
    """Publish `source` at `target` the way the pipeline does: a new file renamed into place."""
    import shutil

    staging = target.with_name(target.name + ".tmp")
    shutil.copyfile(source, staging)
    os.replace(staging, target)


CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


@contextmanager
def chromium(profile: Path) -> Iterator[object]:
    """Debian's headless Chromium under Selenium; skips the test when it is not installed."""
    import pytest

    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip(
            "Chromium and chromedriver are needed at /usr/bin: run `make test` (it installs them "
            "with apt-get) or `sudo apt-get install chromium chromium-driver`."
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,2600",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
