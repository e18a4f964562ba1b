"""When `omsi run` may skip dbt: nothing ingested since the last build, and the same project."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipelines.dbt import project_files as project
from pipelines.dbt.builds import project_changed, record_build, up_to_date
from pipelines.dbt.data_test_scope import DataTestScope
from pipelines.warehouse import connect
from tests.dbt_runner import run_dbt

# The serving snapshot's time, after and before any build these tests record.
LATER = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=1)
EARLIER = datetime(2000, 1, 1)


def _batch(con, batch_id: int, files: int) -> None:
    con.execute(
        "insert into raw.ingest_batches (batch_id, landing_dir, started_at, files) "
        "values ($b, 'landing', now()::timestamp, $f)",
        {"b": batch_id, "f": files},
    )


def test_a_build_is_due_until_one_has_covered_every_batch_that_read_a_file(tmp_path: Path) -> None:
    with connect(tmp_path / "warehouse.duckdb") as con:
        _batch(con, 1, files=3)
        assert up_to_date(con, "project-a", LATER) is None  # never built

        record_build(con, "project-a", full_refresh=False)
        assert "no file ingested since batch 1" in up_to_date(con, "project-a", LATER)

        _batch(con, 2, files=0)  # every file skipped for its checksum: nothing new
        assert up_to_date(con, "project-a", LATER) is not None

        assert up_to_date(con, "project-b", LATER) is None  # a model or seed changed
        # No snapshot, or one older than the build (publishing failed after it): run on.
        assert up_to_date(con, "project-a", None) is None
        assert up_to_date(con, "project-a", EARLIER) is None

        _batch(con, 3, files=1)
        assert up_to_date(con, "project-a", LATER) is None
        record_build(con, "project-a", full_refresh=False)
        assert "since batch 3" in up_to_date(con, "project-a", LATER)


def test_a_changed_project_rebuilds_in_full_once(tmp_path: Path) -> None:
    with connect(tmp_path / "warehouse.duckdb") as con:
        _batch(con, 1, files=3)
        assert not project_changed(con, "project-a")  # never built: nothing to replace
        record_build(con, "project-a", full_refresh=False)
        assert not project_changed(con, "project-a")
        assert project_changed(con, "project-b")  # rows of project-a's SQL are in its tables
        record_build(con, "project-b", full_refresh=True)
        assert not project_changed(con, "project-b")


def test_the_fingerprint_changes_with_a_seed_and_only_then(tmp_path: Path, monkeypatch) -> None:
    copy = tmp_path / "dbt_project"
    shutil.copytree(
        project.DBT_PROJECT_DIR,
        copy,
        ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"),
    )
    monkeypatch.setattr(project, "DBT_PROJECT_DIR", copy)
    before = project.project_fingerprint()
    assert project.project_fingerprint() == before
    seed = copy / "seeds" / "cost_model.csv"
    text = seed.read_text()
    seed.write_text(text + "\n")
    assert project.project_fingerprint() != before
    seed.write_text(text)
    assert project.project_fingerprint() == before


def test_a_scoped_build_leaves_out_the_reference_models_and_no_test_of_another_model(
    tmp_path: Path,
) -> None:
    args = ["ls", "--resource-type", "model", "test", "--output", "name"]
    scoped = DataTestScope(after_batch=7).exclude_args()
    code, output, _ = run_dbt(args + scoped, tmp_path / "warehouse.duckdb", tmp_path)
    assert code == 0, output[-2000:]
    listed = set(output.split())
    # Built from reference files alone, with their tests: left out.
    assert {"dim_nodes", "stg_reference__skus", "unique_dim_nodes_node_id"}.isdisjoint(listed)
    # A test of a rebuilt model that also reads a seed (the KPI definitions): kept.
    assert {"kpi_daily", "kpi_daily_ratios_between_zero_and_one"} <= listed
    assert "stg_oms__orders_placed_columns_not_null" in listed

    # dbt leaves out a test with any model it reads: none but relationships (which wait for full
    # builds anyway) reads a left-out model and a rebuilt one.
    nodes = json.loads((tmp_path / "target" / "manifest.json").read_text())["nodes"]
    left_out = {key for key, node in nodes.items() if "reference_only" in node["tags"]}
    mixed = [
        node["name"]
        for node in nodes.values()
        if node["resource_type"] == "test"
        and (node.get("test_metadata") or {}).get("name") != "relationships"
        and left_out & set(node["depends_on"]["nodes"])
        and set(node["depends_on"]["nodes"]) - left_out
    ]
    assert not mixed, f"tests a scoped build would leave out though they read rebuilt rows: {mixed}"


def test_a_models_not_null_test_names_each_column_holding_nulls_and_how_many(
    tmp_path: Path,
) -> None:
    # One test per model for its required columns (tests/generic/not_null_columns.sql): it must
    # fail once per column with nulls, whichever columns they are, and pass without.
    test = "fct_orders_columns_not_null"
    warehouse = tmp_path / "warehouse.duckdb"
    code, output, _ = run_dbt(["compile", "--select", test, "--quiet"], warehouse, tmp_path)
    assert code == 0, output[-2000:]
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    (node,) = [n for n in manifest["nodes"].values() if n["name"] == test]
    columns = node["test_metadata"]["kwargs"]["column_names"]
    assert {"order_id", "channel", "revenue"} <= set(columns)

    with connect(warehouse) as con:
        con.execute("create schema marts")
        con.execute(f"create table marts.fct_orders ({', '.join(f'{c} varchar' for c in columns)})")
        con.execute(
            f"insert into marts.fct_orders values ({', '.join(['$v'] * len(columns))})", {"v": "x"}
        )
        assert con.execute(node["compiled_code"]).fetchall() == []

        con.execute("update marts.fct_orders set channel = null")
        con.execute("insert into marts.fct_orders (order_id) values ('o2')")
        failed = dict(con.execute(node["compiled_code"]).fetchall())
    # The second row is null everywhere but its key; the first only in channel.
    assert failed == {c: (2 if c == "channel" else 1) for c in columns if c != "order_id"}


def test_a_models_accepted_columns_test_names_each_column_outside_what_it_accepts(
    tmp_path: Path,
) -> None:
    # One test per model for its columns' ranges and accepted values
    # (tests/generic/accepted_columns.sql): once per column and kind, with how many rows, and
    # nulls pass. Two models: one with text values and ranges, one with numbers as its values.
    tests = ["fct_cost_to_serve_columns_accepted", "fct_inventory_counts_columns_accepted"]
    warehouse = tmp_path / "warehouse.duckdb"
    code, output, _ = run_dbt(["compile", "--select", *tests, "--quiet"], warehouse, tmp_path)
    assert code == 0, output[-2000:]
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    nodes = {n["name"]: n for n in manifest["nodes"].values() if n["name"] in tests}
    costs = nodes[tests[0]]["test_metadata"]["kwargs"]
    assert {"pick_pack_cost", "refunds_cost"} <= set(costs["ranges"])
    assert {"channel", "primary_node_type"} <= set(costs["values"])
    counts = nodes[tests[1]]["test_metadata"]["kwargs"]
    assert counts["values"]["tolerance_share"] == [0.01, 0.03, 0.05]

    def failures(table: str, node: dict, rows: list[dict]) -> dict[tuple[str, str], int]:
        kwargs = node["test_metadata"]["kwargs"]
        numeric = set(kwargs.get("ranges", {})) | {
            c for c, values in kwargs.get("values", {}).items() if not isinstance(values[0], str)
        }
        columns = [*kwargs.get("ranges", {}), *kwargs.get("values", {})]
        with connect(warehouse) as con:
            con.execute("create schema if not exists marts")
            typed = ", ".join(f"{c} {'double' if c in numeric else 'varchar'}" for c in columns)
            con.execute(f"create or replace table marts.{table} ({typed})")
            for row in rows:
                con.execute(
                    f"insert into marts.{table} ({', '.join(row)}) values "
                    f"({', '.join(['?'] * len(row))})",
                    list(row.values()),
                )
            found = con.execute(node["compiled_code"]).fetchall()
        return {(column, accepts): count for column, accepts, count in found}

    good = {"pick_pack_cost": 0.0, "refunds_cost": 4.5, "channel": "web"}
    good |= {"primary_node_type": "3pl", "fulfillment_method": "pickup"}
    assert failures("fct_cost_to_serve", nodes[tests[0]], [good, {"channel": None}]) == {}
    bad = [good | {"channel": "fax", "pick_pack_cost": -0.01}, good | {"channel": "telex"}]
    assert failures("fct_cost_to_serve", nodes[tests[0]], [good, *bad]) == {
        ("channel", "values"): 2,
        ("pick_pack_cost", "range"): 1,
    }
    shares = [{"tolerance_share": 0.03}, {"tolerance_share": 0.02}, {"tolerance_share": None}]
    assert failures("fct_inventory_counts", nodes[tests[1]], shares) == {
        ("tolerance_share", "values"): 1
    }
