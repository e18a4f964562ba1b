"""`omsi feed`: publish a routing feed snapshot now, or send the webhook's dead letters again."""

from __future__ import annotations

from typing import Annotated

import typer

from pipelines.settings import OmsiHome


def _say(message: str) -> None:
    typer.echo(message, err=True)


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=1)


def feed_command(
    sink: Annotated[
        list[str] | None,
        typer.Option(
            "--sink",
            help="Sink to publish to: file, postgres or webhook; repeat for several. "
            "Default: the `sinks` of $OMSI_HOME/feed.toml (file when there is none).",
        ),
    ] = None,
    retry_dead_letters: Annotated[
        bool,
        typer.Option(
            "--retry-dead-letters",
            help="Send the webhook batches waiting in $OMSI_HOME/feed/dead-letters again "
            "(oldest first) instead of publishing a new snapshot.",
        ),
    ] = False,
) -> None:
    """Publish the routing feed now: node scores, availability and order risk, with a manifest.

    Each sink gets the whole snapshot or nothing; publishing a snapshot a sink already holds
    changes nothing. See docs/routing-feed.md.
    """
    from pipelines.feed.config import SINKS, ConfigError, load_config
    from pipelines.feed.datasets import FeedInputError
    from pipelines.feed.publish import publish, retry_webhook_dead_letters
    from pipelines.feed.snapshot import InvalidSnapshotError
    from pipelines.feed.state import FeedBusyError

    home = OmsiHome.from_env().ensure()
    try:
        config = load_config(home.root)
    except ConfigError as exc:
        _fail(str(exc))
    for name in sink or []:
        if name not in SINKS:
            _fail(f"--sink {name}: choose from {', '.join(SINKS)}")
    try:
        if retry_dead_letters:
            result = retry_webhook_dead_letters(home, config, log=_say)
            typer.echo(f"webhook: {result.outcome.replace('_', ' ')} ({result.detail})")
            if not result.ok:
                raise typer.Exit(code=1)
            return
        report = publish(home, config, sinks=sink, log=_say)
    except (FeedInputError, InvalidSnapshotError, FeedBusyError, ConfigError) as exc:
        _fail(config.redact(str(exc)))
    typer.echo(f"snapshot {report.snapshot.snapshot_id}")
    for result in report.results:
        typer.echo(f"  {result.sink}: {result.outcome.replace('_', ' ')} ({result.detail})")
    if not report.ok:
        _fail("not every sink holds the snapshot; `omsi status` shows what is waiting")
