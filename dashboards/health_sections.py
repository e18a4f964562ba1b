"""The Data health sections drawn below the intake sections of app_pages/ingest.py: check
results, and the age of every part of what the pages show."""

from __future__ import annotations

import streamlit as st

from dashboards import health, queries
from dashboards.page_parts import table
from dashboards.snapshot import SnapshotVersion, serving_path


def render(version: SnapshotVersion) -> None:
    st.subheader("Check results")
    checks = health.check_results(
        version, queries.ingest_files(version), queries.batch_mismatches(version)
    )
    failed = checks[checks["status"] == "fail"]
    not_run = checks[checks["status"] == "not run"]
    if failed.empty:
        ran = len(checks) - len(not_run)
        st.success(f"All {ran} checks that ran pass.", icon=":material/check_circle:")
    else:
        st.error(
            f"{len(failed)} of {len(checks)} checks fail: "
            + "; ".join(failed["check"])
            + ". Rebuild with `omsi run`; if it persists, see the files and quarantine above.",
            icon=":material/error:",
        )
    if not not_run.empty:
        st.info(
            f"{len(not_run)} checks did not run: this snapshot lacks the dashboard marts they "
            "check. Rebuild it with `omsi run`.",
            icon=":material/info:",
        )
    st.caption(
        "Recomputed from this snapshot: ingest reconciliation, finished batches, each "
        "dashboard mart summing to the fact it aggregates, and marts built from every batch."
    )
    table(checks, "check results")

    st.subheader("Freshness: models, feed and data")
    ages = health.freshness(version, serving_path().parent / "feed")
    stale = ages[ages["at"].isna()]
    if not stale.empty:
        st.info(
            "Not there yet: "
            + "; ".join(f"{row.part} ({row.detail})" for row in stale.itertuples())
            + ".",
            icon=":material/hourglass_empty:",
        )
    table(
        ages,
        "freshness",
        {"at": st.column_config.DatetimeColumn("At (UTC)"), "age": "Age", "part": "Part"},
    )
