"""The feed's configuration: `$OMSI_HOME/feed.toml`, every key optional.

Secrets (the webhook signing secret, a database password inside a DSN) may come from the file
or, better, from the environment. They are held in `Secret`, whose text is `***`, and every
message that leaves the feed goes through `Config.redact`, so none of them can reach a log, a
manifest, `omsi status`, an error message or a dead-letter file.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.feed.datasets import NodeScoreSettings

SINKS = ("file", "postgres", "webhook")
CONFIG_FILE = "feed.toml"
POSTGRES_DSN_ENV = "OMSI_FEED_POSTGRES_DSN"
DEFAULT_SECRET_ENV = "OMSI_FEED_WEBHOOK_SECRET"


class ConfigError(ValueError):
    """feed.toml is wrong or incomplete; the message names the key and what to write."""


class Secret:
    """A value that prints as *** wherever it ends up (repr, str, f-strings, logging)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class FileSinkConfig:
    # Snapshots kept under $OMSI_HOME/feed/ (oldest removed first): two days of hourly ones.
    keep: int = 48


@dataclass(frozen=True)
class PostgresSinkConfig:
    dsn: Secret | None = None
    schema: str = "omsi_feed"
    connect_timeout_seconds: int = 10


@dataclass(frozen=True)
class WebhookSinkConfig:
    url: str | None = None
    secret: Secret | None = None
    secret_env: str = DEFAULT_SECRET_ENV
    # The spec recommends small payloads; 64 KiB holds a few hundred records.
    max_batch_bytes: int = 65_536
    # Within the spec's recommended 15-30 s for a receiver to answer.
    timeout_seconds: float = 15.0
    max_attempts: int = 6
    backoff_initial_seconds: float = 1.0
    backoff_max_seconds: float = 60.0
    # A Retry-After longer than this is capped, so one publish cannot wait for hours.
    retry_after_max_seconds: float = 300.0


@dataclass(frozen=True)
class Config:
    sinks: tuple[str, ...] = ("file",)
    schedule_cron: str = "0 * * * *"
    node_scores: NodeScoreSettings = field(default_factory=NodeScoreSettings)
    file: FileSinkConfig = field(default_factory=FileSinkConfig)
    postgres: PostgresSinkConfig = field(default_factory=PostgresSinkConfig)
    webhook: WebhookSinkConfig = field(default_factory=WebhookSinkConfig)
    source: Path | None = None

    def secrets(self) -> list[str]:
        """Every secret value in force, and the password inside the DSN on its own."""
        values = []
        if self.webhook.secret:
            raw = self.webhook.secret.reveal()
            values += [raw, raw.removeprefix("whsec_")]
        if self.webhook.url:
            # A URL can carry credentials of its own (user:password@host).
            from urllib.parse import urlsplit

            password = urlsplit(self.webhook.url).password
            if password:
                values.append(password)
        if self.postgres.dsn:
            dsn = self.postgres.dsn.reveal()
            values.append(dsn)
            password = _dsn_password(dsn)
            if password:
                values.append(password)
        return sorted({v for v in values if len(v) >= 4}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for value in self.secrets():
            text = text.replace(value, "***")
        return text


def _dsn_password(dsn: str) -> str | None:
    import psycopg.conninfo

    try:
        return psycopg.conninfo.conninfo_to_dict(dsn).get("password")
    except Exception:
        return None


def safe_dsn(dsn: str) -> str:
    """The DSN without its password, for messages."""
    import psycopg.conninfo

    try:
        parts = psycopg.conninfo.conninfo_to_dict(dsn)
    except Exception:
        return "(unparsable DSN)"
    parts.pop("password", None)
    return " ".join(f"{k}={v}" for k, v in parts.items() if v is not None)


def _section(raw: dict[str, Any], name: str, cls: type, source: Path) -> Any:
    values = dict(raw.get(name, {}))
    allowed = set(cls.__dataclass_fields__)
    unknown = set(values) - allowed
    if unknown:
        raise ConfigError(
            f"{source}: unknown key(s) {', '.join(sorted(unknown))} in [{name}]; "
            f"known: {', '.join(sorted(allowed))}"
        )
    return values


def load_config(home_root: Path, env: dict[str, str] | None = None) -> Config:
    """Read `$OMSI_HOME/feed.toml` (absent: files sink only) with the environment over it."""
    env = dict(os.environ if env is None else env)
    path = home_root / CONFIG_FILE
    raw: dict[str, Any] = {}
    if path.exists():
        try:
            raw = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    known = {"sinks", "schedule", "node_scores", "file", "postgres", "webhook"}
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(
            f"{path}: unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}"
        )
    sinks = tuple(raw.get("sinks", ["file"]))
    bad = [s for s in sinks if s not in SINKS]
    if bad or not sinks:
        raise ConfigError(f"{path}: sinks = {list(sinks)}; choose from {', '.join(SINKS)}")

    schedule = raw.get("schedule", {})
    if set(schedule) - {"cron"}:
        raise ConfigError(f'{path}: [schedule] knows only `cron` (e.g. cron = "0 * * * *")')
    node_scores = NodeScoreSettings(**_section(raw, "node_scores", NodeScoreSettings, path))
    file_sink = FileSinkConfig(**_section(raw, "file", FileSinkConfig, path))

    pg = _section(raw, "postgres", PostgresSinkConfig, path)
    dsn = env.get(POSTGRES_DSN_ENV) or pg.pop("dsn", None)
    pg.pop("dsn", None)
    postgres = PostgresSinkConfig(dsn=Secret(dsn) if dsn else None, **pg)

    wh = _section(raw, "webhook", WebhookSinkConfig, path)
    secret_env = wh.get("secret_env", DEFAULT_SECRET_ENV)
    secret = env.get(secret_env) or wh.pop("secret", None)
    wh.pop("secret", None)
    webhook = WebhookSinkConfig(secret=Secret(secret) if secret else None, **wh)
    limits = {
        "max_batch_bytes": webhook.max_batch_bytes >= 4096,
        "max_attempts": webhook.max_attempts >= 1,
        "timeout_seconds": webhook.timeout_seconds > 0,
    }
    for name, ok in limits.items():
        if not ok:
            raise ConfigError(
                f"{path}: [webhook] {name} = {getattr(webhook, name)} is out of range "
                "(max_batch_bytes >= 4096, max_attempts >= 1, timeout_seconds > 0)"
            )
    if file_sink.keep < 1:
        raise ConfigError(f"{path}: [file] keep must be at least 1")

    return Config(
        sinks=sinks,
        schedule_cron=schedule.get("cron", Config.schedule_cron),
        node_scores=node_scores,
        file=file_sink,
        postgres=postgres,
        webhook=webhook,
        source=path if path.exists() else None,
    )


def require_postgres(config: Config) -> str:
    if not config.postgres.dsn:
        raise ConfigError(
            f"the postgres sink needs an address: set {POSTGRES_DSN_ENV} or `dsn` under "
            f"[postgres] in $OMSI_HOME/{CONFIG_FILE}"
        )
    return config.postgres.dsn.reveal()


def require_webhook(config: Config) -> tuple[str, str]:
    if not config.webhook.url:
        raise ConfigError(
            f"the webhook sink needs `url` under [webhook] in $OMSI_HOME/{CONFIG_FILE}"
        )
    if not config.webhook.secret:
        raise ConfigError(
            f"the webhook sink needs its signing secret (whsec_ + base64, 24 to 64 bytes) in the "
            f"environment variable {config.webhook.secret_env}"
        )
    return config.webhook.url, config.webhook.secret.reveal()
