"""The simulator writes a valid, deterministic, calibrated world and lists every fault it injects."""

from __future__ import annotations

import contextlib
import csv
import gzip
import hashlib
import json
import os
from collections import defaultdict
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from pipelines.contract import EVENT_TYPES, event_validator
from pipelines.simulator import generate, world_report
from pipelines.simulator.cli import generate_command
from pipelines.simulator.config import ConfigError, load_config

QUARANTINE_KEYWORDS = {
    "invalid_json": None,
    "unknown_event_type": {"enum"},
    "missing_field": {"required"},
    "wrong_type": {"type"},
    "negative_quantity": {"minimum", "exclusiveMinimum"},
    "bad_timestamp": {"pattern", "format"},
    "invalid_value": {"enum"},
    "unsupported_schema_version": {"const"},
}


def _events(out: Path) -> list[tuple[str, int, bytes]]:
    rows = []
    for path in sorted((out / "events").iterdir()):
        raw = path.read_bytes()
        if path.name.endswith(".gz"):
            raw = gzip.decompress(raw)
        for i, line in enumerate(raw.splitlines(), start=1):
            rows.append((path.name, i, line))
    return rows


def _digest(out: Path) -> dict[str, str]:
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name != "world.json"
    }


# The bytes a small world must have: a refactoring of the simulator must not change them.
STORED_DIGEST = Path(__file__).parent / "fixtures" / "simulator_digest.json"


def _content_digest(out: Path) -> dict[str, str]:
    """SHA-256 per file of a world.

    A Parquet file counts by its rows, so a pyarrow upgrade that writes other metadata bytes is
    not a change of the world, and its decimals by their first ten significant digits: numpy's
    exp and log take other instructions on other processors and differ in the last bit, so the
    truth's probabilities did between two machines whose events were the same bytes.
    """
    digests = {}
    for p in sorted(out.rglob("*")):
        if not p.is_file():
            continue
        if p.suffix == ".parquet":
            rows = {
                name: [_ten_digits(v) for v in values]
                for name, values in pq.read_table(p).to_pydict().items()
            }
            content = orjson.dumps(rows)
        elif p.name == "world.json":
            # It names the config file by its path, which is a temporary folder here.
            content = orjson.dumps({**json.loads(p.read_text()), "config": None})
        else:
            content = p.read_bytes()
        digests[str(p.relative_to(out))] = hashlib.sha256(content).hexdigest()
    return digests


def _ten_digits(value: object) -> object:
    return float(f"{value:.10g}") if isinstance(value, float) else value


@pytest.fixture(scope="module")
def clean_world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("clean")
    generate(out, orders=3000, days=40, seed=11)
    return out


@pytest.fixture(scope="module")
def faulty_world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("faulty")
    generate(out, orders=3000, days=40, seed=11, bad_rate=0.02)
    return out


def test_every_event_type_is_produced_and_validates(clean_world):
    validator = event_validator()
    by_type: dict[str, list[dict]] = defaultdict(list)
    for _, _, line in _events(clean_world):
        event = orjson.loads(line)
        by_type[event["event_type"]].append(event)
    assert set(by_type) == set(EVENT_TYPES)
    for event_type, events in by_type.items():
        # Every event of the rarer types, a spread of the common ones.
        step = max(1, len(events) // 400)
        for event in events[::step]:
            errors = [e.message for e in validator.iter_errors(event)]
            assert not errors, (event_type, event, errors)


def test_event_ids_unique_and_days_split_by_occurrence(clean_world):
    ids = set()
    for name, _, line in _events(clean_world):
        event = orjson.loads(line)
        assert event["event_id"] not in ids
        ids.add(event["event_id"])
        assert event["occurred_at"].startswith(name[:10])
        assert event["occurred_at"].endswith("Z")


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(a, orders=800, days=10, seed=5, bad_rate=0.01, gzip=True)
    generate(b, orders=800, days=10, seed=5, bad_rate=0.01, gzip=True)
    generate(c, orders=800, days=10, seed=6, bad_rate=0.01, gzip=True)
    assert _digest(a) == _digest(b)
    events_a = {k: v for k, v in _digest(a).items() if k.startswith("events")}
    events_c = {k: v for k, v in _digest(c).items() if k.startswith("events")}
    common = events_a.keys() & events_c.keys()
    assert "events/2024-09-01.jsonl.gz" in common
    assert all(events_a[k] != events_c[k] for k in common)


def test_a_small_world_has_the_stored_bytes(tmp_path):
    """A fixed seed gives the same events, reference CSVs and truth as when the digest was stored.

    When a change of the world's behaviour is intended, store the new digest with
    `OMSI_UPDATE_DIGEST=1 uv run pytest tests/test_simulator.py -k stored_bytes` and say why in
    the commit message.
    """
    # Short stock and fast drift, so that rejections, re-allocations and backorders, rare in a
    # short default world, are among the bytes too.
    stressed = tmp_path / "stressed.toml"
    stressed.write_text(
        "[catalogue]\nskus = 120\n[network]\nstores = 6\n[inventory]\n"
        "dc_cover_days = 4\nstore_cover_days = 4\ntpl_cover_days = 3\n"
        'drift_rate = { dc = 0.01, store = 0.05, "3pl" = 0.02, dropship = 0.01 }\n'
    )
    digests = {}
    for name, bad_rate, config in (
        ("clean", 0.0, None),
        ("faulty", 0.02, None),
        ("stressed", 0.0, stressed),
    ):
        out = tmp_path / name
        generate(out, orders=1500, days=12, seed=29, bad_rate=bad_rate, config=config)
        digests.update({f"{name}/{k}": v for k, v in _content_digest(out).items()})
    if os.environ.get("OMSI_UPDATE_DIGEST") == "1":
        STORED_DIGEST.write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n")
    stored = json.loads(STORED_DIGEST.read_text())
    changed = sorted(k for k in stored.keys() | digests.keys() if stored.get(k) != digests.get(k))
    assert not changed, f"these files of the seeded world changed: {changed}"


def test_clean_world_injects_no_faults_and_writes_truth(clean_world):
    truth = clean_world / "truth"
    with (truth / "injected_faults.csv").open() as f:
        assert list(csv.reader(f)) == [["file", "line", "event_id", "fault", "expected", "detail"]]
    for name in (
        "README.md",
        "world.json",
        "order_drivers.parquet",
        "shipment_truth.parquet",
        "stock_truth.parquet",
        "count_truth.parquet",
        "node_reliability.csv",
        "carrier_reliability.csv",
        "disruptions.csv",
    ):
        assert (truth / name).is_file(), name
    drivers = pq.read_table(truth / "order_drivers.parquet").to_pydict()
    assert len(drivers["order_id"]) == 3000
    allocated = [p for p, a in zip(drivers["p_late"], drivers["is_allocated"], strict=True) if a]
    assert allocated and all(0.0 <= p <= 1.0 for p in allocated)
    counts = sum(
        1 for _, _, line in _events(clean_world) if b'"event_type":"stock.counted"' in line
    )
    assert pq.read_metadata(truth / "count_truth.parquet").num_rows == counts
    for ref, column in (
        ("nodes", "node_type"),
        ("skus", "abc_class"),
        ("carriers", "transit_days"),
    ):
        with (clean_world / "reference" / f"{ref}.csv").open() as f:
            rows = list(csv.DictReader(f))
        assert rows and all(r[column] != "" for r in rows)


def test_stock_snapshots_reconcile_with_adjustments(clean_world):
    """The system record only moves through stock.adjusted events between two snapshots."""
    snaps: dict[str, dict[tuple[str, str], int]] = defaultdict(dict)
    deltas: list[tuple[str, tuple[str, str], int]] = []
    for _, _, line in _events(clean_world):
        event = orjson.loads(line)
        data = event["data"]
        if event["event_type"] == "stock.snapshot":
            snaps[event["occurred_at"]][(data["node_id"], data["sku"])] = data["on_hand"]
        elif event["event_type"] == "stock.adjusted":
            deltas.append((event["occurred_at"], (data["node_id"], data["sku"]), data["delta"]))
    first, second = sorted(snaps)[1:3]
    moved: dict[tuple[str, str], int] = defaultdict(int)
    for at, key, delta in deltas:
        if first < at < second:
            moved[key] += delta
    mismatched = [
        key for key, qty in snaps[first].items() if qty + moved[key] != snaps[second][key]
    ]
    assert len(mismatched) <= len(snaps[first]) * 0.001, mismatched[:5]


def test_faults_are_listed_with_their_expected_outcome(faulty_world, clean_world):
    validator = event_validator()
    lines = {(f, n): line for f, n, line in _events(faulty_world)}
    with (faulty_world / "truth" / "injected_faults.csv").open() as f:
        faults = list(csv.DictReader(f))
    kinds = {r["fault"] for r in faults}
    assert {"invalid_json", "missing_field", "exact_duplicate", "late_arriving"} <= kinds
    first_seen: dict[str, tuple[str, int]] = {}
    for key in sorted(lines, key=lambda k: (k[0], k[1])):
        with contextlib.suppress(orjson.JSONDecodeError):
            first_seen.setdefault(orjson.loads(lines[key])["event_id"], key)
    bad_keys = set()
    for row in faults:
        key = (row["file"], int(row["line"]))
        line = lines[key]
        expected = row["expected"]
        reason = expected.split(":")[0]
        if reason == "invalid_json":
            with pytest.raises(orjson.JSONDecodeError):
                orjson.loads(line)
            bad_keys.add(key)
            continue
        event = orjson.loads(line)
        assert event.get("event_id") == row["event_id"]
        errors = list(validator.iter_errors(event))
        if expected in ("landed", "duplicate", "conflicting_duplicate"):
            assert not errors, row
            if expected != "landed":
                assert first_seen[row["event_id"]] < key
                bad_keys.add(key)
            continue
        bad_keys.add(key)
        assert errors, row
        assert {e.validator for e in errors} <= QUARANTINE_KEYWORDS[reason], (row, errors)
        if ":" in expected:
            name = expected.split(":", 1)[1]
            where = ".".join(str(p) for p in errors[0].absolute_path if not isinstance(p, int))
            found = where.removeprefix("data").strip(".")
            if reason == "missing_field":
                assert f"'{name.split('.')[-1]}'" in errors[0].message
            else:
                assert found == name, (row, where)
    # Without the bad lines, the faulty world holds exactly the clean world's events.
    good = {orjson.loads(line)["event_id"] for key, line in lines.items() if key not in bad_keys}
    clean = {orjson.loads(line)["event_id"] for _, _, line in _events(clean_world)}
    assert good == clean


def test_calibrated_figures_of_the_default_world(tmp_path):
    out = tmp_path / "world"
    generate(out, orders=20000, days=120, seed=3)
    report = world_report(out)
    failing = {
        name: report.figures[name]
        for name in (
            "ira_overall",
            "ira_dc",
            "ira_store",
            "on_time_rate",
            "cancellation_rate",
            "split_rate_multi_line",
            "return_rate_units",
            "oracle_auc",
        )
        if not report.in_range(name)
    }
    assert not failing, report.render()
    f = report.figures
    assert f["ira_store"] < f["ira_dc"] - 0.15
    assert f["return_rate_apparel"] > f["return_rate_units"] + 0.05
    assert f["stock_driven_share_of_cancelled"] > 0.1
    assert f["wismo_rate_late"] > 5 * f["wismo_rate_on_time"]
    assert f["wismo_share_on_late_orders"] > 0.4
    assert "rendered" not in report.render() and "oracle_auc" in report.render()


def test_config_overrides_and_rejects_unknown_keys(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[catalogue]\nskuz = 10\n")
    with pytest.raises(ConfigError, match="catalogue.skuz"):
        load_config(bad)
    quoted = tmp_path / "quoted.toml"
    quoted.write_text("[carriers]\n'my \"post\"' = { standard = [4, 5.0, 0.4, 0.1] }\n")
    with pytest.raises(ConfigError, match="only letters"):
        load_config(quoted)
    small = tmp_path / "small.toml"
    small.write_text("[catalogue]\nskus = 120\n[network]\nstores = 5\n")
    out = tmp_path / "w"
    generate(out, orders=300, days=5, seed=1, config=small)
    with (out / "reference" / "skus.csv").open() as f:
        assert len(list(csv.DictReader(f))) == 120
    with (out / "reference" / "nodes.csv").open() as f:
        assert sum(r["node_type"] == "store" for r in csv.DictReader(f)) == 5


def test_cli_help_and_a_small_run(tmp_path):
    app = typer.Typer()
    app.command("generate")(generate_command)
    app.command("noop")(lambda: None)
    runner = CliRunner()
    result = runner.invoke(app, ["generate", "--help"])
    assert result.exit_code == 0
    for option in ("--orders", "--days", "--seed", "--out", "--bad-rate", "--start", "--report"):
        assert option in result.output
    result = runner.invoke(
        app,
        [
            "generate",
            "--orders",
            "400",
            "--days",
            "4",
            "--out",
            str(tmp_path),
            "--quiet",
            "--start",
            "2024-11-20",
        ],
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "events").iterdir())[0] == "2024-11-20.jsonl"
    result = runner.invoke(app, ["generate", "--start", "20/11/2024", "--out", str(tmp_path)])
    assert result.exit_code != 0
    assert "YYYY-MM-DD" in result.output
