"""`omsi train`, `omsi score` and `omsi models`: the risk models from the command line.

They run the same code as the Dagster assets of the `ml` group (pipelines/defs/ml/), directly,
so that a retrain or a rescore does not need a whole refresh run.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from models.promotion import PRIMARY_METRIC
from pipelines.settings import OmsiHome

# scikit-learn, pandas and skops are imported inside the commands: `omsi --help` stays fast.

models_app = typer.Typer(
    help="The model registry: versions, the promoted one, metrics against baselines.",
    invoke_without_command=True,
)


class ModelName(StrEnum):
    delivery = "delivery"
    inventory = "inventory"


def _say(message: str) -> None:
    typer.echo(message, err=True)


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=1)


def _connect(home: OmsiHome, *, read_only: bool = False):
    from pipelines.warehouse import connect

    if not home.warehouse.exists():
        _fail(f"no warehouse at {home.warehouse}: land data and build it first (`omsi run`)")
    return connect(home.warehouse, read_only=read_only)


def _republish(home: OmsiHome) -> None:
    from pipelines.serving import publish_snapshot

    publish_snapshot(home.warehouse, home.serving)
    _say(f"serving snapshot republished: {home.serving}")


def train_command(
    model: Annotated[
        ModelName | None, typer.Option(help="Train one model (default: both).")
    ] = None,
) -> None:
    """Train, evaluate against baselines on the newest window, and promote when better."""
    from models.registry import ArtifactRefused, Registry
    from pipelines.ml.scoring_run import score_all
    from pipelines.ml.training_run import FeaturesMissing, train_models

    home = OmsiHome.from_env().ensure()
    registry = Registry(home.models)
    names = (model.value,) if model else tuple(m.value for m in ModelName)
    try:
        with _connect(home) as con:
            train_models(con, registry, names, progress=_say)
            if all(registry.promoted(m.value) for m in ModelName):
                _say("scoring with the promoted models")
                score_all(con, registry, progress=_say)
    except (FeaturesMissing, ValueError, ArtifactRefused) as exc:
        _fail(str(exc))
    _republish(home)


def score_command() -> None:
    """Score every open order and current stock record with the promoted models."""
    from models.registry import ArtifactRefused, Registry
    from pipelines.ml.scoring_run import NoPromotedModel, score_all
    from pipelines.ml.training_run import FeaturesMissing

    home = OmsiHome.from_env()
    try:
        with _connect(home) as con:
            score_all(con, Registry(home.models), progress=_say)
    except (NoPromotedModel, FeaturesMissing, ArtifactRefused) as exc:
        _fail(str(exc))
    _republish(home)


def registry_listing(registry) -> list[dict]:
    listing = []
    for name in (m.value for m in ModelName):
        promoted = registry.promoted(name)
        for version in registry.versions(name):
            card = version.card
            listing.append(
                {
                    "model": name,
                    "version": version.version,
                    "is_promoted": promoted is not None and promoted.version == version.version,
                    "trained_at": card["trained_at"],
                    "test_window": card["windows"]["test"],
                    "metrics": card["metrics"],
                    "gate_failures": card["gate_failures"],
                    "artifact_sha256": card["artifact_sha256"],
                }
            )
    return listing


@models_app.callback()
def models_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON array.")] = False,
) -> None:
    """List every registered version, the promoted one first, with metrics next to baselines."""
    if ctx.invoked_subcommand is not None:
        return
    from models.registry import Registry

    listing = registry_listing(Registry(OmsiHome.from_env().models))
    if as_json:
        typer.echo(json.dumps(listing, indent=2))
        return
    if not listing:
        typer.echo("no models registered yet: `omsi run` (or `omsi train`) trains them")
        return
    for entry in sorted(listing, key=lambda e: (e["model"], not e["is_promoted"], e["version"])):
        primary = PRIMARY_METRIC[entry["model"]]
        scores = ", ".join(
            f"{scorer} {metrics[primary]:.3f}" for scorer, metrics in entry["metrics"].items()
        )
        mark = "*" if entry["is_promoted"] else " "
        typer.echo(
            f"{mark} {entry['version']}  test {primary}: {scores}; "
            f"ECE {entry['metrics']['model']['ece']:.3f}"
            + (
                f"; below gates: {'; '.join(entry['gate_failures'])}"
                if entry["gate_failures"]
                else ""
            )
        )
    typer.echo("* promoted (the version scoring uses)")


@models_app.command("evaluate")
def evaluate_command(
    truth: Annotated[
        Path, typer.Option(help="The truth/ folder of a simulated world (`omsi generate`).")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Model, baselines and the simulator's oracle side by side on the backtest rows."""
    from models.registry import ArtifactRefused, Registry
    from pipelines.ml.truth_evaluation import delivery_report, inventory_report, render

    if not (truth / "order_drivers.parquet").exists():
        _fail(
            f"{truth} holds no order_drivers.parquet: pass the truth/ folder of a simulated world"
        )
    home = OmsiHome.from_env()
    registry = Registry(home.models)
    titles = {"delivery": "delivery risk", "inventory": "inventory record inaccuracy"}
    builders = {"delivery": delivery_report, "inventory": inventory_report}
    # One model below its gates (none promoted) must not hide the other's figures.
    reports, missing = {}, {}
    try:
        with _connect(home, read_only=True) as con:
            for name, build in builders.items():
                try:
                    reports[name] = build(con, registry, truth)
                except RuntimeError as exc:
                    missing[name] = str(exc)
    except ArtifactRefused as exc:
        _fail(str(exc))
    if not reports:
        _fail("; ".join(missing.values()))
    if as_json:
        typer.echo(json.dumps(reports | {"not_evaluated": missing}, indent=2))
        return
    for name, report in reports.items():
        typer.echo(render(report, titles[name]))
        typer.echo("")
    for name, reason in missing.items():
        typer.echo(f"{titles[name]}: not evaluated ({reason})")
