"""`omsi status`: what $OMSI_HOME holds, in a few lines a person can read."""

from __future__ import annotations

from datetime import datetime

import duckdb

from pipelines.feed.status import feed_status_lines
from pipelines.ingest.discover import discover
from pipelines.settings import OmsiHome


def describe(home: OmsiHome) -> str:
    lines = [f"OMSI_HOME {home.root}"]
    if home.landing.is_dir():
        files = discover(home.landing)
        size = sum(f.path.stat().st_size for f in files)
        lines.append(f"landing   {len(files)} file(s), {size / 1e6:.1f} MB in {home.landing}")
    else:
        lines.append(f"landing   missing: put events in {home.landing} (or run `omsi demo`)")
    if not home.warehouse.exists():
        lines.append("warehouse not built yet: run `omsi run` (or `omsi ingest DIR`)")
    else:
        # Read-only, so that status works while nothing else writes; it fails fast if a run does.
        try:
            con = duckdb.connect(str(home.warehouse), read_only=True)
        except duckdb.IOException:
            lines.append("warehouse busy: a run is writing it; try again when it finishes")
            return "\n".join(lines)
        with con:
            # Summed over the file rows, not the batch totals: a batch cut short (killed) has
            # no totals, yet the files it finished before it stopped count.
            batches, cut_short, last, read, landed, dups, resumed, quarantined = con.execute(
                """
                select
                    (select count(*) from raw.ingest_batches),
                    (select count(*) from raw.ingest_batches where finished_at is null),
                    (select max(finished_at) from raw.ingest_batches),
                    sum(lines_read), sum(landed), sum(duplicates), sum(resumed), sum(quarantined),
                from raw.ingest_files
                """
            ).fetchall()[0]
            events = con.execute("select count(*) from raw.events").fetchall()[0][0]
            reasons = con.execute(
                "select reason, count(*) from raw.quarantine group by all order by 2 desc limit 5"
            ).fetchall()
            quarantine_line = _quarantine_line(con) if reasons else ""
            drift_lines = _drift_lines(con)
        cut = f" ({cut_short} cut short)" if cut_short else ""
        lines.append(f"warehouse {events:,} events from {batches} batch(es){cut}, last at {last}")
        lines.append(
            f"          lines read {read or 0:,} = landed {landed or 0:,} + duplicates "
            f"{dups or 0:,} + resumed {resumed or 0:,} + quarantined {quarantined or 0:,}"
        )
        if reasons:
            lines.append(
                "          top quarantine reasons: " + ", ".join(f"{r} ({n:,})" for r, n in reasons)
            )
            lines.append(quarantine_line)
        lines += drift_lines
    if home.serving.exists():
        age = datetime.now().timestamp() - home.serving.stat().st_mtime
        lines.append(f"serving   {home.serving} published {age / 60:.0f} min ago")
    else:
        lines.append("serving   not published yet: run `omsi run`")
    lines += _model_lines(home)
    lines += feed_status_lines(home)
    return "\n".join(lines)


def _model_lines(home: OmsiHome) -> list[str]:
    """The promoted version of each risk model, read from the registry's files (no import of
    scikit-learn: status stays fast)."""
    import json

    lines = []
    for model in ("delivery", "inventory"):
        pointer = home.models / model / "promoted.json"
        if not pointer.exists():
            lines.append(
                f"model     {model}: none promoted yet (`omsi run` or `omsi train` trains one)"
            )
            continue
        promoted = json.loads(pointer.read_text())
        card = json.loads((home.models / model / promoted["version"] / "card.json").read_text())
        metrics = card["metrics"]["model"]
        lines.append(
            f"model     {model}: {promoted['version']} promoted {promoted['promoted_at']}; test "
            f"ROC-AUC {metrics['roc_auc']:.3f}, PR-AUC {metrics['pr_auc']:.3f}, ECE {metrics['ece']:.3f}"
        )
    return lines


def _quarantine_line(con: duckdb.DuckDBPyConnection) -> str:
    from pipelines.quarantine import open_count

    still_open, total = open_count(con)
    return (
        f"          quarantine: {still_open:,} open of {total:,} (corrections landed since: "
        f"{total - still_open:,}); see `omsi quarantine`"
    )


def _drift_lines(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Schema drift of the latest batch that read any event file (a warehouse may predate it)."""
    from pipelines.ingest.schema_drift import batch_drift

    try:
        (latest,) = con.execute(
            "select max(batch_id) from raw.ingest_files where kind = 'events'"
        ).fetchall()[0]
        drift = batch_drift(con, latest) if latest is not None else []
    except duckdb.CatalogException:
        return []
    if not drift:
        return []
    lines = [f"drift     batch {latest}: {len(drift)} field(s) the contract does not know:"]
    lines += [f"          {d.describe()}" for d in drift[:5]]
    if len(drift) > 5:
        lines.append(f"          ... and {len(drift) - 5} more: `omsi ingest DIR --json` lists all")
    return lines
