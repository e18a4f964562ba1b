"""Turn the ingest counts into the sentences a person needs when they do not reconcile.

The invariant is ingest's promise: every line read either landed, was a duplicate, was resumed
(landed by an earlier batch cut short mid-file) or was quarantined. It must hold for every file, and each batch's totals must equal its files' sum.
"""

from __future__ import annotations

import pandas as pd

OUTCOMES = ("landed", "duplicates", "resumed", "quarantined")
# Enough to point someone at the problem without burying the page in one bad run.
MAX_LISTED = 10


def _gap(unaccounted: int) -> str:
    if unaccounted > 0:
        return f"{unaccounted:,} lines unaccounted for"
    return f"{-unaccounted:,} more outcomes than lines read"


def file_problems(files: pd.DataFrame) -> list[str]:
    """One sentence per file row whose lines read differ from the sum of its outcomes."""
    bad = files[files["lines_read"] != files[list(OUTCOMES)].sum(axis=1)]
    problems = []
    for row in bad.itertuples(index=False):
        outcomes = row.landed + row.duplicates + row.resumed + row.quarantined
        problems.append(
            f"File `{row.file}` (batch {row.batch_id}): lines read {row.lines_read:,} but "
            f"landed {row.landed:,} + duplicates {row.duplicates:,} + resumed "
            f"{row.resumed:,} + quarantined {row.quarantined:,} = {outcomes:,} "
            f"({_gap(row.lines_read - outcomes)})."
        )
    return problems


def batch_problems(mismatches: pd.DataFrame) -> list[str]:
    """One sentence per batch whose totals differ from the sum of its files' rows."""
    problems = []
    for row in mismatches.to_dict("records"):
        differences = [
            f"{column.replace('_', ' ')} {row[f'batch_{column}']:,} vs {row[f'files_{column}']:,}"
            for column in ("lines_read", *OUTCOMES)
            if row[f"batch_{column}"] != row[f"files_{column}"]
        ]
        problems.append(
            f"Batch {row['batch_id']}: its totals differ from the sum of its files "
            f"({'; '.join(differences)})."
        )
    return problems


def reconciliation_problems(files: pd.DataFrame, mismatches: pd.DataFrame) -> list[str]:
    """Every reconciliation failure as a sentence, batches first; empty when all is well.

    Long lists are cut at MAX_LISTED with a closing sentence saying how many more there are.
    """
    problems = batch_problems(mismatches) + file_problems(files)
    if len(problems) > MAX_LISTED:
        hidden = len(problems) - MAX_LISTED
        problems = problems[:MAX_LISTED] + [f"... and {hidden:,} more (see the files table)."]
    return problems
