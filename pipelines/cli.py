"""The `omsi` command line. Every command works on `$OMSI_HOME` (default ./data)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from pipelines.experiment.cli import experiment_command
from pipelines.feed.cli import feed_command
from pipelines.garbage_collection import no_collection_at_exit
from pipelines.ml.commands import models_app, score_command, train_command
from pipelines.replay.cli import replay_command
from pipelines.settings import ENGINE_ENV, LAKE_ENV, OmsiHome
from pipelines.simulator.cli import generate_command

app = typer.Typer(
    help="OMS intelligence layer: land OMS events, build the warehouse, serve dashboards.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("generate")(generate_command)
app.command("feed")(feed_command)
app.command("experiment")(experiment_command)
import_app = typer.Typer(
    help="Convert another system's export into contract events.", no_args_is_help=True
)
app.add_typer(import_app, name="import")
app.command("train")(train_command)
app.command("score")(score_command)
app.add_typer(models_app, name="models")
app.command("replay")(replay_command)

REPO_ROOT = Path(__file__).resolve().parents[1]


def _say(message: str) -> None:
    typer.echo(message, err=True)


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=1)


@app.command()
def ingest(
    folder: Annotated[
        Path,
        typer.Argument(
            help="Folder with event files (.jsonl, .jsonl.gz, .parquet) "
            "anywhere below it and nodes/skus/carriers.csv."
        ),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of a table.")
    ] = False,
    force: Annotated[
        bool, typer.Option(help="Re-read files already ingested (adds nothing new).")
    ] = False,
) -> None:
    """Land a folder of events into the warehouse and print the reconciliation.

    Every line read ends in exactly one place: landed, duplicate, resumed (landed by an earlier
    run cut short mid-file) or quarantined (with a reason). Files already ingested with the same
    content are skipped.
    """
    from pipelines.ingest import ingest_folder
    from pipelines.warehouse import connect

    home = OmsiHome.from_env()
    try:
        with connect(home.warehouse) as con:
            result = ingest_folder(
                con, folder.resolve(), force=force, progress=None if as_json else _say
            )
    except FileNotFoundError as exc:
        _fail(str(exc))
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    typer.echo(_reconciliation_table(result.to_dict()))
    _echo_findings(result.schema_drift, result.quarantine_alerts)


def _echo_findings(drift: list, alerts: list) -> None:
    """Schema drift, then the large quarantine shares, loudly: the last thing a person reads."""
    from pipelines.ingest.quarantine_alerts import alerts_section
    from pipelines.ingest.schema_drift import drift_section

    if drift:
        typer.echo(drift_section(drift))
    if alerts:
        typer.secho(alerts_section(alerts), fg=typer.colors.YELLOW, bold=True)


def _reconciliation_table(summary: dict) -> str:
    header = (
        f"{'file':<48} {'read':>10} {'landed':>10} {'dups':>8} {'resumed':>10} {'quarantined':>12}"
    )
    rows = [header, "-" * len(header)]
    for f in summary["files"]:
        name = f["file"] + (" (skipped: already ingested)" if f["skipped"] else "")
        rows.append(
            f"{name:<48} {f['lines_read']:>10,} {f['landed']:>10,} {f['duplicates']:>8,} "
            f"{f['resumed']:>10,} {f['quarantined']:>12,}"
        )
    rows.append("-" * len(header))
    rows.append(
        f"{'total':<48} {summary['lines_read']:>10,} {summary['landed']:>10,} "
        f"{summary['duplicates']:>8,} {summary['resumed']:>10,} {summary['quarantined']:>12,}"
    )
    verdict = "reconciles" if summary["reconciles"] else "DOES NOT RECONCILE"
    rate = f", {summary['lines_per_second']:,} lines/s" if summary["lines_per_second"] else ""
    rows.append(
        f"batch {summary['batch_id']}: {verdict} "
        "(read = landed + duplicates + resumed + quarantined)"
        f" in {summary['seconds']} s{rate}"
    )
    return "\n".join(rows)


@import_app.command("olist")
def import_olist(
    src: Annotated[
        Path, typer.Argument(help="Folder with the Olist CSV export (orders.csv, ...).")
    ],
    out: Annotated[
        Path, typer.Option(help="Output folder: events/ and reference/ are written here.")
    ],
) -> None:
    """Convert the Olist marketplace export into contract events and reference CSVs."""
    from pipelines.adapters.olist import convert_olist

    try:
        report = convert_olist(src, out)
    except (ValueError, FileNotFoundError) as exc:
        _fail(str(exc))
    typer.echo(report.render())
    typer.echo(
        f"next: copy {out} into $OMSI_HOME/landing (or `omsi ingest {out}`), then `omsi run`"
    )


@import_app.command("shopify")
def import_shopify(
    src: Annotated[
        Path,
        typer.Argument(
            help="Folder with the Admin API JSON: orders.json, locations.json "
            "(fulfillment_events.json, fulfillments.json, refunds.json optional)."
        ),
    ],
    out: Annotated[
        Path, typer.Option(help="Output folder: events/ and reference/ are written here.")
    ],
    promise_days: Annotated[
        int,
        typer.Option(
            min=0,
            help="Shopify exports no promise: promised_by = created_at + this many days.",
        ),
    ] = 5,
    promise_attribute: Annotated[
        str | None,
        typer.Option(
            help="Order note attribute holding the promised date (a delivery-date app's), "
            "used where present; --promise-days elsewhere."
        ),
    ] = None,
    node_type: Annotated[
        str, typer.Option(help="Node type of every location: dc, store, dropship or 3pl.")
    ] = "dc",
) -> None:
    """Convert a Shopify order export (Admin API JSON) into contract events and reference CSVs."""
    from pipelines.adapters.shopify import convert_shopify

    try:
        report = convert_shopify(
            src,
            out,
            promise_days=promise_days,
            promise_attribute=promise_attribute,
            node_type=node_type,
        )
    except (ValueError, FileNotFoundError) as exc:
        _fail(str(exc))
    typer.echo(report.render())
    typer.echo(
        f"next: copy {out} into $OMSI_HOME/landing (or `omsi ingest {out}`), then `omsi run`"
    )


@app.command()
def run(
    full_refresh: Annotated[
        bool, typer.Option(help="Rebuild incremental models from scratch.")
    ] = False,
    full_checks: Annotated[
        bool,
        typer.Option(
            help="Run every dbt test over every row, even with nothing new (the nightly check);"
            " an incremental run tests only the rows it wrote."
        ),
    ] = False,
    engine: Annotated[
        str | None,
        typer.Option(
            help=f"The engine dbt builds on: duckdb or spark (docs/scale-out.md). Default:"
            f" ${ENGINE_ENV}, else duckdb. Changing it rebuilds every model once."
        ),
    ] = None,
) -> None:
    """Materialize every asset in-process: ingest landing/, dbt build, publish serving.

    The same graph the Dagster UI (`make dev`) shows; runs are recorded in $OMSI_HOME/dagster.
    """
    from pipelines.ingest.discover import landing_fingerprint
    from pipelines.ingest.findings import batches_after, findings_since
    from pipelines.quiet_runs import nothing_new
    from pipelines.run_steps import describe, recorded_steps
    from pipelines.runner import run_refresh
    from pipelines.warehouse import connect

    if engine is not None:
        os.environ[ENGINE_ENV] = engine  # read by the Dagster resources and dbt's environment
    home = OmsiHome.from_env().ensure()
    _require_engine(home)
    if not (full_refresh or full_checks):
        reason = nothing_new(home, landing_fingerprint(home.landing))
        if reason:
            typer.echo(reason)
            return
    last_batch = batches_after(home.warehouse)
    result = run_refresh(home, full_refresh=full_refresh, full_checks=full_checks, progress=_say)
    _echo_findings(*findings_since(home.warehouse, last_batch))
    with connect(home.warehouse, read_only=True) as con:
        typer.echo(describe(result.run_id, recorded_steps(con, result.run_id)))
    if not result.success:
        _fail("the run failed; the messages above name the step and the reason")
    typer.echo(f"done: dashboards read {home.serving}; open them with `omsi dashboard`")


def _require_engine(home: OmsiHome) -> None:
    """Stop before the run when the engine is unknown or this machine cannot run it."""
    from pipelines.dbt.spark_engine import missing_for_spark

    try:
        engine = home.engine
    except ValueError as exc:
        _fail(str(exc))
    if engine == "spark" and (missing := missing_for_spark()):
        _fail(f"dbt on Spark needs what this machine lacks: {missing}")


@app.command()
def lake(
    to: Annotated[
        Path | None,
        typer.Option(help=f"The lake folder. Default: ${LAKE_ENV}, else $OMSI_HOME/lake."),
    ] = None,
) -> None:
    """Publish every finished ingest batch the lake lacks as Parquet, then check the lake.

    Each raw table gets a folder per batch (`events/batch_id=7/`); a batch counts once its
    `ingest_batches` folder, written last, is there. With $OMSI_LAKE set, `omsi run` publishes
    each new batch itself; this command catches up a lake started later. See docs/lake.md.
    """
    from pipelines.lake import committed_batches, publish_batches, reconcile
    from pipelines.warehouse import connect

    home = OmsiHome.from_env()
    folder = (to.resolve() if to else None) or home.lake or home.root / "lake"
    if not home.warehouse.exists():
        _fail(f"no warehouse at {home.warehouse}: run `omsi ingest` or `omsi run` first")
    with connect(home.warehouse) as con:
        published = publish_batches(con, folder, progress=_say)
        differences = reconcile(con, folder)
    committed = committed_batches(folder)
    typer.echo(
        f"lake {folder}: {len(committed)} batches"
        + (f" (newest {committed[-1]})" if committed else "")
        + f", {len(published)} published now"
    )
    if differences:
        for difference in differences:
            typer.echo(f"  differs: {difference.describe()}")
        _fail(
            "the lake disagrees with the warehouse: delete ingest_batches/batch_id=N in the lake"
            " for each batch named and run `omsi lake` again, which writes those batches anew"
        )
    typer.echo("every committed batch holds the warehouse's rows, table by table")


quarantine_app = typer.Typer(
    help="What was quarantined and why; sample lines; export them to fix and re-send.",
    invoke_without_command=True,
)
app.add_typer(quarantine_app, name="quarantine")


def _read_warehouse():
    import duckdb

    from pipelines.warehouse import connect

    home = OmsiHome.from_env()
    if not home.warehouse.exists():
        _fail(f"no warehouse at {home.warehouse} yet: run `omsi ingest DIR` or `omsi run` first")
    try:
        return connect(home.warehouse, read_only=True)
    except duckdb.IOException as exc:  # a run is writing it
        _fail(f"cannot read {home.warehouse} ({exc}); try again when the run finishes")


@quarantine_app.callback()
def quarantine_reasons(ctx: typer.Context) -> None:
    """List quarantine reasons with their open and resolved line counts (the default)."""
    if ctx.invoked_subcommand is not None:
        return
    from pipelines.quarantine import open_count, reasons

    with _read_warehouse() as con:
        found = reasons(con)
        still_open, total = open_count(con)
    if not found:
        typer.echo("nothing quarantined")
        return
    header = f"{'reason':<40} {'open':>9} {'resolved':>9} {'files':>6}  of"
    typer.echo(header + "\n" + "-" * len(header))
    for r in found:
        typer.echo(f"{r.reason:<40} {r.open:>9,} {r.resolved:>9,} {r.files:>6}  {r.event_types}")
    typer.echo(f"{still_open:,} open of {total:,} quarantined lines")
    typer.echo("next: `omsi quarantine show REASON` for sample lines, `omsi quarantine export`")


@quarantine_app.command("show")
def quarantine_show(
    reason: Annotated[
        str | None, typer.Argument(help="A reason as listed; all when left out.")
    ] = None,
    limit: Annotated[int, typer.Option(help="How many lines to show.")] = 5,
    include_resolved: Annotated[
        bool, typer.Option("--all", help="Also lines whose correction has landed since.")
    ] = False,
) -> None:
    """Show sample quarantined lines: file, line, why, and the line as received."""
    from pipelines.quarantine import quarantined_lines

    with _read_warehouse() as con:
        lines = quarantined_lines(con, reason, include_resolved=include_resolved, limit=limit)
    if not lines:
        typer.echo(f"no {'' if include_resolved else 'open '}line quarantined as {reason}")
        return
    for line in lines:
        state = " (resolved)" if line.is_resolved else ""
        typer.echo(f"{line.file} line {line.line_no}: {line.reason}{state}: {line.detail or ''}")
        typer.echo(f"  {line.raw[:400]}")


@quarantine_app.command("export")
def quarantine_export(
    out: Annotated[
        Path, typer.Option(help="File to write: .jsonl (the lines as received) or .csv.")
    ],
    reason: Annotated[
        str | None, typer.Argument(help="A reason as listed; all when left out.")
    ] = None,
    include_resolved: Annotated[
        bool, typer.Option("--all", help="Also lines whose correction has landed since.")
    ] = False,
) -> None:
    """Export quarantined lines to fix; drop the corrected file into the landing folder."""
    from pipelines.quarantine import export_lines, quarantined_lines

    with _read_warehouse() as con:
        lines = quarantined_lines(con, reason, include_resolved=include_resolved)
    export_lines(lines, out)
    typer.echo(f"wrote {len(lines):,} line(s) to {out}")
    if out.suffix != ".csv":
        typer.echo(
            "next: correct them, put the file below $OMSI_HOME/landing (or `omsi ingest DIR`); "
            "their event_ids never landed, so the corrected lines land"
        )


@app.command()
def status() -> None:
    """What $OMSI_HOME holds: landing files, ingest batches, quarantine, serving snapshot age."""
    from pipelines.status import describe

    typer.echo(describe(OmsiHome.from_env()))


@app.command()
def dashboard(
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8501,
    address: Annotated[
        str,
        typer.Option(
            help="Address to listen on. The default is this machine only; anything else "
            "exposes pages that have no login (put them behind a single sign-on proxy)."
        ),
    ] = "127.0.0.1",
    headless: Annotated[
        bool, typer.Option(help="Do not open a browser (never opened without a terminal).")
    ] = False,
) -> None:
    """Serve the Streamlit dashboards over the serving snapshot (loopback only by default)."""
    from pipelines.dashboard_server import serve

    home = OmsiHome.from_env()
    open_browser = not headless and sys.stdin.isatty() and sys.stdout.isatty()
    raise typer.Exit(serve(home.root, port, address, open_browser=open_browser, say=_say))


@app.command()
def demo(
    open_dashboard: Annotated[
        bool, typer.Option("--dashboard/--no-dashboard", help="Open the dashboards at the end.")
    ] = True,
    orders: Annotated[int, typer.Option(help="Orders in the demo world.")] = 20_000,
    days: Annotated[int, typer.Option(help="Days the demo world spans.")] = 120,
    seed: Annotated[
        int, typer.Option(help="Random seed: the same seed gives the same world.")
    ] = 42,
    bad_rate: Annotated[float, typer.Option(help="Share of extra broken lines to inject.")] = 0.002,
) -> None:
    """Generate a simulated world into $OMSI_HOME/landing, build everything, open the dashboards.

    Runs once per home: a second `omsi demo` reuses the world already landed.
    """
    from pipelines.simulator import generate

    home = OmsiHome.from_env().ensure()
    target = home.landing / "demo-world"
    if not target.exists():
        _say(f"generating a demo world into {target}")
        generate(target, orders=orders, days=days, seed=seed, bad_rate=bad_rate, progress=_say)
    run(full_refresh=False)
    if open_dashboard:
        dashboard(port=8501, headless=False)


def main() -> None:
    """The `omsi` executable: the commands above, in a process that ends when they do."""
    try:
        app()
    finally:
        no_collection_at_exit()


if __name__ == "__main__":
    main()
