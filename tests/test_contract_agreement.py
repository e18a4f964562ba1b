"""Ingest's SQL rules and the published JSON Schema give every line the same verdict.

The corpus (tests/contract_corpus.py) is ingested once; each line is then judged again with the
jsonschema validator. A line lands exactly when the schema accepts it, and a quarantined line's
reason must be one the schema's own errors imply (the SQL reports the first failing rule, the
validator reports all of them).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pipelines.contract import EVENT_TYPES, data_schema, event_validator
from pipelines.ingest import ingest_folder
from pipelines.warehouse import connect
from tests.contract_corpus import Case, build_corpus, fields, write_corpus

CORPUS_FILE = "corpus.jsonl"

# Every reason an event line can get from the schema rules; the families with a field name are
# matched on the prefix.
SCHEMA_REASONS = (
    "invalid_json",
    "unknown_event_type",
    "missing_field:",
    "wrong_type:",
    "invalid_value:",
    "negative_quantity",
    "bad_timestamp",
    "unsupported_schema_version",
)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def strict_json(line: str) -> Any:
    """Parse as RFC 8259 JSON: Python's NaN/Infinity extensions and lone surrogates refused.

    A lone surrogate escape cannot stand for any Unicode text (I-JSON, RFC 7493, forbids it).
    """
    doc = json.loads(line, parse_constant=_reject_constant)
    _refuse_surrogates(doc)
    return doc


def _refuse_surrogates(value: Any) -> None:
    if isinstance(value, str):
        value.encode("utf-8")  # raises UnicodeEncodeError (a ValueError) on a lone surrogate
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_surrogates(key)
            _refuse_surrogates(item)
    elif isinstance(value, list):
        for item in value:
            _refuse_surrogates(item)


def field_name(path: list[str | int]) -> str:
    """Our name for a field at a JSON path: envelope fields by name, data fields inside `data`."""
    names = [str(p) for p in path if not isinstance(p, int)]
    if names[:1] == ["data"] and len(names) > 1:
        names = names[1:]
    return ".".join(names)


def _join(parent: str, child: str) -> str:
    return f"{parent}.{child}" if parent and parent != "data" else child


def reasons_for(error: jsonschema.ValidationError) -> set[str]:
    """The quarantine reasons one JSON Schema error stands for."""
    path = list(error.absolute_path)
    name = field_name(path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    keyword = error.validator
    if keyword == "type" and not path:
        return {"invalid_json"}  # the line is JSON but not an object
    if keyword == "required":
        parent = name if path else ""
        missing = [p for p in error.validator_value if p not in error.instance]
        return {f"missing_field:{_join(parent, p)}" for p in missing}
    if keyword == "type":
        return {f"wrong_type:{name}"}
    if keyword == "enum" and path == ["event_type"]:
        return {"unknown_event_type"}
    if keyword == "const" and path == ["schema_version"]:
        return {"unsupported_schema_version"}
    if keyword in ("format", "pattern") and schema.get("format") == "date-time":
        return {"bad_timestamp"}
    if (
        keyword in ("minimum", "exclusiveMinimum")
        and schema.get("x-omsi-quantity")
        and error.instance < 0
    ):
        return {"negative_quantity"}
    if keyword in (
        "enum",
        "const",
        "minimum",
        "exclusiveMinimum",
        "maximum",
        "pattern",
        "minItems",
        "minLength",
        "maxLength",
    ):
        return {f"invalid_value:{name}"}
    raise AssertionError(f"no quarantine reason for the schema error {keyword}: {error.message}")


def schema_verdict(line: str) -> set[str]:
    """Empty when the schema accepts the line, else every reason its errors imply."""
    try:
        doc = strict_json(line)
    except ValueError:
        return {"invalid_json"}
    reasons: set[str] = set()
    for error in event_validator().iter_errors(doc):
        reasons |= reasons_for(error)
    return reasons


@dataclass(frozen=True)
class Judged:
    case: Case
    expected: frozenset[str]  # empty: the schema accepts it
    outcome: str  # landed | quarantined | missing
    reason: str | None
    stored: tuple[datetime | None, str] | None  # occurred_at and data, when landed


@pytest.fixture(scope="module")
def judged(tmp_path_factory: pytest.TempPathFactory) -> list[Judged]:
    root = tmp_path_factory.mktemp("agreement")
    landing = root / "landing"
    landing.mkdir()
    cases = build_corpus()
    write_corpus(cases, landing / CORPUS_FILE)
    with connect(root / "warehouse.duckdb") as con:
        result = ingest_folder(con, landing)
        assert result.totals.lines_read == len(cases)
        # Python's datetime stops at year 9999; a later UTC instant is fetched as NULL.
        landed = {
            n: (occurred_at, data)
            for n, occurred_at, data in con.execute(
                "select line_no, case when year(occurred_at) < 10000 then occurred_at end, data"
                " from raw.events"
            ).fetchall()
        }
        quarantined = dict(con.execute("select line_no, reason from raw.quarantine").fetchall())
    out = []
    for n, case in enumerate(cases, start=1):
        outcome = "landed" if n in landed else "quarantined" if n in quarantined else "missing"
        expected = frozenset(schema_verdict(case.line))
        out.append(Judged(case, expected, outcome, quarantined.get(n), landed.get(n)))
    return out


def _report(rows: list[Judged]) -> str:
    return "\n".join(
        f"- {r.case.label}: schema {sorted(r.expected) or 'valid'}, ingest {r.outcome} "
        f"{r.reason or ''}\n    {r.case.line[:300]}"
        for r in rows[:40]
    ) + (f"\n... and {len(rows) - 40} more" if len(rows) > 40 else "")


def test_corpus_has_valid_events_of_every_type_with_and_without_optional_fields(
    judged: list[Judged],
) -> None:
    valid = [strict_json(j.case.line) for j in judged if not j.expected]
    for event_type in EVENT_TYPES:
        of_type = [e["data"] for e in valid if e["event_type"] == event_type]
        assert of_type, f"no valid {event_type} event in the corpus"
        for path, _schema, required in fields(data_schema(event_type), ()):
            if required or 0 in path:
                continue
            values = [_lookup(d, path) for d in of_type]
            assert any(v not in (None, _ABSENT) for v in values), f"{event_type} {path}: never set"
            assert _ABSENT in values, f"{event_type} {path}: never absent"


_ABSENT = object()


def _lookup(doc: Any, path: tuple) -> Any:
    for key in path:
        if not isinstance(doc, dict) or key not in doc:
            return _ABSENT
        doc = doc[key]
    return doc


def test_every_line_ends_in_exactly_one_place(judged: list[Judged]) -> None:
    missing = [j for j in judged if j.outcome == "missing"]
    assert not missing, "lines neither landed nor quarantined:\n" + _report(missing)


def test_a_line_lands_exactly_when_the_schema_accepts_it(judged: list[Judged]) -> None:
    disagree = [j for j in judged if (j.outcome == "landed") != (not j.expected)]
    assert not disagree, f"{len(disagree)} of {len(judged)} lines judged differently:\n" + _report(
        disagree
    )


def test_quarantine_reason_is_one_the_schema_errors_imply(judged: list[Judged]) -> None:
    wrong = [
        j
        for j in judged
        if j.outcome == "quarantined" and j.expected and j.reason not in j.expected
    ]
    assert not wrong, f"{len(wrong)} lines quarantined for another reason:\n" + _report(wrong)


def test_corpus_exercises_every_schema_reason(judged: list[Judged]) -> None:
    given = Counter(j.reason for j in judged if j.reason)
    implied = Counter(r for j in judged for r in j.expected)
    for reasons in (given, implied):
        for family in SCHEMA_REASONS:
            assert any(
                r == family or (family.endswith(":") and r.startswith(family)) for r in reasons
            ), f"no line of the corpus was quarantined as {family}"
        # nested fields and array items are named with dots
        for name in ("missing_field:ship_to.region", "missing_field:lines.quantity"):
            assert reasons[name], f"no line was quarantined as {name}"


def test_relaxed_fields_land_when_missing_empty_or_null(judged: list[Judged]) -> None:
    """Real exports lack postal codes; an empty optional field means unknown (contract v1)."""
    by_label = {j.case.label: j for j in judged}
    relaxed = [
        "order.placed: optional data.ship_to.postal_code removed",
        "order.placed: data.ship_to.postal_code: empty string",
        "order.placed: optional fields null",
        "order.placed: required fields only",
        "order.placed: data.pickup_node_id: empty string",
        "order.payment_authorized: data.payment_method: empty string",
        "refund.issued: data.return_id: empty string",
        "shipment.shipped: data.tracking_number: empty string",
        "service.contact: data.order_id: empty string",
    ]
    for label in relaxed:
        assert label in by_label, f"the corpus has no case {label!r}"
        assert by_label[label].outcome == "landed", (label, by_label[label].reason)
        assert not by_label[label].expected, (label, by_label[label].expected)
    minimal = strict_json(by_label["order.placed: required fields only"].case.line)
    assert "postal_code" not in minimal["data"]["ship_to"]
    nulls = strict_json(by_label["order.placed: optional fields null"].case.line)
    assert nulls["data"]["ship_to"]["postal_code"] is None
    # what stays required is still refused when empty
    assert by_label["order.placed: data.ship_to.region: empty string"].reason == (
        "invalid_value:ship_to.region"
    )


def test_landed_events_keep_their_data_and_utc_time(judged: list[Judged]) -> None:
    """What landed is what was sent: data unchanged (unknown fields kept), occurred_at in UTC."""
    checked = 0
    for j in judged:
        if j.expected or j.stored is None:
            continue
        doc = strict_json(j.case.line)
        occurred_at, data = j.stored
        assert json.loads(data) == doc["data"], j.case.label
        sent = datetime.fromisoformat(doc["occurred_at"].upper())
        if sent.year < 9999:  # converting 9999-12-31T23:59:59-01:00 to UTC leaves datetime's range
            assert occurred_at == sent.astimezone(UTC).replace(tzinfo=None), j.case.label
        else:
            assert occurred_at is None, j.case.label  # year 10000 in UTC, see the fixture
        checked += 1
    assert checked > 200


def test_invalid_utf8_line_is_quarantined_as_invalid_encoding(tmp_path: Path) -> None:
    event = build_corpus()[0].line.encode("utf-8")
    broken = event.replace(b"S\xc3\xa3o Paulo", b"S\xe3o Paulo")  # Latin-1 byte inside
    assert broken != event
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "latin1.jsonl").write_bytes(broken + b"\n")
    with connect(tmp_path / "warehouse.duckdb") as con:
        result = ingest_folder(con, landing)
        rows = con.execute("select line_no, reason, raw from raw.quarantine").fetchall()
    assert result.totals.quarantined == 1
    assert [(n, reason) for n, reason, _ in rows] == [(1, "invalid_encoding")]
    assert "S\ufffdo Paulo" in rows[0][2]  # kept readable, the bad byte replaced


def test_same_event_id_with_other_content_is_a_conflicting_duplicate(tmp_path: Path) -> None:
    first = strict_json(build_corpus()[0].line)
    changed = {**first, "data": {**first["data"], "shipping_charged": 9.99}}
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "a.jsonl").write_text(json.dumps(first) + "\n" + json.dumps(changed) + "\n")
    with connect(tmp_path / "warehouse.duckdb") as con:
        ingest_folder(con, landing)
        events = con.execute("select line_no, data from raw.events").fetchall()
        quarantine = con.execute("select line_no, reason, event_id from raw.quarantine").fetchall()
    assert [(n, json.loads(d)["shipping_charged"]) for n, d in events] == [(1, 7.5)]
    assert quarantine == [(2, "conflicting_duplicate", first["event_id"])]


def test_reference_key_twice_with_other_content_is_duplicate_key(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "skus.csv").write_text(
        "sku,category,unit_price\nsku-a,toys,9.5\nsku-b,toys,3\nsku-a,toys,10.5\n"
    )
    with connect(tmp_path / "warehouse.duckdb") as con:
        result = ingest_folder(con, landing)
        skus = con.execute("select sku from raw.skus").fetchall()
        quarantine = con.execute("select line_no, reason from raw.quarantine order by 1").fetchall()
    assert skus == [("sku-b",)]
    assert quarantine == [(2, "duplicate_key"), (4, "duplicate_key")]
    assert (result.totals.lines_read, result.totals.quarantined) == (3, 2)
