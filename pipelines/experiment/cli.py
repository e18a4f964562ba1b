"""`omsi experiment`: the closed-loop routing experiment (registered by pipelines.cli)."""

from __future__ import annotations

import json
import shutil
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from pipelines.settings import OmsiHome
from pipelines.simulator.config import load_config

_WORLD = load_config()["world"]


def experiment_command(
    orders: Annotated[int, typer.Option(min=1, help="Orders in the world.")] = int(
        _WORLD["orders"]
    ),
    days: Annotated[int, typer.Option(min=2, help="Days on which orders are placed.")] = int(
        _WORLD["days"]
    ),
    seed: Annotated[int, typer.Option(help="Random seed of the world.")] = 42,
    switch_day: Annotated[
        int | None,
        typer.Option(
            "--switch-day",
            help="Day (0-based) from which the treatment routes with the feed. Default: after"
            " two thirds of the days.",
        ),
    ] = None,
    refresh_days: Annotated[
        int,
        typer.Option(
            "--refresh-days", min=1, help="Simulated days between the treatment's pipeline runs."
        ),
    ] = 7,
    config: Annotated[
        Path | None, typer.Option(help="A world config TOML merged over the default world.")
    ] = None,
    resamples: Annotated[
        int, typer.Option(min=100, help="Bootstrap resamples behind each interval.")
    ] = 2000,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object on standard output.")
    ] = False,
) -> None:
    """Run one simulated world twice, with the OMS's routing and with routing that reads the
    feed, and compare the orders placed from the switch day on, each branch from its own marts.

    The branches live under $OMSI_HOME/experiments/<name>/; the result is printed, written to
    result.json there, and kept in the warehouse for the dashboards. See docs/closed-loop.md.
    """
    from pipelines.experiment.branches import ExperimentSpec, run_branches
    from pipelines.experiment.compare import branch_orders, compare, node_mix, render
    from pipelines.experiment.results import save

    # Progress goes to standard error, so that with --json standard output is the one object.
    def say(message: str) -> None:
        typer.echo(message, err=True)

    switch = switch_day if switch_day is not None else round(days * 2 / 3)
    try:
        spec = ExperimentSpec(orders, days, seed, switch, refresh_days, config)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    home = OmsiHome.from_env().ensure()
    name = f"seed{seed}-{orders}x{days}-switch{switch}-every{refresh_days}"
    root = home.root / "experiments" / name
    if root.exists():
        say(f"replacing the earlier run of this experiment in {root}")
        shutil.rmtree(root)
    root.mkdir(parents=True)
    began = time.perf_counter()
    try:
        control, treatment = run_branches(spec, root, say)
    except RuntimeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    start = date.fromisoformat(str(load_config(config)["world"]["start"]))
    since = start + timedelta(days=switch)
    say(f"comparing orders placed from {since} on ({resamples:,} paired bootstrap resamples)")
    control_orders = branch_orders(control.home.warehouse, since)
    results = compare(
        control_orders,
        branch_orders(treatment.home.warehouse, since),
        resamples=resamples,
        seed=seed,
    )
    mix = {
        "control": node_mix(control.home.warehouse, since),
        "treatment": node_mix(treatment.home.warehouse, since),
    }
    result = {
        "experiment": name,
        "run_at": datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds"),
        "world": {"orders": orders, "days": days, "seed": seed, "start": start.isoformat()},
        "switch_day": switch,
        "switch_date": since.isoformat(),
        "refresh_days": refresh_days,
        "orders_compared": len(control_orders),
        "metrics": {r.name: r.to_dict() for r in results},
        "node_mix": mix,
        "snapshots": treatment.snapshots,
        "seconds": {
            "total": round(time.perf_counter() - began, 1),
            "control_simulation": round(control.seconds, 1),
            "treatment_simulation": round(treatment.seconds, 1),
            "pipeline": round(control.pipeline_seconds + treatment.pipeline_seconds, 1),
            "pipeline_runs": control.pipeline_runs + treatment.pipeline_runs,
        },
        "branches": {"control": str(control.home.root), "treatment": str(treatment.home.root)},
    }
    path = save(home, root, result)
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")
        return
    typer.echo(render(results, mix))
    typer.echo(
        f"\n{result['orders_compared']:,} orders compared; {len(treatment.snapshots)} feed"
        f" snapshots routed the treatment; {result['seconds']['total']:.0f} s in all"
        f" ({result['seconds']['pipeline']:.0f} s of pipeline runs). Written to {path}"
    )
