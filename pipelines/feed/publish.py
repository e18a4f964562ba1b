"""Publish one snapshot to the configured sinks: what `omsi feed` and the Dagster job run.

The snapshot is built once, from one read-only connection to the warehouse, and handed to each
sink in turn; a sink that fails does not stop the others, and its failure is recorded
(redacted) for `omsi status`. One process publishes at a time (`FeedState.lock`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import duckdb

from pipelines import warehouse
from pipelines.feed.config import Config, ConfigError, require_postgres, require_webhook
from pipelines.feed.datasets import FeedInputError, read_inputs
from pipelines.feed.sinks import DEAD_LETTERED, DELIVERED, FAILED, SinkResult
from pipelines.feed.sinks.files import publish_files
from pipelines.feed.sinks.postgres import publish_postgres
from pipelines.feed.sinks.webhook import publish_webhook, retry_dead_letters
from pipelines.feed.snapshot import Snapshot, build_snapshot
from pipelines.feed.state import FeedState, now_utc
from pipelines.settings import OmsiHome


@dataclass
class PublishReport:
    snapshot: Snapshot | None
    results: list[SinkResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)


def load_snapshot(home: OmsiHome, config: Config) -> Snapshot:
    if not home.warehouse.exists():
        raise FeedInputError(
            f"no warehouse at {home.warehouse}: build one with `omsi run` (after putting events "
            "in landing/, or `omsi demo`)"
        )
    try:
        con = warehouse.connect(home.warehouse, read_only=True)
    except duckdb.IOException:
        raise FeedInputError(
            "the warehouse is busy: a run is writing it. The feed publishes when it finishes "
            "(or run `omsi feed` again then)"
        ) from None
    with con:
        inputs = read_inputs(con, config.node_scores)
    return build_snapshot(inputs)


def _publish_one(
    sink: str,
    snapshot: Snapshot,
    home: OmsiHome,
    config: Config,
    state: FeedState,
    log: Callable[[str], None],
    sleep: Callable[[float], None] | None,
) -> SinkResult:
    if sink == "file":
        return publish_files(snapshot, home.feed, keep=config.file.keep)
    if sink == "postgres":
        return publish_postgres(
            snapshot,
            require_postgres(config),
            schema=config.postgres.schema,
            connect_timeout=config.postgres.connect_timeout_seconds,
        )
    url, secret = require_webhook(config)
    return publish_webhook(
        snapshot, url, secret, config.webhook, state, redact=config.redact, log=log, sleep=sleep
    )


def publish(
    home: OmsiHome,
    config: Config,
    *,
    sinks: Sequence[str] | None = None,
    log: Callable[[str], None] = print,
    sleep: Callable[[float], None] | None = None,
) -> PublishReport:
    """Build a snapshot now and publish it to `sinks` (default: the configured ones)."""
    chosen = list(sinks or config.sinks)
    state = FeedState(home.feed)
    with state.lock():
        snapshot = load_snapshot(home, config)
        log(
            f"snapshot {snapshot.snapshot_id}: "
            + ", ".join(f"{n} {d.rows:,} rows" for n, d in snapshot.datasets.items())
        )
        report = PublishReport(snapshot)
        for sink in chosen:
            try:
                result = _publish_one(sink, snapshot, home, config, state, log, sleep)
            except ConfigError as exc:
                result = SinkResult(sink, snapshot.snapshot_id, FAILED, config.redact(str(exc)))
            except Exception as exc:
                # Driver messages can quote what they were given; only the redacted text leaves.
                detail = config.redact(f"{type(exc).__name__}: {exc}".strip())
                result = SinkResult(sink, snapshot.snapshot_id, FAILED, detail)
            _record(state, result)
            log(f"{sink}: {result.outcome.replace('_', ' ')} ({result.detail})")
            report.results.append(result)
    return report


def _record(state: FeedState, result: SinkResult) -> None:
    fields = {"last_attempt_at": now_utc(), "last_outcome": result.outcome}
    if result.ok:
        if result.outcome == DELIVERED or state.delivered(result.sink) != result.snapshot_id:
            fields |= {"last_snapshot_id": result.snapshot_id, "delivered_at": now_utc()}
        fields["last_error"] = None
    else:
        fields["last_error"] = result.detail
    state.record(result.sink, **fields)


def retry_webhook_dead_letters(
    home: OmsiHome,
    config: Config,
    *,
    log: Callable[[str], None] = print,
    sleep: Callable[[float], None] | None = None,
) -> SinkResult:
    """`omsi feed --retry-dead-letters`: send the webhook's dead letters again, in order."""
    state = FeedState(home.feed)
    with state.lock():
        waiting = len(state.dead_letter_files())
        if not waiting:
            return SinkResult("webhook", "", DELIVERED, "no dead letters waiting")
        url, secret = require_webhook(config)
        try:
            delivered, dead, complete = retry_dead_letters(
                url, secret, config.webhook, state, redact=config.redact, log=log, sleep=sleep
            )
        except Exception as exc:
            detail = config.redact(f"{type(exc).__name__}: {exc}")
            result = SinkResult("webhook", "", FAILED, detail)
            _record(state, result)
            return result
        newest = complete[-1] if complete else ""
        if dead:
            result = SinkResult(
                "webhook",
                newest,
                DEAD_LETTERED,
                f"{delivered} of {waiting} dead letter(s) delivered, {dead} still waiting; "
                "run `omsi feed --retry-dead-letters` again when the receiver is back",
            )
            state.record(
                "webhook",
                last_attempt_at=now_utc(),
                last_outcome=DEAD_LETTERED,
                last_error=result.detail,
            )
        else:
            result = SinkResult(
                "webhook", newest, DELIVERED, f"{delivered} dead letter(s) delivered"
            )
            state.record(
                "webhook", last_attempt_at=now_utc(), last_outcome=DELIVERED, last_error=None
            )
        if newest and (state.delivered("webhook") or "") < newest:
            state.record("webhook", last_snapshot_id=newest, delivered_at=now_utc())
        return result
