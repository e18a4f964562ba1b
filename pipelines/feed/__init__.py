"""The routing feed: scheduled, signed, loss-free snapshots of the risk scores for an OMS's
routing engine, to files, PostgreSQL and webhooks (docs/routing-feed.md)."""
