"""Import, on a background thread, what a later step of `omsi run` needs, while this step waits.

Scoring needs scikit-learn and skops, 2.7 s to import. An import holds Python's interpreter
lock, so it only comes free while the step it overlaps waits outside that lock: the dbt step,
which waits half a minute of a one-day run for the dbt subprocess. Started anywhere else it
only delays the step it runs beside: Great Expectations (3.2 s) imported beside ingest, whose
DuckDB statements release the lock, made ingest and the batch checks no faster together.

One import is cheaper made early instead: see `scipy_special_first`.
"""

from __future__ import annotations

import importlib
import threading

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


def scipy_special_first() -> None:
    """Import scipy.special now, before Dagster and the definitions load their thousands of
    modules, so that skops' import (for scoring, above) finds it near the front of sys.modules.

    skops names each of scipy.special's ufuncs as it is imported, and a ufunc has no
    `__module__`: it is looked for in every loaded module, in import order, until one holds it.
    Loaded after the definitions, that is some 3,000 modules for each of 230 ufuncs: skops'
    import took 4.0-4.6 s of CPU, during the dbt build, which wants both cores. With
    scipy.special loaded first it took 1.5-2.0 s, for 0.25 s here (numpy, which it needs, the
    definitions import anyway). The names skops finds are the same either way.
    """
    import scipy.special  # noqa: F401 - imported for its place in sys.modules
