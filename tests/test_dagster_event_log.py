"""The run log storage that keeps its SQLite connections: Dagster's own storage reads what it
wrote, and a long-lived process holds only a few files open."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from pipelines.dagster_event_log import HELD_FILES, HeldSqliteEventLogStorage
from pipelines.runner import prepare_dagster_home
from pipelines.settings import OmsiHome


@dg.asset
def _counted() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"rows": 3})


@dg.asset_check(asset=_counted)
def _counted_is_positive() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


def test_a_run_written_through_it_reads_the_same_with_dagsters_own_storage(tmp_path: Path):
    home = OmsiHome(tmp_path / "home").ensure()
    instance = dg.DagsterInstance.from_config(str(prepare_dagster_home(home)))
    assert isinstance(instance.event_log_storage, HeldSqliteEventLogStorage)
    result = dg.materialize([_counted, _counted_is_positive], instance=instance)
    assert result.success

    plain = SqliteEventLogStorage(str(home.root / "dagster" / "history" / "runs"))
    logged = plain.get_logs_for_run(result.run_id)
    kinds = {e.dagster_event.event_type for e in logged if e.is_dagster_event}
    assert {
        dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
        dg.DagsterEventType.ASSET_CHECK_EVALUATION,
        dg.DagsterEventType.RUN_SUCCESS,
    } <= kinds
    latest = plain.get_latest_materialization_events([dg.AssetKey("_counted")])
    assert latest[dg.AssetKey("_counted")].asset_materialization.metadata["rows"].value == 3
    check = plain.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(dg.AssetKey("_counted"), "_counted_is_positive")]
    )
    assert check


def test_a_long_lived_process_holds_only_a_few_files_open(tmp_path: Path):
    storage = HeldSqliteEventLogStorage(str(tmp_path / "runs"))
    for run in range(3 * HELD_FILES):
        with storage.run_connection(f"run-{run}") as conn:
            conn.exec_driver_sql("select 1")
    assert len(storage._engines) == HELD_FILES
    assert f"run-{3 * HELD_FILES - 1}" in storage._engines and "run-0" not in storage._engines
    storage.dispose()
    assert not storage._engines


def test_a_moved_home_gets_its_own_run_log_and_an_edited_file_is_kept(tmp_path: Path):
    home = OmsiHome(tmp_path / "home").ensure()
    config = prepare_dagster_home(home) / "dagster.yaml"
    moved = OmsiHome(tmp_path / "moved").ensure()
    (moved.root / "dagster").mkdir()
    (moved.root / "dagster" / "dagster.yaml").write_text(config.read_text())
    written = (prepare_dagster_home(moved) / "dagster.yaml").read_text()
    assert str(moved.root / "dagster" / "history" / "runs") in written
    assert str(home.root) not in written

    edited = "\n".join(config.read_text().splitlines()[1:]) + "\nrun_retries:\n  enabled: true\n"
    config.write_text(edited)
    assert (prepare_dagster_home(home) / "dagster.yaml").read_text() == edited


def test_a_table_once_found_is_not_looked_up_again(tmp_path: Path, monkeypatch):
    storage = HeldSqliteEventLogStorage(str(tmp_path / "runs"))
    looked_up: list[str] = []
    original = SqliteEventLogStorage.has_table

    def counting(self, table_name: str) -> bool:
        looked_up.append(table_name)
        return original(self, table_name)

    monkeypatch.setattr(SqliteEventLogStorage, "has_table", counting)
    assert storage.supports_asset_checks and storage.supports_asset_checks
    assert looked_up == ["asset_check_executions"]
    # A table not there is asked for again, since a migration may add it.
    assert not storage.has_table("no_such_table") and not storage.has_table("no_such_table")
    assert looked_up.count("no_such_table") == 2
    storage.dispose()
