"""Import, on a background thread, what a later step of `omsi run` needs, while this step waits.

Some libraries take seconds to import: Great Expectations (3.2 s) for the batch checks, and
scikit-learn with skops (2.7 s) for scoring. An import holds Python's interpreter lock, so it
only comes free while the step it overlaps works outside that lock: DuckDB's statements during
ingest, the dbt subprocess (half a minute of a one-day run) during the dbt step. Started there,
the import is done by the time the later step asks for it; one started anywhere else would
only delay the step it runs beside.
"""

from __future__ import annotations

import importlib
import threading

# The batch checks, which run right after ingest.
BATCH_CHECKS = ("great_expectations",)
# Training and scoring, which run after dbt.
RISK_MODELS = ("pipelines.ml.training_run", "pipelines.ml.scoring_run")


def in_background(modules: tuple[str, ...]) -> threading.Thread:
    """Start importing `modules`; the thread ends when they are imported."""

    def load() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - the step that needs it imports it again and says why
                return

    thread = threading.Thread(target=load, name=f"preload {', '.join(modules)}", daemon=True)
    thread.start()
    return thread
