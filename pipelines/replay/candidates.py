"""Build the shadow replay's candidates before a replay reads them.

`ml.ml_shadow_candidates` (every node that could have taken each order, as it stood at the
order's decision) is rebuilt whole from all history, and only the replay reads it. The hourly
incremental run leaves it out (`pipelines/dbt/data_test_scope.py`); full builds and the nightly
full check build it, and `omsi replay` builds it first, so a replay always reads candidates as
current as the warehouse.
"""

from __future__ import annotations

from collections.abc import Callable

from pipelines.dbt.commands import DbtCommandFailed, run_dbt_command
from pipelines.dbt.data_test_scope import DataTestScope
from pipelines.settings import OmsiHome

CANDIDATES_MODEL = "ml_shadow_candidates"


class CandidatesNotBuilt(RuntimeError):
    """dbt could not build the candidates; the message holds the end of its output."""


def build_candidates(home: OmsiHome, say: Callable[[str], None]) -> None:
    """`dbt build` of the candidates and their tests, over every row, on the home's warehouse."""
    say(f"building the replay's candidates (dbt build --select {CANDIDATES_MODEL})")
    args = ["build", "--select", CANDIDATES_MODEL, "--quiet"]
    try:
        run_dbt_command(home, args, home.root / "dbt-replay", DataTestScope().env())
    except DbtCommandFailed as exc:
        raise CandidatesNotBuilt(
            f"dbt could not build {CANDIDATES_MODEL} ({exc})\n"
            "Fix what it names, then run `omsi replay` again."
        ) from exc
