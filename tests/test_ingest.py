"""Ingest: every line read ends in exactly one place, re-runs add nothing, formats land alike."""

from __future__ import annotations

import copy
import gzip
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from pipelines.adapters.olist import convert_olist
from pipelines.cli import app
from pipelines.ingest import IngestResult, ingest_folder
from pipelines.warehouse import connect
from tests.contract_corpus import FULL_DATA

OLIST_FIXTURE = Path(__file__).parent / "fixtures" / "olist"
RAW_TABLES = ("raw.events", "raw.quarantine", "raw.nodes", "raw.skus", "raw.carriers")


def event(event_id: str, event_type: str = "pickup.ready", **changes: Any) -> dict[str, Any]:
    """A valid event; keyword arguments replace envelope fields, `data` replaces the data."""
    base = {
        "event_id": event_id,
        "event_type": event_type,
        "occurred_at": "2024-03-01T10:00:00Z",
        "source": "oms",
        "schema_version": 1,
        "data": copy.deepcopy(FULL_DATA[event_type]),
    }
    return base | changes


def line(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def jsonl(*docs: dict[str, Any]) -> bytes:
    return b"".join(line(d) + b"\n" for d in docs)


def physical_lines(data: bytes) -> int:
    """What `wc -l` says, plus a last line without its newline."""
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {t: con.execute(f"select count(*) from {t}").fetchall()[0][0] for t in RAW_TABLES}


def by_file(result: IngestResult) -> dict[str, Any]:
    return {f.file: f for f in result.files}


def assert_reconciles(result: IngestResult) -> None:
    for f in result.files:
        assert f.lines_read == f.landed + f.duplicates + f.quarantined, f
    summary = result.to_dict()
    for key in ("lines_read", "landed", "duplicates", "quarantined"):
        assert summary[key] == sum(getattr(f, key) for f in result.files), key
    assert summary["reconciles"] is True


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with connect(tmp_path / "warehouse.duckdb") as con:
        yield con


def write(folder: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return folder


# --- the Olist excerpt with one broken line per reason ------------------------------------------

BROKEN_FILE = "zz_broken.jsonl"


@dataclass
class OlistRun:
    landing: Path
    first_olist_line: bytes
    expected: dict[int, str]  # line_no in the broken file -> reason
    broken_lines: list[bytes]
    first: IngestResult
    after_first: dict[str, int]
    second: IngestResult
    after_second: dict[str, int]
    forced: IngestResult
    after_forced: dict[str, int]
    quarantine: list[tuple]


def _broken_lines(olist_line: bytes) -> tuple[list[bytes], dict[int, str]]:
    placed = event("b-1", "order.placed")
    cancel = event("b-2", "order.line_cancelled")
    olist_event = json.loads(olist_line)
    conflicting = copy.deepcopy(olist_event)
    conflicting["source"] = "resent-with-changes"
    rows: list[tuple[bytes, str | None]] = [
        (b"this is not json", "invalid_json"),
        (b"", "invalid_json"),
        (b'{"event_id": "b-0", "source": "caf\xe9"}', "invalid_encoding"),
        (
            line(event("b-3", "order.placed") | {"event_type": "order.teleported"}),
            "unknown_event_type",
        ),
        (
            line({**placed, "data": {k: v for k, v in placed["data"].items() if k != "order_id"}}),
            "missing_field:order_id",
        ),
        (line({**cancel, "data": {**cancel["data"], "quantity": "1"}}), "wrong_type:quantity"),
        (
            line({**placed, "event_id": "b-4", "data": {**placed["data"], "channel": "fax"}}),
            "invalid_value:channel",
        ),
        (
            line({**cancel, "event_id": "b-5", "data": {**cancel["data"], "quantity": -1}}),
            "negative_quantity",
        ),
        (line(event("b-6", occurred_at="2024-02-30T10:00:00Z")), "bad_timestamp"),
        (line(event("b-7", schema_version=2)), "unsupported_schema_version"),
        (line(conflicting), "conflicting_duplicate"),
        (olist_line, None),  # an exact re-send of an Olist event: a duplicate, not quarantined
    ]
    lines = [raw for raw, _ in rows]
    expected = {n: reason for n, (_, reason) in enumerate(rows, start=1) if reason}
    return lines, expected


@pytest.fixture(scope="module")
def olist_run(tmp_path_factory: pytest.TempPathFactory) -> OlistRun:
    root = tmp_path_factory.mktemp("olist")
    landing = root / "landing"
    convert_olist(OLIST_FIXTURE, landing / "olist")
    first_file = sorted((landing / "olist" / "events").glob("*.jsonl"))[0]
    first_olist_line = first_file.read_bytes().split(b"\n")[0]
    broken_lines, expected = _broken_lines(first_olist_line)
    write(landing, {BROKEN_FILE: b"\n".join(broken_lines) + b"\n"})
    with connect(root / "warehouse.duckdb") as con:
        first = ingest_folder(con, landing)
        after_first = counts(con)
        quarantine = con.execute(
            "select file, line_no, reason, raw, event_id from raw.quarantine"
        ).fetchall()
        second = ingest_folder(con, landing)
        after_second = counts(con)
        forced = ingest_folder(con, landing, force=True)
        after_forced = counts(con)
    return OlistRun(
        landing,
        first_olist_line,
        expected,
        broken_lines,
        first,
        after_first,
        second,
        after_second,
        forced,
        after_forced,
        quarantine,
    )


def _real_records(path: Path) -> int:
    data = path.read_bytes()
    if path.suffix == ".csv":
        return physical_lines(data) - 1  # the header is not a record
    return physical_lines(data)


def test_every_file_reconciles_with_its_real_line_count(olist_run: OlistRun) -> None:
    result = olist_run.first
    assert_reconciles(result)
    on_disk = sorted(
        p.relative_to(olist_run.landing).as_posix()
        for p in olist_run.landing.rglob("*")
        if p.is_file()
    )
    assert sorted(by_file(result)) == on_disk
    for f in result.files:
        assert not f.skipped
        assert f.lines_read == _real_records(olist_run.landing / f.file), f.file
    stored = olist_run.after_first
    landed_rows = (
        stored["raw.events"] + stored["raw.nodes"] + stored["raw.skus"] + stored["raw.carriers"]
    )
    assert landed_rows == result.totals.landed
    assert olist_run.after_first["raw.quarantine"] == result.totals.quarantined


def test_olist_excerpt_lands_without_quarantine(olist_run: OlistRun) -> None:
    olist = [f for f in olist_run.first.files if f.file.startswith("olist/")]
    assert len([f for f in olist if f.kind == "events"]) > 1
    assert {f.kind for f in olist} == {"events", "nodes", "skus", "carriers"}
    for f in olist:
        assert (f.landed, f.duplicates, f.quarantined) == (f.lines_read, 0, 0), f
    assert not [q for q in olist_run.quarantine if q[0].startswith("olist/")]


def test_each_broken_line_is_quarantined_with_its_reason(olist_run: OlistRun) -> None:
    broken = by_file(olist_run.first)[BROKEN_FILE]
    assert (broken.lines_read, broken.landed, broken.duplicates, broken.quarantined) == (
        len(olist_run.broken_lines),
        0,
        1,
        len(olist_run.expected),
    )
    rows = {q[1]: q for q in olist_run.quarantine if q[0] == BROKEN_FILE}
    assert {n: q[2] for n, q in rows.items()} == olist_run.expected
    for n, (_, _, reason, raw, _) in rows.items():
        sent = olist_run.broken_lines[n - 1]
        if reason == "invalid_encoding":
            assert raw == sent.decode("utf-8", errors="replace")
        else:
            assert raw == sent.decode("utf-8"), reason
    conflict = next(q for q in rows.values() if q[2] == "conflicting_duplicate")
    assert conflict[4] == json.loads(olist_run.first_olist_line)["event_id"]


def test_conflicting_line_leaves_the_first_copy_in_place(olist_run: OlistRun) -> None:
    first = json.loads(olist_run.first_olist_line)
    with connect(olist_run.landing.parent / "warehouse.duckdb", read_only=True) as con:
        rows = con.execute(
            "select source, file from raw.events where event_id = $id", {"id": first["event_id"]}
        ).fetchall()
    assert len(rows) == 1
    assert rows[0][0] == first["source"]
    assert rows[0][1].startswith("olist/events/")


def test_second_run_skips_every_file_and_adds_nothing(olist_run: OlistRun) -> None:
    second = olist_run.second
    assert {f.file for f in second.files} == {f.file for f in olist_run.first.files}
    assert all(f.skipped for f in second.files)
    assert second.totals.lines_read == 0
    assert olist_run.after_second == olist_run.after_first


def test_forced_rerun_reads_everything_again_and_adds_nothing(olist_run: OlistRun) -> None:
    forced = olist_run.forced
    assert_reconciles(forced)
    first = by_file(olist_run.first)
    for f in forced.files:
        assert not f.skipped
        assert f.lines_read == first[f.file].lines_read, f.file
        assert f.landed == 0, f.file
        assert f.quarantined == first[f.file].quarantined, f.file
        assert f.duplicates == first[f.file].landed + first[f.file].duplicates, f.file
    assert olist_run.after_forced == olist_run.after_first


# --- files seen before, unread ---------------------------------------------------------------


def test_an_unchanged_file_is_skipped_without_being_read(
    tmp_path: Path, warehouse, monkeypatch
) -> None:
    landing = write(tmp_path / "landing", {"a.jsonl": jsonl(event("u-1"), event("u-2"))})
    ingest_folder(warehouse, landing)

    def no_reading(*_: Any) -> None:
        raise AssertionError("a file with its recorded size and modification time was read")

    monkeypatch.setattr("pipelines.ingest.run._opened", no_reading)
    monkeypatch.setattr("pipelines.ingest.run.file_sha256", no_reading)
    again = ingest_folder(warehouse, landing)
    assert [(f.file, f.skipped) for f in again.files] == [("a.jsonl", True)]


def test_a_touched_file_is_hashed_once_then_skipped_unread(
    tmp_path: Path, warehouse, monkeypatch
) -> None:
    landing = write(tmp_path / "landing", {"a.jsonl": jsonl(event("t-1"))})
    ingest_folder(warehouse, landing)
    # Warehouses from before stamps were kept: records without one, like a touched file.
    warehouse.execute("update raw.ingest_files set modified_ns = null")
    touched = landing / "a.jsonl"
    stat = touched.stat()
    os.utime(touched, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))

    hashed = ingest_folder(warehouse, landing)
    assert [f.skipped for f in hashed.files] == [True]
    (stamp,) = warehouse.execute("select distinct modified_ns from raw.ingest_files").fetchall()
    assert stamp == (touched.stat().st_mtime_ns,)

    monkeypatch.setattr("pipelines.ingest.run._opened", lambda *_: pytest.fail("read again"))
    assert [f.skipped for f in ingest_folder(warehouse, landing).files] == [True]


def test_a_file_rewritten_with_new_content_is_read(tmp_path: Path, warehouse) -> None:
    landing = write(tmp_path / "landing", {"a.jsonl": jsonl(event("r-1"))})
    ingest_folder(warehouse, landing)
    rewritten = landing / "a.jsonl"
    rewritten.write_bytes(jsonl(event("r-1"), event("r-2")))
    os.utime(rewritten, ns=(0, rewritten.stat().st_mtime_ns + 10**9))
    result = ingest_folder(warehouse, landing)
    (read,) = result.files
    assert (read.skipped, read.lines_read, read.landed, read.duplicates) == (False, 2, 1, 1)


# --- duplicates across files --------------------------------------------------------------------


def test_duplicates_and_conflicts_in_a_later_file(tmp_path: Path, warehouse) -> None:
    e1, e2, e3 = event("d-1"), event("d-2", "shipment.delivered"), event("d-3", "stock.adjusted")
    e2_changed = {**e2, "data": {**e2["data"], "order_id": "o-other"}}
    spaced = json.dumps(e3, indent=None, separators=(" ,  ", " :\t")).encode()
    assert spaced != line(e3)
    landing = write(
        tmp_path / "landing",
        {
            "a.jsonl": jsonl(e1, e2, e3),
            "b.jsonl": line(e1) + b"\n" + line(e2_changed) + b"\n" + b"  " + spaced + b" \n",
        },
    )
    result = ingest_folder(warehouse, landing)
    assert_reconciles(result)
    later = by_file(result)["b.jsonl"]
    assert (later.lines_read, later.landed, later.duplicates, later.quarantined) == (3, 0, 2, 1)
    events = warehouse.execute("select event_id, file, data from raw.events order by 1").fetchall()
    assert [(i, f) for i, f, _ in events] == [
        ("d-1", "a.jsonl"),
        ("d-2", "a.jsonl"),
        ("d-3", "a.jsonl"),
    ]
    assert json.loads(events[1][2])["order_id"] == e2["data"]["order_id"]
    quarantine = warehouse.execute("select file, line_no, reason, event_id from raw.quarantine")
    assert quarantine.fetchall() == [("b.jsonl", 2, "conflicting_duplicate", "d-2")]


def test_the_same_instant_in_another_offset_is_a_duplicate(tmp_path: Path, warehouse) -> None:
    utc = event("i-1", occurred_at="2024-03-01T10:00:00Z")
    east = event("i-1", occurred_at="2024-03-01T12:00:00+02:00")
    lower = event("i-1", occurred_at="2024-03-01t10:00:00.000z")
    later = event("i-1", occurred_at="2024-03-01T10:00:01Z")
    landing = write(tmp_path / "landing", {"a.jsonl": jsonl(utc, east, lower, later)})
    result = ingest_folder(warehouse, landing)
    assert_reconciles(result)
    f = by_file(result)["a.jsonl"]
    assert (f.landed, f.duplicates, f.quarantined) == (1, 2, 1)
    quarantine = warehouse.execute("select line_no, reason from raw.quarantine").fetchall()
    assert quarantine == [(4, "conflicting_duplicate")]


# --- other formats ------------------------------------------------------------------------------


def _parquet(path: Path, rows: list[dict[str, Any]], occurred_at: pa.Array) -> None:
    table = pa.table(
        {
            "event_id": [r["event_id"] for r in rows],
            "event_type": [r["event_type"] for r in rows],
            "occurred_at": occurred_at,
            "source": [r["source"] for r in rows],
            "schema_version": pa.array([r["schema_version"] for r in rows], pa.int64()),
            "data": [json.dumps(r["data"]) for r in rows],
        }
    )
    pq.write_table(table, path)


def test_gzip_and_parquet_land_like_jsonl(tmp_path: Path, warehouse) -> None:
    gz = [event("g-1", "order.placed"), event("g-2", "stock.snapshot")]
    text = [
        event("p-1", "shipment.shipped", occurred_at="2024-03-01T10:00:00-03:00"),
        event("p-2", "return.received"),
    ]
    zoned = [event("t-1", "order.line_allocated"), event("t-2", "refund.issued")]
    local = [datetime(2024, 3, 1, 7, 0), datetime(2024, 7, 1, 7, 0)]  # Sao Paulo, no DST in 2024
    zone = ZoneInfo("America/Sao_Paulo")
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "events.jsonl.gz").write_bytes(gzip.compress(jsonl(*gz)))
    _parquet(landing / "text.parquet", text, pa.array([r["occurred_at"] for r in text]))
    _parquet(
        landing / "zoned.parquet",
        zoned,
        pa.array(
            [t.replace(tzinfo=zone) for t in local], pa.timestamp("us", tz="America/Sao_Paulo")
        ),
    )
    _parquet(landing / "naive.parquet", [event("n-1")], pa.array([datetime(2024, 3, 1, 7)]))
    result = ingest_folder(warehouse, landing)
    assert_reconciles(result)
    files = by_file(result)
    assert (files["events.jsonl.gz"].lines_read, files["events.jsonl.gz"].landed) == (2, 2)
    assert (files["text.parquet"].lines_read, files["text.parquet"].landed) == (2, 2)
    assert (files["zoned.parquet"].lines_read, files["zoned.parquet"].landed) == (2, 2)
    landed = {
        r[0]: r[1:]
        for r in warehouse.execute(
            "select event_id, event_type, occurred_at, source, data, file, line_no from raw.events"
        ).fetchall()
    }
    for doc in gz + text + zoned:
        event_type, _, source, data, _, _ = landed[doc["event_id"]]
        assert (event_type, source, json.loads(data)) == (doc["event_type"], "oms", doc["data"])
    assert landed["g-2"][4:] == ("events.jsonl.gz", 2)
    assert landed["p-2"][4:] == ("text.parquet", 2)
    assert landed["p-1"][1] == datetime(2024, 3, 1, 13, 0)
    assert [landed["t-1"][1], landed["t-2"][1]] == [
        datetime(2024, 3, 1, 10),
        datetime(2024, 7, 1, 10),
    ]
    # a zone-less Parquet timestamp has no offset, as the contract requires of every timestamp
    quarantine = warehouse.execute("select file, line_no, reason from raw.quarantine").fetchall()
    assert quarantine == [("naive.parquet", 1, "bad_timestamp")]


def test_offsets_are_stored_as_utc_and_unknown_data_fields_kept(tmp_path: Path, warehouse) -> None:
    east = event("z-1", occurred_at="2024-03-01T12:00:00+02:00")
    west = event("z-2", occurred_at="2024-03-01T21:30:00.25-03:30")
    extra = event("z-3", "stock.adjusted")
    extra["data"] |= {"batch_ref": "rcv-77", "dimensions": {"cm": [10, 20, 5]}}
    landing = write(tmp_path / "landing", {"tz.jsonl": jsonl(east, west, extra)})
    ingest_folder(warehouse, landing)
    rows = dict(warehouse.execute("select event_id, occurred_at from raw.events").fetchall())
    assert rows["z-1"] == datetime(2024, 3, 1, 10, 0)
    assert rows["z-2"] == datetime(2024, 3, 2, 1, 0, 0, 250000)
    data = warehouse.execute("select data from raw.events where event_id = 'z-3'").fetchall()
    assert json.loads(data[0][0]) == extra["data"]


# --- line endings and encodings -----------------------------------------------------------------

LINE_FILES = {
    "crlf.jsonl": line(event("l-1")) + b"\r\n" + line(event("l-2")) + b"\r\n",
    "no_newline.jsonl": line(event("l-3")) + b"\n" + line(event("l-4")),
    "blank.jsonl": line(event("l-5")) + b"\n\n" + line(event("l-6")) + b"\n",
    "latin1.jsonl": line(event("l-7"))
    + b"\n"
    + line(event("l-8")).replace(b"oms", b"\xf6ms")
    + b"\n"
    + line(event("l-9"))
    + b"\n",
}


@pytest.fixture(scope="module")
def line_endings(tmp_path_factory: pytest.TempPathFactory) -> tuple[IngestResult, list, list]:
    root = tmp_path_factory.mktemp("lines")
    landing = write(root / "landing", LINE_FILES)
    with connect(root / "warehouse.duckdb") as con:
        result = ingest_folder(con, landing)
        events = con.execute("select file, line_no, event_id from raw.events order by 3").fetchall()
        quarantine = con.execute(
            "select file, line_no, reason, raw from raw.quarantine order by 1"
        ).fetchall()
    return result, events, quarantine


@pytest.mark.parametrize("name", sorted(LINE_FILES))
def test_lines_read_match_the_file(name: str, line_endings) -> None:
    result, _, _ = line_endings
    assert_reconciles(result)
    assert by_file(result)[name].lines_read == physical_lines(LINE_FILES[name])


def test_crlf_and_missing_final_newline_land_every_event(line_endings) -> None:
    result, events, _ = line_endings
    files = by_file(result)
    assert (files["crlf.jsonl"].landed, files["no_newline.jsonl"].landed) == (2, 2)
    assert ("crlf.jsonl", 2, "l-2") in events
    assert ("no_newline.jsonl", 2, "l-4") in events


def test_blank_line_and_invalid_utf8_are_quarantined_and_counted(line_endings) -> None:
    result, events, quarantine = line_endings
    files = by_file(result)
    assert (files["blank.jsonl"].landed, files["blank.jsonl"].quarantined) == (2, 1)
    assert (files["latin1.jsonl"].landed, files["latin1.jsonl"].quarantined) == (2, 1)
    assert [q[:3] for q in quarantine] == [
        ("blank.jsonl", 2, "invalid_json"),
        ("latin1.jsonl", 2, "invalid_encoding"),
    ]
    assert quarantine[0][3] == ""
    assert '"source": "\ufffdms"' in quarantine[1][3]
    assert ("latin1.jsonl", 3, "l-9") in events


# --- reference CSVs -----------------------------------------------------------------------------


def test_reference_csvs_validate_rows_and_keep_the_latest(tmp_path: Path, warehouse) -> None:
    landing = write(
        tmp_path / "landing",
        {
            "ref/nodes.csv": b"node_id,node_type,name,region\n"
            b"dc-1,dc,Main DC,SP\n"
            b"wh-9,warehouse,Old shed,RJ\n",
            "ref/skus.csv": b"sku,category,unit_price,weight_kg\r\n"
            b"sku-a,toys,9.5,\r\n"
            b"sku-b,toys,-1,0.2\r\n"
            b"sku-c,games,20,1.5\r\n"
            b"sku-c,games,20,1.5\r\n"
            b"sku-d,games,5,\r\n"
            b"sku-d,games,6,\r\n",
            "ref/carriers.csv": b"carrier,service_level,transit_days,base_cost\n"
            b"ups,ground,3,4.5\n"
            b"ups,air,three,9\n",
        },
    )
    result = ingest_folder(warehouse, landing)
    assert_reconciles(result)
    files = by_file(result)
    assert (files["ref/nodes.csv"].lines_read, files["ref/nodes.csv"].landed) == (2, 1)
    assert (files["ref/skus.csv"].lines_read, files["ref/skus.csv"].duplicates) == (6, 1)
    assert warehouse.execute(
        "select * exclude (file, line_no, batch_id) from raw.nodes"
    ).fetchall() == [("dc-1", "dc", "Main DC", "SP", None, None, None, None, None, None)]
    skus = warehouse.execute(
        "select sku, unit_price, weight_kg, unit_cost, abc_class from raw.skus order by 1"
    )
    assert skus.fetchall() == [("sku-a", 9.5, None, None, None), ("sku-c", 20.0, 1.5, None, None)]
    assert warehouse.execute(
        "select carrier, service_level, transit_days, cost_per_kg from raw.carriers"
    ).fetchall() == [("ups", "ground", 3, None)]
    quarantine = warehouse.execute(
        "select file, line_no, reason from raw.quarantine order by 1, 2"
    ).fetchall()
    assert quarantine == [
        ("ref/carriers.csv", 3, "wrong_type:transit_days"),
        ("ref/nodes.csv", 3, "invalid_value:node_type"),
        ("ref/skus.csv", 3, "invalid_value:unit_price"),
        ("ref/skus.csv", 6, "duplicate_key"),
        ("ref/skus.csv", 7, "duplicate_key"),
    ]

    # a newer snapshot of the file replaces a key's row and keeps the others
    (landing / "ref" / "skus.csv").write_bytes(b"sku,category,unit_price\nsku-a,toys,11\n")
    newer = ingest_folder(warehouse, landing)
    assert by_file(newer)["ref/skus.csv"].landed == 1
    assert [f.skipped for f in newer.files if f.file != "ref/skus.csv"] == [True, True]
    skus = warehouse.execute("select sku, unit_price, batch_id from raw.skus order by 1").fetchall()
    assert skus == [("sku-a", 11.0, newer.batch_id), ("sku-c", 20.0, result.batch_id)]


# --- the command line ---------------------------------------------------------------------------


@pytest.fixture
def cli_landing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OMSI_HOME", str(tmp_path / "home"))
    return write(
        tmp_path / "landing",
        {
            "a.jsonl": jsonl(event("c-1"), event("c-2")) + line(event("c-1")) + b"\nnot json\n",
            "skus.csv": b"sku,category,unit_price\nsku-a,toys,9.5\n",
        },
    )


def test_cli_ingest_json_reconciles(cli_landing: Path, tmp_path: Path) -> None:
    outcome = CliRunner().invoke(app, ["ingest", str(cli_landing), "--json"])
    assert outcome.exit_code == 0, outcome.output
    summary = json.loads(outcome.stdout)
    assert (
        summary["lines_read"],
        summary["landed"],
        summary["duplicates"],
        summary["quarantined"],
    ) == (
        5,
        3,
        1,
        1,
    )
    assert len(summary["files"]) == 2
    for f in summary["files"]:
        assert f["lines_read"] == f["landed"] + f["duplicates"] + f["quarantined"]
    assert (tmp_path / "home" / "warehouse.duckdb").exists()


def test_cli_ingest_table_says_it_reconciles(cli_landing: Path) -> None:
    outcome = CliRunner().invoke(app, ["ingest", str(cli_landing)])
    assert outcome.exit_code == 0, outcome.output
    assert "reconciles" in outcome.stdout
    assert "DOES NOT RECONCILE" not in outcome.stdout
    assert "a.jsonl" in outcome.stdout


def test_cli_ingest_missing_folder_fails_naming_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("OMSI_HOME", str(tmp_path / "home"))
    missing = tmp_path / "no-such-landing"
    outcome = CliRunner().invoke(app, ["ingest", str(missing), "--json"])
    assert outcome.exit_code != 0
    assert str(missing.resolve()) in outcome.stderr
    assert outcome.stdout == ""
