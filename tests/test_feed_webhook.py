"""The webhook sink against real HTTP servers on loopback, started by the tests.

The receiver is the reference one (pipelines/feed/receiver.py); a test makes it misbehave by
intercepting requests before it sees them: 503 with Retry-After, 429, a hang past the sender's
timeout, a dropped connection, a refused 4xx, or no server at all. The scores come from a
synthetic warehouse (tests/feed_fixtures.py says why).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipelines.feed.config import WebhookSinkConfig
from pipelines.feed.publish import load_snapshot
from pipelines.feed.receiver import Receiver, make_server
from pipelines.feed.sinks import DEAD_LETTERED, DELIVERED
from pipelines.feed.sinks.webhook import Sender, messages, publish_webhook, retry_dead_letters
from pipelines.feed.state import FeedState
from pipelines.settings import OmsiHome
from tests.feed_fixtures import TEST_SECRET, build_synthetic_warehouse, free_port

# Small batches, so a snapshot is many messages; short timeouts and waits, so faults are fast.
CONFIG = WebhookSinkConfig(
    max_batch_bytes=16_384,
    timeout_seconds=0.5,
    max_attempts=5,
    backoff_initial_seconds=0.01,
    backoff_max_seconds=0.05,
)


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory):
    from pipelines.feed.config import load_config

    home = OmsiHome(tmp_path_factory.mktemp("webhook") / "home")
    build_synthetic_warehouse(home)
    return load_snapshot(home, load_config(home.root))


@contextmanager
def serving(receiver: Receiver, intercept=None, port: int = 0) -> Iterator[str]:
    server = make_server(receiver, port=port, intercept=intercept)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/feed"
    finally:
        server.shutdown()
        server.server_close()


def _answer(handler, status: int, headers: dict[str, str] | None = None) -> None:
    handler.send_response(status)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("content-length", "0")
    handler.end_headers()


def _assert_applied_exactly(receiver: Receiver, snapshot) -> None:
    assert list(receiver.applied) == [snapshot.snapshot_id]
    for name, dataset in snapshot.datasets.items():
        # What arrived is the snapshot's rows, in order, value for value.
        assert receiver.applied[snapshot.snapshot_id][name] == dataset.records()


def test_a_receiver_failing_first_attempts_gets_every_batch_exactly_once(tmp_path, snapshot):
    receiver = Receiver(TEST_SECRET)
    attempts: Counter[str] = Counter()
    lock = threading.Lock()

    def flaky(handler, headers, body) -> bool:
        webhook_id = headers["webhook-id"]
        with lock:
            attempts[webhook_id] += 1
            attempt = attempts[webhook_id]
        number = int(webhook_id.rsplit("_", 1)[-1]) if webhook_id[-1].isdigit() else 0
        fault = ("503", "hang", "drop")[number % 3] if attempt == 1 else None
        if attempt == 2 and number % 4 == 0:
            fault = "503"  # some batches fail twice
        if fault == "503":
            _answer(handler, 503, {"retry-after": "0"})
            return True
        if fault == "hang":
            # Processed, then no answer before the sender's timeout: the retry is a duplicate
            # the receiver must recognise by its webhook-id.
            receiver.handle(headers, body)
            time.sleep(CONFIG.timeout_seconds * 2)
            handler.close_connection = True
            return True
        if fault == "drop":
            handler.close_connection = True
            handler.connection.close()
            return True
        return False

    state = FeedState(tmp_path / "feed")
    with serving(receiver, flaky) as url:
        result = publish_webhook(
            snapshot, url, TEST_SECRET, CONFIG, state, redact=lambda s: s, log=lambda _: None
        )
    sent = messages(snapshot, CONFIG.max_batch_bytes)
    assert len(sent) > 10
    assert result.outcome == DELIVERED, result.detail
    assert state.dead_letter_files() == []
    assert set(attempts) == {m.webhook_id for m in sent}
    assert all(n >= 2 for n in attempts.values()), "every message met a fault first"
    assert receiver.seen == {m.webhook_id for m in sent}
    assert receiver.duplicates >= 1 and receiver.rejected == []
    _assert_applied_exactly(receiver, snapshot)
    for message in sent:
        assert len(message.body) <= CONFIG.max_batch_bytes


def test_retry_after_is_honoured_and_other_4xx_are_not_retried(tmp_path, snapshot):
    receiver = Receiver(TEST_SECRET)
    attempts: Counter[str] = Counter()
    sent = messages(snapshot, CONFIG.max_batch_bytes)
    throttled, refused = sent[0].webhook_id, sent[1].webhook_id

    def picky(handler, headers, body) -> bool:
        webhook_id = headers["webhook-id"]
        attempts[webhook_id] += 1
        if webhook_id == throttled and attempts[webhook_id] == 1:
            _answer(handler, 429, {"retry-after": "1"})
            return True
        if webhook_id == refused:
            _answer(handler, 422)
            return True
        return False

    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    state = FeedState(tmp_path / "feed")
    with serving(receiver, picky) as url:
        result = publish_webhook(
            snapshot,
            url,
            TEST_SECRET,
            CONFIG,
            state,
            redact=lambda s: s,
            log=lambda _: None,
            sleep=sleep,
        )
    assert waits == [1.0], "the only wait is the one Retry-After asked for"
    assert attempts[throttled] == 2 and attempts[refused] == 1
    assert result.outcome == DEAD_LETTERED
    letters = [state.read_dead_letter(p) for p in state.dead_letter_files()]
    assert [letter["webhook_id"] for letter in letters] == [refused]
    assert "HTTP 422" in letters[0]["last_error"]
    # Everything else arrived; the snapshot waits for the refused batch before it applies.
    assert receiver.seen == {m.webhook_id for m in sent} - {refused}
    assert receiver.applied == {}


def test_a_receiver_down_for_good_leaves_every_batch_in_dead_letters_until_it_is_back(
    tmp_path, snapshot
):
    port = free_port()
    url = f"http://127.0.0.1:{port}/feed"
    state = FeedState(tmp_path / "feed")
    logs: list[str] = []
    result = publish_webhook(
        snapshot, url, TEST_SECRET, CONFIG, state, redact=lambda s: s, log=logs.append
    )
    sent = messages(snapshot, CONFIG.max_batch_bytes)
    assert result.outcome == DEAD_LETTERED and "--retry-dead-letters" in result.detail
    letters = [state.read_dead_letter(p) for p in state.dead_letter_files()]
    assert [letter["webhook_id"] for letter in letters] == [m.webhook_id for m in sent]
    assert [letter["body"].encode() for letter in letters] == [m.body for m in sent]
    assert letters[0]["attempts"] == CONFIG.max_attempts
    assert "connection failed" in letters[0]["last_error"]

    # Still down: retrying keeps every letter.
    delivered, dead, complete = retry_dead_letters(
        url, TEST_SECRET, CONFIG, state, redact=lambda s: s, log=logs.append
    )
    assert (delivered, dead, complete) == (0, len(sent), [])
    assert len(state.dead_letter_files()) == len(sent)

    receiver = Receiver(TEST_SECRET)
    with serving(receiver, port=port):
        delivered, dead, complete = retry_dead_letters(
            url, TEST_SECRET, CONFIG, state, redact=lambda s: s, log=logs.append
        )
    assert (delivered, dead, complete) == (len(sent), 0, [snapshot.snapshot_id])
    assert state.dead_letter_files() == []
    assert receiver.duplicates == 0
    _assert_applied_exactly(receiver, snapshot)


def test_the_receiver_rejects_a_changed_byte_a_replay_and_a_wrong_secret(snapshot):
    import httpx

    receiver = Receiver(TEST_SECRET)
    sender = Sender("unused", TEST_SECRET, CONFIG, log=lambda _: None)
    message = messages(snapshot, CONFIG.max_batch_bytes)[0]
    with serving(receiver) as url, httpx.Client() as client:

        def post(body: bytes, headers: dict[str, str]) -> int:
            return client.post(url, content=body, headers=headers).status_code

        headers = sender.headers(message.webhook_id, message.body)
        tampered = bytearray(message.body)
        index = message.body.index(b'"p_late"' if b'"p_late"' in message.body else b'"node_id"')
        tampered[index + 3] ^= 0x01  # one byte, inside a key
        assert post(bytes(tampered), headers) == 401

        old = datetime.now(UTC) - timedelta(minutes=10)
        assert post(message.body, sender.headers(message.webhook_id, message.body, at=old)) == 401
        future = datetime.now(UTC) + timedelta(minutes=10)
        assert (
            post(message.body, sender.headers(message.webhook_id, message.body, at=future)) == 401
        )

        impostor = Sender("unused", "whsec_" + "QUJD" * 8, CONFIG, log=lambda _: None)
        assert post(message.body, impostor.headers(message.webhook_id, message.body)) == 401
        assert receiver.seen == set() and len(receiver.rejected) == 4

        assert post(message.body, headers) == 200
        # The same request again (a replay inside the window) is accepted once, applied once.
        assert post(message.body, headers) == 200
    assert receiver.seen == {message.webhook_id} and receiver.duplicates == 1
    assert json.loads(message.body)["data"]["snapshot_id"] == snapshot.snapshot_id


def test_webhook_ids_are_stable_and_follow_the_specification(snapshot):
    first = messages(snapshot, CONFIG.max_batch_bytes)
    again = messages(snapshot, CONFIG.max_batch_bytes)
    assert [m.webhook_id for m in first] == [m.webhook_id for m in again]
    assert all("." not in m.webhook_id for m in first)
    assert len({m.webhook_id for m in first}) == len(first)
    last = json.loads(first[-1].body)
    assert last["type"] == "omsi.feed.snapshot"
    assert last["data"]["datasets"]["order_risk"]["rows"] == snapshot.datasets["order_risk"].rows
    assert sum(last["data"]["batches"].values()) == len(first) - 1
    sender = Sender("unused", TEST_SECRET, CONFIG, log=lambda _: None)
    at = datetime(2026, 12, 1, 20, 0, 0, tzinfo=UTC)
    headers = sender.headers(first[0].webhook_id, first[0].body, at=at)
    assert headers["webhook-timestamp"] == str(int(at.timestamp()))
    assert headers["webhook-signature"].startswith("v1,")
    # The signature is HMAC-SHA256 over id.timestamp.body with the decoded secret, by hand:
    import base64
    import hashlib
    import hmac

    key = base64.b64decode(TEST_SECRET.removeprefix("whsec_"))
    signed = f"{first[0].webhook_id}.{headers['webhook-timestamp']}.".encode() + first[0].body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{expected}"


def test_dead_letter_files_are_named_in_send_order(tmp_path: Path, snapshot):
    state = FeedState(tmp_path / "feed")
    publish_webhook(
        snapshot,
        f"http://127.0.0.1:{free_port()}/",
        TEST_SECRET,
        WebhookSinkConfig(max_batch_bytes=16_384, timeout_seconds=0.2, max_attempts=1),
        state,
        redact=lambda s: s,
        log=lambda _: None,
    )
    sequences = [state.read_dead_letter(p)["sequence"] for p in state.dead_letter_files()]
    assert sequences == sorted(sequences) == list(range(1, len(sequences) + 1))


def test_the_reference_receiver_never_moves_latest_backwards(tmp_path: Path, snapshot) -> None:
    import os

    receiver = Receiver(TEST_SECRET, out_dir=tmp_path / "out")
    datasets = {name: d.records() for name, d in snapshot.datasets.items()}
    newer = "29991231T000000Z-000000000000"
    receiver._write(newer, datasets, {"snapshot_id": newer})
    receiver._write(snapshot.snapshot_id, datasets, {"snapshot_id": snapshot.snapshot_id})
    assert os.readlink(tmp_path / "out" / "latest") == newer
    lines = (tmp_path / "out" / snapshot.snapshot_id / "order_risk.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == datasets["order_risk"]
