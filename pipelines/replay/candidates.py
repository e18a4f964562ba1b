"""Build the shadow replay's candidates before a replay reads them.

`ml.ml_shadow_candidates` (every node that could have taken each order, as it stood at the
order's decision) is rebuilt whole from all history, and only the replay reads it. The hourly
incremental run leaves it out (`pipelines/dbt/data_test_scope.py`); full builds and the nightly
full check build it, and `omsi replay` builds it first, so a replay always reads candidates as
current as the warehouse.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable

from pipelines.dbt.commands import dbt_beside_python, dbt_command, dbt_env
from pipelines.dbt.data_test_scope import DataTestScope
from pipelines.settings import OmsiHome

CANDIDATES_MODEL = "ml_shadow_candidates"


class CandidatesNotBuilt(RuntimeError):
    """dbt could not build the candidates; the message holds the end of its output."""


def build_candidates(home: OmsiHome, say: Callable[[str], None]) -> None:
    """`dbt build` of the candidates and their tests, over every row, on the home's warehouse."""
    dbt = dbt_beside_python()
    if dbt is None:
        raise CandidatesNotBuilt("dbt is not installed beside this Python: run `make install`")
    say(f"building the replay's candidates (dbt build --select {CANDIDATES_MODEL})")
    command = dbt_command(
        dbt, ["build", "--select", CANDIDATES_MODEL, "--quiet"], home.root / "dbt-replay"
    )
    env = {**os.environ, **dbt_env(home), **DataTestScope().env()}
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode:
        raise CandidatesNotBuilt(
            f"dbt could not build {CANDIDATES_MODEL} (exit {done.returncode}):\n"
            f"{(done.stdout + done.stderr)[-3000:]}\nFix what it names, then run `omsi replay` again."
        )
