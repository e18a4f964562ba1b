"""`omsi replay`: the shadow replay of the warehouse's history (registered by pipelines.cli)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from pipelines.settings import OmsiHome

ESTIMATE_NOTE = (
    "An estimate from the model, not a measurement: the experiment measures (docs/closed-loop.md)."
)


def _say(message: str) -> None:
    typer.echo(message, err=True)


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=1)


def _feed_settings_note(home: OmsiHome) -> str | None:
    """A note when feed.toml prices node history otherwise than the replay does (dbt vars)."""
    import yaml

    from pipelines.dbt.project_files import DBT_PROJECT_DIR
    from pipelines.feed.config import ConfigError, load_config

    try:
        settings = load_config(home.root).node_scores
    except ConfigError:
        return None  # `omsi feed` reports a broken feed.toml
    dbt_vars = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]
    replay = (dbt_vars["routing_lookback_days"], float(dbt_vars["routing_prior_strength"]))
    if (settings.lookback_days, settings.prior_strength) == replay:
        return None
    return (
        f"note: feed.toml prices node history over {settings.lookback_days} days with "
        f"{settings.prior_strength:g} pseudo-allocations; the replay uses the dbt vars "
        f"routing_lookback_days = {replay[0]} and routing_prior_strength = {replay[1]:g}"
    )


def render(summary) -> str:
    share = "n/a" if summary.share_changed is None else f"{summary.share_changed:.1%}"
    source = (
        f"the delivery model {summary.model_version}"
        if summary.late_estimate == "model"
        else "node history (no delivery model is promoted)"
    )
    rows = [
        ("expected late orders", summary.expected_late_chosen, summary.expected_late_shadow),
        (
            "expected cancellations",
            summary.expected_cancellations_chosen,
            summary.expected_cancellations_shadow,
        ),
    ]
    lines = [
        f"shadow replay: {summary.decisions:,} decisions, {summary.replayed:,} replayable; "
        f"P(late) from {source}",
        f"  changed by the feed's rule: {summary.changed:,} ({share} of decisions)",
        "  "
        + "".ljust(24)
        + "as routed".rjust(12)
        + "feed's rule".rjust(13)
        + "difference".rjust(12),
    ]
    lines += [
        f"  {label:24}{chosen:>12,.1f}{shadow:>13,.1f}{shadow - chosen:>+12,.1f}"
        for label, chosen, shadow in rows
    ]
    lines.append(
        f"  observed late orders as routed: {summary.observed_late:,} of {summary.labelled:,} "
        "decisions with an outcome"
    )
    lines.append(ESTIMATE_NOTE)
    return "\n".join(lines)


def replay_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Replay every first sourcing decision as the routing feed's rule would have made it, with
    the penalties of its day, and estimate late orders and cancellations both ways.

    Writes ml.shadow_routing_decisions (marts.fct_shadow_routing) and republishes serving. The
    numbers are the delivery model's estimate, not a measurement. See docs/closed-loop.md.
    """
    from models.registry import ArtifactRefused, Registry
    from pipelines.replay.candidates import CandidatesNotBuilt, build_candidates
    from pipelines.replay.run import ReplayInputsMissing, replay_warehouse
    from pipelines.serving import publish_snapshot
    from pipelines.warehouse import connect

    home = OmsiHome.from_env()
    if not home.warehouse.exists():
        _fail(f"no warehouse at {home.warehouse}: land data and build it first (`omsi run`)")
    note = _feed_settings_note(home)
    if note:
        _say(note)
    try:
        build_candidates(home, _say)
    except CandidatesNotBuilt as exc:
        _fail(str(exc))
    _say("replaying the first sourcing decisions")
    try:
        with connect(home.warehouse) as con:
            summary = replay_warehouse(con, Registry(home.models), say=_say)
    except (ReplayInputsMissing, ArtifactRefused) as exc:
        _fail(str(exc))
    publish_snapshot(home.warehouse, home.serving)
    _say(f"serving snapshot republished: {home.serving}")
    if as_json:
        typer.echo(json.dumps(summary.as_dict(), indent=2))
        return
    typer.echo(render(summary))
