"""The webhook sink, following the Standard Webhooks specification (standardwebhooks.com).

A snapshot goes out as a sequence of messages: each dataset in batches of rows whose JSON body
stays under `max_batch_bytes`, then one `omsi.feed.snapshot` message carrying the manifest. A
receiver applies a snapshot once its manifest arrived and it holds every batch the manifest
counts (the reference receiver, pipelines/feed/receiver.py, does exactly that).

Libraries, not hand-rolled loops: httpx sends, tenacity retries (exponential backoff with
jitter on timeouts, dropped connections, 429 and 5xx, honouring Retry-After; no retry on other
statuses), and the Standard Webhooks reference library (`standardwebhooks`) signs:
`webhook-signature: v1,<base64 HMAC-SHA256 over id.timestamp.body>`.

`webhook-id` is derived from the snapshot, dataset and batch number, so it is the same on
every retry, on a rerun after a crash and from the dead-letter folder: the idempotency key.
The timestamp is the attempt's, as the specification asks, so every attempt is signed anew.
A batch whose retries ran out goes to the dead-letter folder with the exact body and the
(redacted) reason; `omsi feed --retry-dead-letters` sends those again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import tenacity
from standardwebhooks import Webhook

from pipelines.feed.config import WebhookSinkConfig
from pipelines.feed.schemas import SCHEMA_VERSION
from pipelines.feed.sinks import ALREADY_DELIVERED, DEAD_LETTERED, DELIVERED, SinkResult
from pipelines.feed.snapshot import Snapshot, encode_json
from pipelines.feed.state import FeedState, now_utc

BATCH_TYPE = "omsi.feed.batch"
SNAPSHOT_TYPE = "omsi.feed.snapshot"
# Bytes a batch body holds beside its rows (type, timestamp, ids, counts), with room to spare.
_ENVELOPE_ALLOWANCE = 512


@dataclass(frozen=True)
class Message:
    webhook_id: str
    snapshot_id: str
    sequence: int
    body: bytes


def _webhook_id(snapshot_id: str, part: str) -> str:
    # The specification forbids dots in the id (they delimit the signed content).
    return f"msg_{snapshot_id}_{part}".replace(".", "_")


def _row_groups(lines: list[bytes], limit: int) -> list[list[bytes]]:
    groups: list[list[bytes]] = []
    current: list[bytes] = []
    size = _ENVELOPE_ALLOWANCE
    for line in lines:
        if current and size + len(line) + 1 > limit:
            groups.append(current)
            current, size = [], _ENVELOPE_ALLOWANCE
        current.append(line)
        size += len(line) + 1
    if current:
        groups.append(current)
    return groups


def messages(snapshot: Snapshot, max_batch_bytes: int) -> list[Message]:
    """Every message of a snapshot in send order: batches per dataset, then the manifest."""
    out: list[Message] = []
    batches: dict[str, int] = {}
    timestamp = encode_json(snapshot.as_of)
    for name, dataset in snapshot.datasets.items():
        groups = _row_groups(dataset.jsonl.splitlines(), max_batch_bytes)
        batches[name] = len(groups)
        for number, rows in enumerate(groups, start=1):
            head = encode_json(
                {
                    "snapshot_id": snapshot.snapshot_id,
                    "schema_version": SCHEMA_VERSION,
                    "dataset": name,
                    "batch": number,
                    "batches": len(groups),
                }
            )
            # The rows are the dataset's JSON Lines bytes as they are, so what arrives hashes
            # to what the manifest says.
            body = b"".join(
                [
                    b'{"type":"' + BATCH_TYPE.encode() + b'","timestamp":' + timestamp,
                    b',"data":' + head[:-1] + b',"rows":[' + b",".join(rows) + b"]}}",
                ]
            )
            webhook_id = _webhook_id(snapshot.snapshot_id, f"{name}_{number:05d}")
            out.append(Message(webhook_id, snapshot.snapshot_id, len(out) + 1, body))
    data = snapshot.manifest | {"batches": batches}
    body = encode_json({"type": SNAPSHOT_TYPE, "timestamp": snapshot.as_of, "data": data})
    webhook_id = _webhook_id(snapshot.snapshot_id, "manifest")
    out.append(Message(webhook_id, snapshot.snapshot_id, len(out) + 1, body))
    return out


class RetryableResponse(Exception):
    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


class RejectedResponse(Exception):
    """A status the specification says not to retry (3xx, 4xx other than 429)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status} (not retried)")
        self.status = status


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def _is_retryable(exc: BaseException) -> bool:
    # Timeouts, refused and dropped connections are httpx.TransportError.
    return isinstance(exc, RetryableResponse | httpx.TransportError)


def describe_failure(exc: BaseException) -> str:
    if isinstance(exc, RetryableResponse | RejectedResponse):
        return str(exc)
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    if isinstance(exc, httpx.TransportError):
        return f"connection failed ({type(exc).__name__})"
    return f"{type(exc).__name__}"


class Sender:
    """Sends one message at a time with the configured retries; one per publish."""

    def __init__(
        self,
        url: str,
        secret: str,
        config: WebhookSinkConfig,
        *,
        log: Callable[[str], None],
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.url = url
        self._signer = Webhook(secret)
        self.config = config
        self.log = log
        self._client = httpx.Client(timeout=config.timeout_seconds, follow_redirects=False)
        self._sleep = sleep or tenacity.nap.sleep
        # initial x 2^(attempt - 1), plus up to `initial` of random jitter, capped at max.
        self._backoff = tenacity.wait_exponential_jitter(
            multiplier=config.backoff_initial_seconds,
            jitter=config.backoff_initial_seconds,
            max=config.backoff_max_seconds,
        )

    def close(self) -> None:
        self._client.close()

    def headers(self, webhook_id: str, body: bytes, at: datetime | None = None) -> dict[str, str]:
        at = at or datetime.now(UTC)
        signature = self._signer.sign(webhook_id, at, body.decode())
        return {
            "content-type": "application/json",
            "webhook-id": webhook_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signature,
        }

    def _post(self, message: Message) -> None:
        response = self._client.post(
            self.url, content=message.body, headers=self.headers(message.webhook_id, message.body)
        )
        if 200 <= response.status_code < 300:
            return
        if response.status_code == 429 or response.status_code >= 500:
            raise RetryableResponse(
                response.status_code, _retry_after(response.headers.get("retry-after"))
            )
        raise RejectedResponse(response.status_code)

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetryableResponse) and exc.retry_after is not None:
            return min(exc.retry_after, self.config.retry_after_max_seconds)
        return self._backoff(state)

    def _before_sleep(self, message: Message) -> Callable[[tenacity.RetryCallState], None]:
        def log(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            wait = state.next_action.sleep if state.next_action else 0
            self.log(
                f"webhook {message.webhook_id}: attempt {state.attempt_number} "
                f"{describe_failure(exc)}; retrying in {wait:.1f} s"
            )

        return log

    def send(self, message: Message) -> int:
        """Deliver one message; returns the attempts it took. Raises when retries ran out."""
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.config.max_attempts),
            wait=self._wait,
            retry=tenacity.retry_if_exception(_is_retryable),
            before_sleep=self._before_sleep(message),
            sleep=self._sleep,
            reraise=True,
        )
        retrying(self._post, message)
        return retrying.statistics.get("attempt_number", 1)


def _dead_letter(
    state: FeedState, message: Message, reason: str, attempts: int, previous: dict[str, Any] | None
) -> None:
    letter = {
        "webhook_id": message.webhook_id,
        "snapshot_id": message.snapshot_id,
        "sequence": message.sequence,
        "attempts": attempts + (previous or {}).get("attempts", 0),
        "first_failed_at": (previous or {}).get("first_failed_at", now_utc()),
        "last_failed_at": now_utc(),
        "last_error": reason,
        # The exact bytes that were signed and sent; the signature is made anew on each send.
        "body": message.body.decode(),
    }
    state.write_dead_letter(letter)


def deliver(
    pending: list[tuple[Message, dict[str, Any] | None]],
    sender: Sender,
    state: FeedState,
    redact: Callable[[str], str],
) -> tuple[int, int, list[str]]:
    """Send messages in order; returns (delivered, dead-lettered, reasons).

    When one message exhausts its retries on a failure that is the endpoint's (down, timing
    out, 5xx), the rest go straight to dead letters: trying each would only wait out the same
    outage, batch after batch. A message the receiver refused (4xx) stops nothing else.
    """
    delivered = dead = 0
    reasons: list[str] = []
    endpoint_down: str | None = None
    for message, previous in pending:
        if endpoint_down is None:
            try:
                attempts = sender.send(message)
            except Exception as exc:
                reason = redact(describe_failure(exc))
                attempts = sender.config.max_attempts if _is_retryable(exc) else 1
                if _is_retryable(exc):
                    endpoint_down = reason
                    reason = f"retries ran out: {reason}"
                _dead_letter(state, message, reason, attempts, previous)
                reasons.append(f"{message.webhook_id}: {reason}")
                dead += 1
                continue
            state.ack(message.snapshot_id, message.webhook_id)
            state.dead_letter_path(
                message.snapshot_id, message.sequence, message.webhook_id
            ).unlink(missing_ok=True)
            delivered += 1
            sender.log(f"webhook {message.webhook_id}: delivered ({attempts} attempt(s))")
        else:
            _dead_letter(
                state, message, f"not sent: the endpoint was down ({endpoint_down})", 0, previous
            )
            dead += 1
    return delivered, dead, reasons


def publish_webhook(
    snapshot: Snapshot,
    url: str,
    secret: str,
    config: WebhookSinkConfig,
    state: FeedState,
    *,
    redact: Callable[[str], str],
    log: Callable[[str], None],
    sleep: Callable[[float], None] | None = None,
) -> SinkResult:
    all_messages = messages(snapshot, config.max_batch_bytes)
    acked = state.acked(snapshot.snapshot_id)
    pending = [(m, None) for m in all_messages if m.webhook_id not in acked]
    if not pending:
        detail = f"all {len(all_messages)} message(s) acknowledged before"
        return SinkResult("webhook", snapshot.snapshot_id, ALREADY_DELIVERED, detail)
    sender = Sender(url, secret, config, log=log, sleep=sleep)
    try:
        delivered, dead, reasons = deliver(pending, sender, state, redact)
    finally:
        sender.close()
    if dead:
        return SinkResult(
            "webhook",
            snapshot.snapshot_id,
            DEAD_LETTERED,
            f"{dead} of {len(all_messages)} message(s) in dead letters ({reasons[0] if reasons else ''}); "
            "run `omsi feed --retry-dead-letters` when the receiver is back",
        )
    return SinkResult(
        "webhook",
        snapshot.snapshot_id,
        DELIVERED,
        f"{delivered} message(s) sent, {len(all_messages) - len(pending)} already acknowledged",
    )


def retry_dead_letters(
    url: str,
    secret: str,
    config: WebhookSinkConfig,
    state: FeedState,
    *,
    redact: Callable[[str], str],
    log: Callable[[str], None],
    sleep: Callable[[float], None] | None = None,
) -> tuple[int, int, list[str]]:
    """Send every dead letter again, oldest snapshot first and in send order.

    Returns (delivered, still dead, snapshot ids now completely delivered).
    """
    files = state.dead_letter_files()
    letters = [state.read_dead_letter(p) for p in files]
    pending = [
        (Message(d["webhook_id"], d["snapshot_id"], d["sequence"], d["body"].encode()), d)
        for d in letters
    ]
    sender = Sender(url, secret, config, log=log, sleep=sleep)
    try:
        delivered, dead, _ = deliver(pending, sender, state, redact)
    finally:
        sender.close()
    complete = []
    remaining = {state.read_dead_letter(p)["snapshot_id"] for p in state.dead_letter_files()}
    for snapshot_id in sorted({d["snapshot_id"] for d in letters}):
        if snapshot_id not in remaining and _webhook_id(snapshot_id, "manifest") in state.acked(
            snapshot_id
        ):
            complete.append(snapshot_id)
    return delivered, dead, complete
