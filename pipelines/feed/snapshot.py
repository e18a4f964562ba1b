"""A feed snapshot: the three datasets, their JSON Lines bytes, and the manifest that names them.

The snapshot id is derived from the content (as_of plus a SHA-256 over the datasets), so
building twice from the same scores gives the same id: a rerun after a crash re-publishes the
same snapshot, and every sink can tell it already holds it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa

from pipelines.feed.datasets import Inputs
from pipelines.feed.schemas import DATASETS, SCHEMA_VERSION, schema_errors, table_errors

# Timestamps as RFC 3339 in UTC with a Z; numbers as the shortest text that reads back to the
# same double, so a receiver parsing the JSON gets exactly the warehouse's values.
_JSON_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC


def encode_json(value: Any) -> bytes:
    return orjson.dumps(value, option=_JSON_OPTIONS)


def jsonable(value: Any) -> Any:
    """A Python value as the JSON data model holds it (timestamps become text)."""
    return orjson.loads(encode_json(value))


def json_lines(table: pa.Table) -> bytes:
    """One JSON object per row, keys in schema order, a newline after each."""
    return b"".join(encode_json(row) + b"\n" for row in table.to_pylist())


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class InvalidSnapshotError(ValueError):
    """A dataset row breaks the published schema; nothing was published."""


@dataclass(frozen=True)
class Dataset:
    name: str
    table: pa.Table
    jsonl: bytes
    sha256: str

    @property
    def rows(self) -> int:
        return self.table.num_rows

    def records(self) -> list[dict[str, Any]]:
        """The rows as JSON records (what the webhook sends and the schema describes)."""
        return [orjson.loads(line) for line in self.jsonl.splitlines()]


@dataclass(frozen=True)
class Snapshot:
    snapshot_id: str
    as_of: datetime
    datasets: dict[str, Dataset]
    manifest: dict[str, Any]

    def manifest_bytes(self) -> bytes:
        return orjson.dumps(self.manifest, option=_JSON_OPTIONS | orjson.OPT_INDENT_2) + b"\n"


# Rows checked record by record against the JSON Schema itself (the rest by column rules).
SAMPLE_ROWS = 200


def _validate(dataset: Dataset) -> None:
    advice = (
        "Nothing was published; the score tables need fixing (re-run `omsi run`), or the "
        "schema a new version"
    )
    errors = table_errors(dataset.name, dataset.table)
    if errors:
        raise InvalidSnapshotError(
            f"{dataset.name} breaks feed schema v{SCHEMA_VERSION}: {'; '.join(errors)}. {advice}"
        )
    lines = dataset.jsonl.splitlines()
    step = max(len(lines) // SAMPLE_ROWS, 1)
    for number in range(0, len(lines), step):
        record = orjson.loads(lines[number])
        errors = schema_errors(dataset.name, record)
        if errors:
            raise InvalidSnapshotError(
                f"{dataset.name} row {number + 1} breaks feed schema v{SCHEMA_VERSION}: "
                f"{'; '.join(errors)} (record: {record}). {advice}"
            )


def build_snapshot(inputs: Inputs, *, generated_at: datetime | None = None) -> Snapshot:
    """Encode, validate and hash the datasets, and write their manifest."""
    as_of = _utc(inputs.as_of)
    datasets = {}
    for name in DATASETS:
        table = inputs.tables[name]
        jsonl = json_lines(table)
        dataset = Dataset(name, table, jsonl, hashlib.sha256(jsonl).hexdigest())
        _validate(dataset)
        datasets[name] = dataset
    content = hashlib.sha256(
        f"v{SCHEMA_VERSION}|".encode() + "|".join(d.sha256 for d in datasets.values()).encode()
    ).hexdigest()
    snapshot_id = f"{as_of:%Y%m%dT%H%M%SZ}-{content[:12]}"
    manifest = {
        "snapshot_id": snapshot_id,
        "schema_version": SCHEMA_VERSION,
        "as_of": as_of,
        "generated_at": _utc(generated_at or datetime.now(UTC)),
        "model_versions": inputs.model_versions,
        "cost_model": {
            "late_order": inputs.late_order_cost,
            "reallocation": inputs.reallocation_cost,
            "currency": inputs.currency,
        },
        "datasets": {
            name: {"rows": d.rows, "sha256": d.sha256, "schema": f"{name}.schema.json"}
            for name, d in datasets.items()
        },
    }
    errors = schema_errors("manifest", jsonable(manifest))
    if errors:
        raise InvalidSnapshotError(f"the manifest breaks its schema: {'; '.join(errors)}")
    return Snapshot(snapshot_id, as_of, datasets, manifest)
