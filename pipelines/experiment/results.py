"""Keep an experiment's result where people find it: a JSON file beside its branches, and tables
in the home's warehouse that the serving snapshot (and so the dashboards) carries."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from pipelines.serving import publish_snapshot
from pipelines.settings import OmsiHome
from pipelines.warehouse import connect

_TABLES = """
create schema if not exists {schema};
create table if not exists {schema}.experiment_results (
    experiment varchar, run_at timestamp, metric varchar, control double, treatment double,
    relative_change double, ci_low double, ci_high double
);
create table if not exists {schema}.experiment_node_mix (
    experiment varchar, run_at timestamp, branch varchar, node_type varchar, share double
);
"""


def save(home: OmsiHome, root: Path, result: dict) -> Path:
    """Write `result.json` under `root`, replace the experiment's rows in the warehouse, and
    refresh the serving snapshot when the home has one."""
    path = root / "result.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    with connect(home.warehouse) as con:
        write_tables(con, result)
    if home.serving.exists():
        publish_snapshot(home.warehouse, home.serving)
    return path


def write_tables(con: duckdb.DuckDBPyConnection, result: dict, schema: str = "ml") -> None:
    """The experiment's rows in `schema`.experiment_results and .experiment_node_mix, replacing
    an earlier run of the same experiment."""
    name, run_at = result["experiment"], result["run_at"]
    con.execute(_TABLES.format(schema=schema))
    con.execute(f"delete from {schema}.experiment_results where experiment = ?", [name])
    con.execute(f"delete from {schema}.experiment_node_mix where experiment = ?", [name])
    con.executemany(
        f"insert into {schema}.experiment_results values (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [name, run_at, metric, m["control"], m["treatment"], m["relative_change"],
             m["ci_low"], m["ci_high"]]
            for metric, m in result["metrics"].items()
        ],
    )  # fmt: skip
    con.executemany(
        f"insert into {schema}.experiment_node_mix values (?, ?, ?, ?, ?)",
        [
            [name, run_at, branch, node_type, share]
            for branch, shares in result["node_mix"].items()
            for node_type, share in shares.items()
        ],
    )
