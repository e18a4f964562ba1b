"""Run the refresh job in-process (what `omsi run` does), with short progress lines.

Runs are recorded in a Dagster instance under `$OMSI_HOME/dagster`, the same one `make dev`
points the UI at, so a run started from the terminal shows up there with its materializations.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.garbage_collection import survivors_frozen
from pipelines.settings import OmsiHome

if TYPE_CHECKING:
    from dagster import DagsterInstance, ExecuteInProcessResult

# One slot for the warehouse pool: DuckDB allows one writing process at a time. The run logs
# are Dagster's SQLite files, written through a storage that keeps its connections open
# (pipelines/dagster_event_log.py); base_dir is where Dagster keeps them by default.
_WRITTEN_BY_OMSI = "# Written by omsi for this home; delete this line to keep your own edits.\n"
DAGSTER_YAML = (
    _WRITTEN_BY_OMSI
    + """\
concurrency:
  pools:
    default_limit: 1
telemetry:
  enabled: false
event_log_storage:
  module: pipelines.dagster_event_log
  class: HeldSqliteEventLogStorage
  config:
    base_dir: {runs}
"""
)
# What homes made before the storage above were given; replaced by the text above.
_EARLIER_DAGSTER_YAML = """\
concurrency:
  pools:
    default_limit: 1
telemetry:
  enabled: false
"""


def prepare_dagster_home(home: OmsiHome) -> Path:
    """`$OMSI_HOME/dagster` with its dagster.yaml; the folder `make dev` uses as DAGSTER_HOME.

    The file names its own folder, so it is written again when the home was moved or copied,
    unless someone took its first line out to keep their edits."""
    dagster_home = home.root / "dagster"
    dagster_home.mkdir(parents=True, exist_ok=True)
    config = dagster_home / "dagster.yaml"
    wanted = DAGSTER_YAML.format(runs=json.dumps(str(dagster_home / "history" / "runs")))
    found = config.read_text() if config.exists() else None
    if found is None or (
        found != wanted and (found.startswith(_WRITTEN_BY_OMSI) or found == _EARLIER_DAGSTER_YAML)
    ):
        config.write_text(wanted)
    return dagster_home


# When the dbt step has nothing new to build it yields no asset (its log line says why), and
# Dagster then notes every output it did not yield, one per dbt node and test: hundreds of names
# that would bury that line. The Dagster UI keeps them.
_NOTHING_NEW_NOISE = "did not yield or return expected outputs"
_GATING_LOGGER = "dagster._core.execution.plan.active"  # one warning per ungated blocking check


def _progress_logger(progress: Callable[[str], None]):
    import dagster as dg

    class _Handler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            meta = getattr(record, "dagster_meta", {}) or {}
            event = meta.get("dagster_event")
            step = meta.get("step_key") or ""
            if event is None:
                message = meta.get("orig_message", record.getMessage())
                if _NOTHING_NEW_NOISE in message:
                    return
                progress(f"  {step}: {message}")
                return
            kind = event.event_type_value
            if kind == "STEP_START":
                progress(f"> {step}")
            elif kind == "STEP_SUCCESS":
                progress(f"  {step} done")
            elif kind == "STEP_FAILURE":
                progress(f"  {step} FAILED: {event.event_specific_data.error.message.strip()}")
            elif kind == "ASSET_CHECK_EVALUATION":
                data = event.event_specific_data
                if not data.passed:
                    progress(
                        f"  check {data.check_name} on {data.asset_key.to_user_string()} FAILED"
                    )
            elif kind == "STEP_SKIPPED":
                progress(f"  {step} skipped: the step before it built nothing new, or failed")

    @dg.logger(description="Short progress lines on the terminal.")
    def terminal(_init_context) -> logging.Logger:
        log = logging.getLogger("omsi.run")
        log.setLevel(logging.INFO)
        log.handlers = [_Handler()]
        log.propagate = False
        return log

    return terminal


_dbt_prepared: list[Path] = []


def _prepare_dbt_project(home: OmsiHome) -> None:
    """Parse the dbt project before the definitions load, so they see every model as it is now.
    Once per process: loaded definitions do not reload, so a second parse would change nothing.
    Whether it needs a parse is learnt without dagster-dbt, whose import (2 s) would otherwise
    hold back the warm dbt server, which starts next."""
    from pipelines.dbt.project_files import is_prepared

    if not _dbt_prepared:
        any_warehouse = home.engine == "spark"
        if not is_prepared(home.warehouse, any_warehouse=any_warehouse):
            from pipelines.defs.dbt.project import prepare_project

            prepare_project(home.warehouse, any_warehouse=any_warehouse)
        _dbt_prepared.append(home.warehouse)


def run_refresh(
    home: OmsiHome,
    *,
    full_refresh: bool = False,
    full_checks: bool = False,
    progress: Callable[[str], None] = print,
) -> ExecuteInProcessResult:
    """Materialize every asset and check; the result says which steps succeeded.

    Where the run's time went is recorded with it (ops.run_steps and the run's tags), whether
    it succeeded or not.
    """
    started = time.perf_counter()  # before Dagster and the definitions load: part of the run
    from pipelines.ingest.discover import landing_fingerprint

    landing = landing_fingerprint(home.landing)  # as the run finds it (files may come meanwhile)
    from pipelines.ingest.warm_checks import warm_checks

    # Great Expectations imports in a process of its own from the start, on the core the
    # imports below leave idle (pipelines/ingest/warm_checks.py).
    with warm_checks():
        _prepare_dbt_project(home)
        from pipelines.dbt.warm_server import warm_dbt

        # dbt imports and parses in a process of its own while the definitions load and the
        # batch lands; the dbt step then starts at once (pipelines/dbt/warm_server.py). It parses
        # for DuckDB: on Spark the build parses for itself, and the seconds saved are few beside
        # Spark's.
        warm = warm_dbt(home.warehouse) if home.engine == "duckdb" else contextlib.nullcontext()
        with warm, survivors_frozen():
            instance, result = _execute(home, full_refresh, full_checks, progress)
    _record_steps(home, instance, result, time.perf_counter() - started)
    if result.success:
        from pipelines.quiet_runs import record_completed_run
        from pipelines.warehouse import connect

        with connect(home.warehouse) as con:
            record_completed_run(con, result.run_id, landing)
    return result


def _execute(
    home: OmsiHome, full_refresh: bool, full_checks: bool, progress: Callable[[str], None]
) -> tuple[DagsterInstance, ExecuteInProcessResult]:
    """Load the definitions and run the refresh job on `home`, in this process."""
    from pipelines.preload import scipy_special_first

    scipy_special_first()  # before Dagster's modules (the function says why)
    import dagster as dg

    from pipelines.definitions import REFRESH_JOB, defs
    from pipelines.defs.warehouse_resource import WarehouseResource

    instance = dg.DagsterInstance.from_config(str(prepare_dagster_home(home)))
    job = defs.resolve_job_def(REFRESH_JOB).with_logger_defs(
        {"terminal": _progress_logger(progress)}
    )
    run_config = {
        "ops": {
            "dbt_models": {"config": {"full_refresh": full_refresh, "full_checks": full_checks}}
        },
        "loggers": {"terminal": {}},
    }
    gating = logging.getLogger(_GATING_LOGGER)
    level = gating.level
    gating.setLevel(logging.ERROR)
    try:
        # The home is bound here, not when the definitions were imported, so one process can run
        # against several homes (tests do).
        result = job.execute_in_process(
            run_config=run_config,
            instance=instance,
            resources={"warehouse": WarehouseResource(home=str(home.root))},
            raise_on_error=False,
        )
    finally:
        gating.setLevel(level)
    return instance, result


def _record_steps(
    home: OmsiHome, instance: DagsterInstance, result: ExecuteInProcessResult, total: float
) -> None:
    """Split the run's `total` wall time by step; keep it in the warehouse and on the run."""
    from pipelines.dbt.builds import build_times_of_run
    from pipelines.run_steps import record_steps, split_run, step_line
    from pipelines.warehouse import connect

    # Without $OMSI_LAKE the lake step only looks and returns: its moment is Dagster's own.
    unlisted = set() if home.lake is not None else {"lake"}
    walls = {
        s.step_key: s.end_time - s.start_time
        for s in instance.get_run_step_stats(result.run_id)
        if s.start_time is not None and s.end_time is not None
        if step_line(s.step_key) not in unlisted
    }
    checks = sum(
        e.step_materialization_data.materialization.metadata["checks_seconds"].value
        for e in result.get_asset_materialization_events()
        if e.asset_key.path == ["raw", "events"]
    )
    with connect(home.warehouse) as con:
        steps = split_run(total, walls, checks=checks, dbt=build_times_of_run(con, result.run_id))
        record_steps(con, result.run_id, steps)
    instance.add_run_tags(
        result.run_id,
        {f"omsi/seconds.{s.step.replace(' ', '_')}": f"{s.seconds:.1f}" for s in steps},
    )
