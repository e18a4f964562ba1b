"""Data health: did every line of every landing file end up somewhere (and if not, why), do the
snapshot's checks pass, and how old are its data, models and feed."""

import streamlit as st

from dashboards import health_sections, queries
from dashboards.reconciliation import reconciliation_problems
from dashboards.shell import require_snapshot
from dashboards.snapshot import SnapshotError, SnapshotVersion

# Query parameter that carries the sample explorer's reason, so a view can be shared as a link.
REASON_PARAM = "reason"

LINE_DEFINITIONS = {
    "Lines read": "Lines (JSONL) or rows (Parquet, CSV) read from landing files, over all batches.",
    "Landed": "Lines accepted into the raw tables: the first copy of each event, or a new "
    "reference-data row.",
    "Duplicates": "Exact re-sends of something already landed: counted, not stored twice.",
    "Resumed": "Lines landed by an earlier batch that was cut short mid-file (killed, crashed) "
    "and read again by the batch that finished the file: not sent twice, not stored twice.",
    "Quarantined": "Lines rejected with a machine-readable reason and kept in raw.quarantine.",
}


def _totals(version: SnapshotVersion) -> None:
    totals = queries.ingest_totals(version)
    columns = st.columns(len(LINE_DEFINITIONS))
    for column, (label, definition) in zip(columns, LINE_DEFINITIONS.items(), strict=True):
        value = int(totals[label.lower().replace(" ", "_")])
        column.metric(label, f"{value:,}", help=definition, border=True)
    st.caption(
        "**Lines read** = lines in the files read; **landed** = accepted into raw tables; "
        "**duplicates** = re-sends already landed; **resumed** = landed by a batch cut short "
        "mid-file, read again to finish it; **quarantined** = rejected with a reason. "
        f"Over {totals['batches']:,} ingest batches "
        f"({totals['unfinished_batches']:,} unfinished), {totals['file_reads']:,} file reads of "
        f"{totals['files']:,} distinct files; {totals['files_skipped']:,} files skipped because "
        "they were already ingested unchanged."
    )
    problems = reconciliation_problems(
        queries.ingest_files(version), queries.batch_mismatches(version)
    )
    if problems:
        st.error(
            "**Counts do not reconcile** (lines read must equal landed + duplicates + "
            "resumed + quarantined):\n\n" + "\n".join(f"- {problem}" for problem in problems),
            icon=":material/error:",
        )
    else:
        st.success(
            "Reconciled: lines read = landed + duplicates + resumed + quarantined for every "
            "file, and every batch's totals equal the sum of its files.",
            icon=":material/check_circle:",
        )


def _files(version: SnapshotVersion) -> None:
    st.subheader("Files")
    st.caption(
        "One row per file per batch that read it; files whose counts do not add up come first. "
        "**Unaccounted** = lines read − (landed + duplicates + resumed + quarantined), 0 when "
        "it reconciles."
    )
    st.dataframe(
        queries.ingest_files(version),
        hide_index=True,
        column_config={
            "batch_id": st.column_config.NumberColumn("Batch", format="%d"),
            "file": st.column_config.TextColumn("File", help="Path inside the landing folder"),
            "kind": st.column_config.TextColumn("Kind", help="events, nodes, skus or carriers"),
            "lines_read": st.column_config.NumberColumn("Lines read", format="localized"),
            "landed": st.column_config.NumberColumn("Landed", format="localized"),
            "duplicates": st.column_config.NumberColumn("Duplicates", format="localized"),
            "resumed": st.column_config.NumberColumn("Resumed", format="localized"),
            "quarantined": st.column_config.NumberColumn("Quarantined", format="localized"),
            "unaccounted": st.column_config.NumberColumn("Unaccounted", format="localized"),
            "size_bytes": st.column_config.NumberColumn("Size", format="bytes"),
            "seconds": st.column_config.NumberColumn("Seconds", format="%.2f"),
            "ingested_at": st.column_config.DatetimeColumn("Ingested at (UTC)"),
            "sha256": st.column_config.TextColumn("SHA-256", help="Checksum of the file read"),
        },
    )


def _quarantine_reasons(version: SnapshotVersion) -> None:
    st.subheader("Quarantine by reason")
    by_reason = queries.quarantine_by_reason(version)
    if by_reason.empty:
        st.success("Nothing quarantined: every line read landed or was a duplicate.")
        return
    st.caption(
        f"**Lines** = quarantined lines stored with that reason ({by_reason['lines'].sum():,} in "
        "all); **files** = landing files with at least one such line. Reasons are "
        "machine-readable, e.g. `missing_field:order_id`."
    )
    chart, table = st.columns([3, 2])
    chart.bar_chart(
        by_reason,
        x="reason",
        y="lines",
        horizontal=True,
        sort="-lines",
        x_label="",
        y_label="Lines",
    )
    table.dataframe(
        by_reason,
        hide_index=True,
        column_config={
            "reason": "Reason",
            "lines": st.column_config.NumberColumn("Lines", format="localized"),
            "files": st.column_config.NumberColumn("Files", format="localized"),
        },
    )
    with st.expander("By reason and file"):
        st.dataframe(queries.quarantine_by_reason_and_file(version), hide_index=True)


def _mirror_reason_to_link() -> None:
    st.query_params[REASON_PARAM] = st.session_state[REASON_PARAM]


def _quarantine_sample(version: SnapshotVersion) -> None:
    st.subheader("Quarantined lines")
    by_reason = queries.quarantine_by_reason(version)
    if by_reason.empty:
        return
    reasons = by_reason["reason"].tolist()
    lines = dict(zip(by_reason["reason"], by_reason["lines"], strict=True))
    wanted = st.query_params.get(REASON_PARAM)
    reason = st.selectbox(
        "Reason",
        reasons,
        index=reasons.index(wanted) if wanted in reasons else 0,
        format_func=lambda r: f"{r} ({lines[r]:,} lines)",
        key=REASON_PARAM,
        on_change=_mirror_reason_to_link,
    )
    if wanted is not None and wanted not in reasons:
        st.caption(f"This snapshot has no quarantined lines with reason `{wanted}` from the link.")
    sample = queries.quarantine_sample(version, reason)
    st.caption(
        f"A sample of {len(sample):,} of the {lines[reason]:,} lines quarantined as `{reason}`: "
        "**line no** is the 1-based line (or row) in the landing file, **detail** says what "
        "exactly was wrong, **raw** is the line as received. The URL keeps the chosen reason."
    )
    st.dataframe(
        sample,
        hide_index=True,
        column_config={
            "file": "File",
            "line_no": st.column_config.NumberColumn("Line no", format="%d"),
            "reason": "Reason",
            "detail": "Detail",
            "raw": st.column_config.TextColumn("Raw line", width="large"),
        },
    )


def _schema_drift(version: SnapshotVersion) -> None:
    drift = queries.schema_drift(version)
    if drift.empty:
        return
    st.subheader("Schema drift")
    st.caption(
        "Fields inside `data` that the contract does not know: kept as sent, not validated. "
        "**Lines** = lines of that batch carrying the field; **first file / line** = where it "
        "first appeared; **likely rename of** = a required field missing on most of the same "
        "lines (those lines are quarantined as `missing_field`): map the new name back."
    )
    st.dataframe(
        drift,
        hide_index=True,
        column_config={
            "batch_id": st.column_config.NumberColumn("Batch", format="%d"),
            "event_type": "Event type",
            "field": "Field",
            "lines": st.column_config.NumberColumn("Lines", format="localized"),
            "first_file": "First file",
            "first_line_no": st.column_config.NumberColumn("First line", format="%d"),
            "likely_rename_of": "Likely rename of",
        },
    )


def _events_by_type(version: SnapshotVersion) -> None:
    st.subheader("Events by type")
    events = queries.events_by_type(version)
    if events.empty:
        st.info("No events landed yet.")
        return
    st.caption(
        f"**Events** = events landed in raw.events with that type ({events['events'].sum():,} "
        "in all); **first** and **last** = earliest and latest event time (occurred_at, UTC)."
    )
    chart, table = st.columns(2)
    chart.bar_chart(
        events,
        x="event_type",
        y="events",
        horizontal=True,
        sort="-events",
        x_label="",
        y_label="Events",
    )
    table.dataframe(
        events,
        hide_index=True,
        column_config={
            "event_type": "Event type",
            "events": st.column_config.NumberColumn("Events", format="localized"),
            "first_at": st.column_config.DatetimeColumn("First (UTC)"),
            "last_at": st.column_config.DatetimeColumn("Last (UTC)"),
        },
    )


st.title("Data health")
st.caption(
    "Where every line of every landing file went. Ingest promises that each line read either "
    "landed, was a duplicate, or was quarantined with a reason; this page checks that promise."
)
snapshot = require_snapshot(queries.INGEST_TABLES)
try:
    _totals(snapshot)
    _files(snapshot)
    _quarantine_reasons(snapshot)
    _quarantine_sample(snapshot)
    _schema_drift(snapshot)
    _events_by_type(snapshot)
    health_sections.render(snapshot)
except SnapshotError as error:
    st.error(str(error))
