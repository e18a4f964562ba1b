"""A snapshot of the Dagster graph, so that a change to it shows in review.

Assets with their group, jobs and upstream assets; asset checks; jobs, schedules and sensors, as
text in `tests/fixtures/dagster_graph.txt`. A change to the graph fails here until the snapshot
is written again on purpose: `OMSI_UPDATE_GRAPH=1 .venv/bin/pytest tests/test_dagster_graph.py`,
then review the snapshot's diff with the code's.
"""

from __future__ import annotations

import os
from pathlib import Path

from pipelines.definitions import defs

SNAPSHOT = Path(__file__).parent / "fixtures" / "dagster_graph.txt"


def render_graph() -> str:
    graph = defs.resolve_asset_graph()
    repository = defs.get_repository_def()
    jobs = [job for job in repository.get_all_jobs() if not job.name.startswith("__")]
    jobs_of: dict[str, list[str]] = {}
    for job in jobs:
        for key in job.asset_layer.selected_asset_keys:
            jobs_of.setdefault(key.to_user_string(), []).append(job.name)

    lines = ["# assets: key [group] jobs=... <- upstream assets"]
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        name = key.to_user_string()
        parents = ", ".join(sorted(p.to_user_string() for p in node.parent_keys))
        jobs_here = ",".join(sorted(jobs_of.get(name, []))) or "-"
        lines.append(f"{name} [{node.group_name}] jobs={jobs_here} <- {parents or '-'}")

    lines.append("# asset checks: asset: check (blocking ones marked)")
    for check in sorted(
        graph.asset_check_keys, key=lambda c: (c.asset_key.to_user_string(), c.name)
    ):
        blocking = " (blocking)" if graph.get_check_spec(check).blocking else ""
        lines.append(f"{check.asset_key.to_user_string()}: {check.name}{blocking}")

    lines.append("# jobs: name, assets selected")
    lines += [f"{job.name}: {len(job.asset_layer.selected_asset_keys)} assets" for job in jobs]
    lines.append("# schedules: name, cron, job, default status")
    lines += [
        f"{s.name}: {s.cron_schedule} -> {s.job_name} ({s.default_status.value})"
        for s in sorted(repository.schedule_defs, key=lambda s: s.name)
    ]
    lines.append("# sensors: name, jobs, default status")
    lines += [
        f"{s.name}: -> {','.join(sorted(t.job_name for t in s.targets))} ({s.default_status.value})"
        for s in sorted(repository.sensor_defs, key=lambda s: s.name)
    ]
    return "\n".join(lines) + "\n"


def test_the_dagster_graph_matches_its_snapshot():
    rendered = render_graph()
    if os.environ.get("OMSI_UPDATE_GRAPH") == "1":
        SNAPSHOT.write_text(rendered)
    assert SNAPSHOT.exists(), "no snapshot yet: run with OMSI_UPDATE_GRAPH=1"
    assert rendered == SNAPSHOT.read_text(), (
        "the Dagster graph changed: if on purpose, run"
        " `OMSI_UPDATE_GRAPH=1 .venv/bin/pytest tests/test_dagster_graph.py` and commit the snapshot"
    )
