"""What every page shares: finding the snapshot (or explaining its absence) and the sidebar."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from dashboards import queries
from dashboards.snapshot import (
    SnapshotError,
    SnapshotVersion,
    age_text,
    current_version,
    missing_snapshot_message,
    serving_path,
)


def require_snapshot(
    tables: Sequence[str] = (), missing_hint: str | None = None
) -> SnapshotVersion:
    """The current snapshot version, or stop the page with a message saying what to run.

    `tables` are the snapshot tables the calling page reads; if any is missing the page stops
    with a message naming them rather than failing half-way through, followed by `missing_hint`
    (by default: the snapshot is older than this omsi, rebuild it).
    """
    path = serving_path()
    try:
        version = current_version(path)
        if version is None:
            st.info(missing_snapshot_message(path), icon=":material/hourglass_empty:")
            st.stop()
        missing = queries.missing_tables(version, tables)
    except SnapshotError as error:
        st.error(str(error))
        st.stop()
    if missing:
        hint = (
            missing_hint
            or "It was probably published by an older omsi: rebuild it with `omsi run`."
        )
        st.error(
            f"The serving snapshot `{path}` has no table {', '.join(f'`{t}`' for t in missing)}. "
            + hint
        )
        st.stop()
    return version


def sidebar_status() -> None:
    """Snapshot age and provenance, so nobody mistakes yesterday's numbers for today's."""
    path = serving_path()
    with st.sidebar:
        st.subheader("Serving snapshot")
        try:
            version = current_version(path)
            built = None if version is None else queries.manifest(version)
        except SnapshotError as error:
            st.warning(str(error))
            return
        if version is None:
            st.caption(f"None published yet at `{path}`.")
        elif built is None or built.empty or pd.isna(built["built_at"].iloc[0]):
            st.warning("The snapshot has no manifest row; rebuild it with `omsi run`.")
        else:
            built_at = built["built_at"].iloc[0].to_pydatetime()
            st.markdown(f"Built **{age_text(built_at)}**")
            st.caption(
                f"Built at {built_at:%Y-%m-%d %H:%M:%S} UTC from warehouse batch "
                f"{built['warehouse_batch_id'].iloc[0]}. File: `{path}`."
            )
        # Any widget interaction reruns the script, which re-checks the file's version.
        st.button("Check for a newer snapshot", icon=":material/refresh:")
