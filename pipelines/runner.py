"""Run the refresh job in-process (what `omsi run` does), with short progress lines.

Runs are recorded in a Dagster instance under `$OMSI_HOME/dagster`, the same one `make dev`
points the UI at, so a run started from the terminal shows up there with its materializations.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from pipelines.settings import OmsiHome

# One slot for the warehouse pool: DuckDB allows one writing process at a time.
DAGSTER_YAML = """\
concurrency:
  pools:
    default_limit: 1
telemetry:
  enabled: false
"""


def prepare_dagster_home(home: OmsiHome) -> None:
    dagster_home = home.root / "dagster"
    dagster_home.mkdir(parents=True, exist_ok=True)
    config = dagster_home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    os.environ.setdefault("DAGSTER_HOME", str(dagster_home))


def _progress_logger(progress: Callable[[str], None]):
    import dagster as dg

    class _Handler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            meta = getattr(record, "dagster_meta", {}) or {}
            event = meta.get("dagster_event")
            step = meta.get("step_key") or ""
            if event is None:
                progress(f"  {step}: {meta.get('orig_message', record.getMessage())}")
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
                    progress(f"  check {data.check_name} on {data.asset_key.to_user_string()} FAILED")
            elif kind == "STEP_SKIPPED":
                progress(f"  {step} skipped (an upstream step or blocking check failed)")

    @dg.logger(description="Short progress lines on the terminal.")
    def terminal(_init_context) -> logging.Logger:
        log = logging.getLogger("omsi.run")
        log.setLevel(logging.INFO)
        log.handlers = [_Handler()]
        log.propagate = False
        return log

    return terminal


def run_refresh(home: OmsiHome, *, full_refresh: bool = False,
                progress: Callable[[str], None] = print) -> bool:
    """Materialize every asset and check; True when the run succeeded."""
    os.environ["OMSI_HOME"] = str(home.root)
    prepare_dagster_home(home)
    import dagster as dg

    from pipelines.definitions import REFRESH_JOB, defs

    job = defs.resolve_job_def(REFRESH_JOB)
    job = job.with_logger_defs({"terminal": _progress_logger(progress)})
    run_config = {"ops": {"dbt_models": {"config": {"full_refresh": full_refresh}}}, "loggers": {"terminal": {}}}
    result = job.execute_in_process(run_config=run_config, instance=dg.DagsterInstance.get(),
                                    raise_on_error=False)
    return result.success
