"""The `omsi` command line: every command documents itself and the light ones work end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli import app

FIXTURE = Path(__file__).parent / "fixtures" / "olist"
COMMANDS = [
    ["generate"],
    ["import"],
    ["import", "olist"],
    ["import", "shopify"],
    ["ingest"],
    ["run"],
    ["status"],
    ["quarantine"],
    ["quarantine", "show"],
    ["quarantine", "export"],
    ["replay"],
    ["dashboard"],
    ["demo"],
]


@pytest.fixture
def runner(tmp_path, monkeypatch) -> CliRunner:
    monkeypatch.setenv("OMSI_HOME", str(tmp_path / "home"))
    return CliRunner()


def test_top_level_help_lists_every_command(runner):
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in (
        "generate",
        "import",
        "ingest",
        "run",
        "status",
        "quarantine",
        "replay",
        "dashboard",
        "demo",
    ):
        assert name in result.output


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(runner, command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output and "--help" in result.output


def test_import_then_ingest_reconciles_with_zero_quarantined(runner, tmp_path):
    out = tmp_path / "olist"
    imported = runner.invoke(app, ["import", "olist", str(FIXTURE), "--out", str(out)])
    assert imported.exit_code == 0, imported.output
    assert (out / "reference" / "nodes.csv").exists() and list((out / "events").glob("*.jsonl"))

    ingested = runner.invoke(app, ["ingest", str(out), "--json"])
    assert ingested.exit_code == 0, ingested.output
    summary = json.loads(ingested.stdout)
    assert summary["quarantined"] == 0 and summary["duplicates"] == 0
    assert summary["lines_read"] == summary["landed"] > 0
    assert {"lines_read", "landed", "duplicates", "quarantined"} <= set(summary["files"][0])

    status = runner.invoke(app, ["status"])
    assert status.exit_code == 0
    assert f"landed {summary['landed']:,}" in status.output


def test_import_of_a_folder_without_the_export_says_what_is_missing(runner, tmp_path):
    result = runner.invoke(app, ["import", "olist", str(tmp_path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "orders.csv" in result.output


def test_status_of_an_empty_home_says_what_to_run(runner):
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 0
    assert "omsi run" in result.output
