"""`omsi generate`: the Typer command that writes a simulated world (registered by pipelines.cli)."""

from __future__ import annotations

import json
import os
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer

from pipelines.simulator.config import ConfigError, load_config
from pipelines.simulator.engine import generate
from pipelines.simulator.report import world_report
from pipelines.simulator.routing import routing_from_config

_DEFAULTS = load_config()["world"]
_DEFAULT_OUT = Path(os.environ.get("OMSI_HOME", "data")) / "world"


def _parse_start(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError as exc:
        raise typer.BadParameter(
            f"{value!r} is not a date: use YYYY-MM-DD, e.g. 2024-09-01"
        ) from exc


def generate_command(
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Folder to write the world to: events/, reference/ (ingest these) and truth/"
            " (never ingest). Default: $OMSI_HOME/world.",
        ),
    ] = _DEFAULT_OUT,
    orders: Annotated[
        int,
        typer.Option("--orders", min=1, help="Number of orders placed over the whole world."),
    ] = int(_DEFAULTS["orders"]),
    days: Annotated[
        int, typer.Option("--days", min=1, help="Number of days on which orders are placed.")
    ] = int(_DEFAULTS["days"]),
    seed: Annotated[
        int, typer.Option("--seed", help="Random seed: the same seed writes the same bytes.")
    ] = 42,
    bad_rate: Annotated[
        float,
        typer.Option(
            "--bad-rate",
            min=0.0,
            max=0.5,
            help="Share of good lines that get an injected fault (malformed, duplicate, late...)."
            " The faults are listed in truth/injected_faults.csv; 0 injects none.",
        ),
    ] = 0.0,
    start: Annotated[
        str | None,
        typer.Option(
            "--start",
            help=f"First day, YYYY-MM-DD (default {_DEFAULTS['start']}, so that the default"
            " world includes a Black-Friday-like week).",
        ),
    ] = None,
    gzip: Annotated[
        bool, typer.Option("--gzip", help="Write events/YYYY-MM-DD.jsonl.gz instead of .jsonl.")
    ] = False,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="A TOML file of knobs merged over pipelines/simulator/default_world.toml.",
        ),
    ] = None,
    report: Annotated[
        bool,
        typer.Option(
            "--report",
            help="After generating, print the calibration figures (IRA, on-time, cancellations,"
            " splits, returns, WISMO, oracle AUC) against the target ranges.",
        ),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary (and report) as JSON.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress lines.")] = False,
    routing: Annotated[
        str | None,
        typer.Option(
            "--routing",
            help="Where the OMS sources from: 'oms' (its own rules) or 'feed' (its rules plus a"
            " routing-feed snapshot, --feed-snapshot). Default: the config's [routing] policy.",
        ),
    ] = None,
    feed_snapshot: Annotated[
        Path | None,
        typer.Option(
            "--feed-snapshot",
            help="The files-sink snapshot folder the feed policy reads, e.g."
            " $OMSI_HOME/feed/latest.",
        ),
    ] = None,
    switch_day: Annotated[
        int | None,
        typer.Option("--switch-day", min=0, help="First day (0-based) the feed policy routes."),
    ] = None,
) -> None:
    """Simulate an omnichannel retailer and write contract v1 events, reference data and truth."""
    first_day = _parse_start(start)
    progress = None if (quiet or as_json) else typer.echo
    try:
        section = dict(load_config(config)["routing"])
        if feed_snapshot is not None:
            section.update(policy=routing or "feed", feed_snapshot=str(feed_snapshot))
        section.update(
            {k: v for k, v in (("policy", routing), ("switch_day", switch_day)) if v is not None}
        )
        summary = generate(
            out,
            orders=orders,
            days=days,
            seed=seed,
            bad_rate=bad_rate,
            start=first_day,
            gzip=gzip,
            config=config,
            progress=progress,
            routing=routing_from_config(section),
        )
    except (ConfigError, ValueError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    figures = world_report(out) if report else None
    if as_json:
        payload = {"generation": summary.to_dict()}
        if figures is not None:
            payload["report"] = figures.to_dict()
        typer.echo(json.dumps(payload, indent=2, default=str))
        return
    typer.echo(summary.render())
    if figures is not None:
        typer.echo(figures.render())
