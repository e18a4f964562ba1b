"""The closed-loop experiment's run time on the default world, against a floor from the same run.

Run: `uv run python benchmarks/bench_experiment.py [--orders N] [--days D] [--switch-day K]
[--refresh-days R]` (defaults: the default world and `omsi experiment`'s own defaults).

The experiment simulates the world twice and runs the whole pipeline once per treatment refresh
and once per branch at the end. Wall time drifts by a third on a shared machine, so beside it
this prints the floor measured in the same run: what one plain world costs a user (`omsi
generate`, then one `omsi run` on it), and the experiment as a multiple of that floor.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipelines.simulator.config import load_config

OMSI = Path(sys.executable).with_name("omsi")


def _timed(args: list[str], home: Path) -> tuple[float, str]:
    began = time.perf_counter()
    done = subprocess.run(
        [str(OMSI), *args],
        env={**os.environ, "OMSI_HOME": str(home)},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if done.returncode:
        sys.exit(f"omsi {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - began, done.stdout


def main() -> None:
    world = load_config()["world"]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=int(world["orders"]))
    parser.add_argument("--days", type=int, default=int(world["days"]))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--switch-day", type=int, default=None)
    parser.add_argument("--refresh-days", type=int, default=7)
    args = parser.parse_args()
    world_args = ["--orders", str(args.orders), "--days", str(args.days), "--seed", str(args.seed)]
    with tempfile.TemporaryDirectory(prefix="omsi-bench-experiment-") as tmp:
        floor_home = Path(tmp, "floor")
        print(f"floor: one plain world of {args.orders:,} orders over {args.days} days ...")
        generated, _ = _timed(
            ["generate", *world_args, "--out", str(floor_home / "landing" / "world"), "--quiet"],
            floor_home,
        )
        ran, _ = _timed(["run"], floor_home)
        floor = generated + ran
        print(f"  omsi generate {generated:,.1f} s + omsi run {ran:,.1f} s = {floor:,.1f} s")
        experiment = [*world_args, "--refresh-days", str(args.refresh_days), "--json"]
        if args.switch_day is not None:
            experiment += ["--switch-day", str(args.switch_day)]
        print("experiment ...")
        total, out = _timed(["experiment", *experiment], Path(tmp, "experiment"))
    result = json.loads(out)
    s = result["seconds"]
    print(
        f"omsi experiment (switch day {result['switch_day']}, every {result['refresh_days']} days):"
        f" {total:,.1f} s = {total / floor:.2f}x the plain world's floor"
    )
    print(
        f"  simulation {s['control_simulation'] + s['treatment_simulation']:,.1f} s (both"
        f" branches), {s['pipeline_runs']} pipeline runs {s['pipeline']:,.1f} s"
        f" ({s['pipeline'] / s['pipeline_runs']:,.1f} s each = {s['pipeline'] / s['pipeline_runs'] / ran:.2f}x"
        " the floor's omsi run)"
    )
    for name, m in result["metrics"].items():
        print(
            f"  {name:<24} {m['relative_change']:+.1%}  [{m['ci_low']:+.1%}, {m['ci_high']:+.1%}]"
        )


if __name__ == "__main__":
    main()
