"""A reference receiver for the routing feed's webhooks: what an integrator's endpoint must do.

    OMSI_FEED_WEBHOOK_SECRET=whsec_... python -m pipelines.feed.receiver --port 8787 --out DIR

For every request it:
1. verifies the Standard Webhooks signature over `webhook-id.webhook-timestamp.body` with the
   shared secret, and that `webhook-timestamp` is within 5 minutes of its clock (the reference
   library's window), answering 401 otherwise: a body changed by one byte, a wrong secret or a
   replay of an old request is refused;
2. de-duplicates by `webhook-id`: a message seen before is answered 200 and not applied again
   (the sender retries until it hears a 2xx, so duplicates are normal);
3. keeps each snapshot's batches until the `omsi.feed.snapshot` message (the manifest) has come
   and every batch it counts is there, checks the row counts, then applies the snapshot whole
   (here: writes `DIR/<snapshot_id>/<dataset>.jsonl` and moves `DIR/latest`, never backwards:
   dead letters sent again can bring an older snapshot after a newer one).

It answers fast and does nothing slow before answering, as the specification recommends. It is
an example to copy into your own stack (standard library + `standardwebhooks`), and the server
the feed's tests deliver to.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError

BATCH_TYPE = "omsi.feed.batch"
SNAPSHOT_TYPE = "omsi.feed.snapshot"


@dataclass
class Receiver:
    secret: str
    out_dir: Path | None = None
    # webhook-ids already processed; a real receiver keeps them in its database (or Redis)
    # at least as long as the sender retries.
    seen: set[str] = field(default_factory=set)
    duplicates: int = 0
    rejected: list[str] = field(default_factory=list)
    # snapshot_id -> dataset -> batch number -> rows
    pending: dict[str, dict[str, dict[int, list[dict[str, Any]]]]] = field(default_factory=dict)
    manifests: dict[str, dict[str, Any]] = field(default_factory=dict)
    applied: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._verifier = Webhook(self.secret)
        self._lock = threading.Lock()

    def handle(self, headers: dict[str, str], body: bytes) -> tuple[int, str]:
        """Process one request; returns the HTTP status and a short reason."""
        try:
            message = self._verifier.verify(body, headers)
        except (WebhookVerificationError, ValueError) as exc:
            with self._lock:
                self.rejected.append(str(exc))
            return 401, f"rejected: {exc}"
        webhook_id = {k.lower(): v for k, v in headers.items()}["webhook-id"]
        with self._lock:
            if webhook_id in self.seen:
                self.duplicates += 1
                return 200, "duplicate, ignored"
            self._accept(message)
            self.seen.add(webhook_id)
        return 200, "ok"

    def _accept(self, message: dict[str, Any]) -> None:
        data = message["data"]
        snapshot_id = data["snapshot_id"]
        if message["type"] == BATCH_TYPE:
            batches = self.pending.setdefault(snapshot_id, {}).setdefault(data["dataset"], {})
            batches[data["batch"]] = data["rows"]
        elif message["type"] == SNAPSHOT_TYPE:
            self.manifests[snapshot_id] = data
        self._apply_if_complete(snapshot_id)

    def _apply_if_complete(self, snapshot_id: str) -> None:
        manifest = self.manifests.get(snapshot_id)
        if manifest is None or snapshot_id in self.applied:
            return
        received = self.pending.get(snapshot_id, {})
        for dataset, count in manifest["batches"].items():
            if len(received.get(dataset, {})) != count:
                return  # a batch is still on its way
        datasets = {
            name: [row for _, rows in sorted(received.get(name, {}).items()) for row in rows]
            for name in manifest["datasets"]
        }
        for name, rows in datasets.items():
            if len(rows) != manifest["datasets"][name]["rows"]:
                raise ValueError(f"{snapshot_id}: {name} has {len(rows)} rows, manifest says more")
        self.applied[snapshot_id] = datasets
        self.pending.pop(snapshot_id, None)
        if self.out_dir is not None:
            self._write(snapshot_id, datasets, manifest)

    def _write(self, snapshot_id: str, datasets: dict[str, list], manifest: dict) -> None:
        folder = self.out_dir / snapshot_id
        tmp = self.out_dir / f".tmp-{snapshot_id}"
        tmp.mkdir(parents=True, exist_ok=True)
        for name, rows in datasets.items():
            text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
            (tmp / f"{name}.jsonl").write_text(text)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))
        os.replace(tmp, folder)
        # Dead letters sent again can bring an older snapshot after a newer one: ids sort by
        # their as-of instant, and `latest` only ever moves forward.
        current = self.out_dir / "latest"
        if current.is_symlink() and os.readlink(current) >= snapshot_id:
            return
        link = self.out_dir / ".latest.tmp"
        link.unlink(missing_ok=True)
        os.symlink(snapshot_id, link)
        os.replace(link, self.out_dir / "latest")


# A hook the tests use to misbehave before the receiver sees a request (answer 503, hang, drop
# the connection); returns True when it has dealt with the request itself.
Intercept = Callable[[BaseHTTPRequestHandler, dict[str, str], bytes], bool]


def make_server(
    receiver: Receiver, host: str = "127.0.0.1", port: int = 0, intercept: Intercept | None = None
) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
            length = int(self.headers.get("content-length", 0))
            body = self.rfile.read(length)
            headers = {k: v for k, v in self.headers.items()}
            if intercept is not None and intercept(self, headers, body):
                return
            status, reason = receiver.handle(headers, body)
            payload = reason.encode()
            self.send_response(status)
            self.send_header("content-type", "text/plain")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet; a real receiver logs webhook-id and status

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description="Reference receiver for the omsi routing feed.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument("--out", type=Path, required=True, help="Folder for applied snapshots.")
    parser.add_argument(
        "--secret-env", default="OMSI_FEED_WEBHOOK_SECRET", help="Variable holding the secret."
    )
    args = parser.parse_args()
    secret = os.environ.get(args.secret_env)
    if not secret:
        parser.error(f"set {args.secret_env} to the feed's signing secret (whsec_...)")
    args.out.mkdir(parents=True, exist_ok=True)
    server = make_server(Receiver(secret, args.out), args.host, args.port)
    print(f"receiving on http://{args.host}:{server.server_port}/ into {args.out}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
