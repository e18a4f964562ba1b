"""The routing feed's lines in `omsi status`: per sink, the last snapshot delivered and when,
and the dead letters waiting."""

from __future__ import annotations

from pipelines.feed.config import ConfigError, load_config
from pipelines.feed.sinks.files import latest_snapshot
from pipelines.feed.state import FeedState
from pipelines.settings import OmsiHome


def feed_status_lines(home: OmsiHome) -> list[str]:
    try:
        config = load_config(home.root)
    except ConfigError as exc:
        return [f"feed      configuration error: {exc}"]
    state = FeedState(home.feed)
    sinks = state.sinks()
    lines = [f"feed      sinks {', '.join(config.sinks)} ($OMSI_HOME/feed.toml)"]
    for name in dict.fromkeys([*config.sinks, *sinks]):
        record = sinks.get(name, {})
        if record.get("last_snapshot_id"):
            text = f"last snapshot {record['last_snapshot_id']} delivered {record['delivered_at']}"
        else:
            text = "nothing delivered yet: run `omsi feed`"
        if record.get("last_error"):
            text += f"; last attempt {record['last_attempt_at']} failed: {record['last_error']}"
        lines.append(f"          {name}: {config.redact(text)}")
    latest = latest_snapshot(home.feed)
    if latest:
        lines.append(f"          files: latest -> {home.feed / latest}")
    letters = state.dead_letter_files()
    if letters:
        snapshots = sorted({p.name.split(".")[0] for p in letters})
        lines.append(
            f"          webhook dead letters: {len(letters)} waiting from {len(snapshots)} "
            f"snapshot(s), oldest {snapshots[0]}; send them with `omsi feed --retry-dead-letters`"
        )
    else:
        lines.append("          webhook dead letters: none waiting")
    return lines
