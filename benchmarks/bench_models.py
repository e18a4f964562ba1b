"""Risk models: training time on a simulated world, and the time to score 1,000,000 open orders.

    uv run python benchmarks/bench_models.py [--orders 50000] [--days 120] [--score-rows 1000000]

Generates the world (the default world's size), ingests it, builds the feature tables with dbt,
then times training both models (split, fit, calibrate, baselines, registry) and scoring. The
scoring figure replicates the world's feature rows to `--score-rows` open orders and times what
`omsi score` does per order (encoding, calibrated probability, top factors, action) against the
floor measured in the same run: the bare calibrated prediction of the same encoded rows.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

import pandas as pd

from models.features import DELIVERY
from models.registry import Registry, load_artifact
from models.scoring import score_orders
from models.training import TrainedModel
from pipelines.dbt.commands import dbt_beside_python, dbt_command
from pipelines.ingest import ingest_folder
from pipelines.ml.training_run import feature_frame, train_models
from pipelines.simulator import generate
from pipelines.warehouse import connect


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=50_000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--score-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="omsi-bench-models-") as tmp:
        root = Path(tmp)
        generate(root / "world", orders=args.orders, days=args.days, seed=7)
        wh = root / "warehouse.duckdb"
        with connect(wh) as con:
            ingest_folder(con, root / "world")
        command = dbt_command(
            dbt_beside_python() or "dbt",
            [
                "build",
                "--select",
                "+ml_delivery_features",
                "+ml_inventory_features",
                "--exclude",
                "resource_type:test",
                "resource_type:unit_test",
                "--quiet",
            ],
            root / "dbt",
        )
        started = time.perf_counter()
        subprocess.run(command, env={**os.environ, "OMSI_WAREHOUSE": str(wh)}, check=True)
        print(f"dbt feature path (staging to ml): {time.perf_counter() - started:.1f} s")

        registry = Registry(root / "models")
        with connect(wh) as con:
            for outcome in train_models(con, registry):
                print(f"train {outcome.summary()}")
            frame = feature_frame(con, DELIVERY)
        # Timing needs a model, not a good one: a small world's may stay below its gates.
        version = registry.promoted("delivery") or registry.versions("delivery")[-1]
        model = TrainedModel.from_payload(load_artifact(version))

        copies = -(-args.score_rows // len(frame))
        many = pd.concat([frame] * copies, ignore_index=True).iloc[: args.score_rows]
        started = time.perf_counter()
        x = model.encode(many)
        model.estimator.predict_proba(x)
        floor = time.perf_counter() - started
        started = time.perf_counter()
        scores = score_orders(model, many)
        scoring = time.perf_counter() - started
        print(
            f"score {len(scores):,} open orders: {scoring:.1f} s "
            f"({len(scores) / scoring:,.0f} orders/s; {scoring / floor:.1f}x the floor of "
            f"{floor:.1f} s, the bare calibrated prediction of the same rows)"
        )


if __name__ == "__main__":
    main()
