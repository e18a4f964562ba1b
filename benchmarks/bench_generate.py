"""Speed and memory of the simulator: events per second, the 1,000,000-order wall time, peak RSS.

Run: `uv run python benchmarks/bench_generate.py [--orders N] [--days D] [--out DIR]
[--baseline REV --repeat R]`.
Each world runs in a fresh process so that peak RSS (getrusage of the child) is its own.
Targets (issue 3): >= 200,000 events/s and 1,000,000 orders in under 180 s with bounded memory.

Wall time drifts by a third on a shared machine, so every world also prints its CPU seconds
against a floor measured in the same process: reading the events it wrote back and writing
each one again with orjson, the least any writer of these lines must spend. `--baseline REV`
runs the simulator of an older commit (a temporary git worktree) interleaved with this one and
prints the median CPU seconds of both and their ratio: the check that a change kept its speed.
It also prints the median of the pairs' ratios (each pair ran back to back, under one load).
On a machine whose load swings within a minute (other jobs on the shared cores), `--together`
runs both worlds of a pair at the same time instead, so both meet the same load.
CPU seconds count from after the imports, pandas included (see _CHILD).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

MIN_EVENTS_PER_S = 200_000
MAX_MILLION_SECONDS = 180
ROOT = Path(__file__).resolve().parents[1]

_CHILD = """
import gzip, json, resource, sys, time
from pathlib import Path
import orjson
# Imported before the clock starts: the truth writer's first pyarrow array imports pandas,
# which without cached bytecode (PYTHONDONTWRITEBYTECODE) costs seconds of compiling, the
# same on both sides of a comparison and none of the simulator's own work.
import pandas, pyarrow.parquet
from pipelines.simulator import generate

def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

out, orders, days = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
began, cpu0 = time.perf_counter(), cpu()
report = generate(out, orders=orders, days=days, seed=7)
wall, cpu1 = time.perf_counter() - began, cpu()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
files = sorted((out / "events").iterdir())
size = sum(p.stat().st_size for p in files)
# The floor: every event read back, and written again as one orjson line.
cpu2 = cpu()
for path in files:
    if path.suffix not in (".gz", ".jsonl"):
        continue
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as lines, open(out / "floor.jsonl", "wb") as again:
        again.writelines(orjson.dumps(orjson.loads(line)) + b"\\n" for line in lines)
floor = cpu() - cpu2
print(json.dumps({"orders": orders, "days": days, "events": report.events, "wall_s": wall,
                  "cpu_s": cpu1 - cpu0, "floor_cpu_s": floor,
                  "events_per_s": report.events / wall, "peak_rss_mb": rss,
                  "events_mb": size / 2**20}))
"""


def _start(orders: int, days: int, out: Path, code: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(out), str(orders), str(days)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=code,
        env={**os.environ, "PYTHONPATH": str(code)},
    )


def _result(child: subprocess.Popen, out: Path) -> dict:
    stdout, _ = child.communicate()
    shutil.rmtree(out, ignore_errors=True)
    if child.returncode:
        raise subprocess.CalledProcessError(child.returncode, child.args)
    return json.loads(stdout.strip().splitlines()[-1])


def run(orders: int, days: int, out: Path, code: Path = ROOT) -> dict:
    """One world in a fresh process, with the simulator of the project at `code`."""
    return _result(_start(orders, days, out, code), out)


def run_together(orders: int, days: int, scratch: Path, codes: list[Path]) -> list[dict]:
    """One world per simulator in `codes`, all running at once: each meets the same load."""
    outs = [scratch / f"w{i}" for i in range(len(codes))]
    children = [_start(orders, days, out, code) for out, code in zip(outs, codes, strict=True)]
    return [_result(child, out) for child, out in zip(children, outs, strict=True)]


def _report(r: dict) -> None:
    print(
        f"{r['orders']:>10,} {r['days']:>5} {r['events']:>11,} {r['wall_s']:>8.1f}"
        f" {r['events_per_s']:>10,.0f} {r['peak_rss_mb']:>12,.0f} {r['events_mb']:>10,.0f}"
        f" {r['cpu_s']:>7.1f} {r['cpu_s'] / r['floor_cpu_s']:>8.2f}x",
        flush=True,
    )
    rate_ok = r["events_per_s"] >= MIN_EVENTS_PER_S
    verdict = f"  events/s floor {MIN_EVENTS_PER_S:,}: {'met' if rate_ok else 'MISSED'}"
    if r["orders"] >= 1_000_000:
        wall_ok = r["wall_s"] < MAX_MILLION_SECONDS
        verdict += (
            f"; 1M orders under {MAX_MILLION_SECONDS} s: {'met' if wall_ok else 'MISSED'}"
            f" ({r['wall_s']:.0f} s, peak RSS {r['peak_rss_mb']:,.0f} MB)"
        )
    print(verdict, flush=True)


def _seconds(runs: list[float]) -> str:
    return "/".join(f"{x:.2f}" for x in runs)


def against_baseline(
    rev: str, orders: int, days: int, repeat: int, scratch: Path, together: bool
) -> None:
    """This simulator and the one at `rev`, interleaved (or each pair at once), by median CPU
    seconds."""
    tree = scratch / "baseline"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), rev],
        check=True,
        capture_output=True,
    )
    try:
        cpu: dict[str, list[float]] = {"this": [], rev: []}
        for i in range(repeat):
            pair = [("this", ROOT), (rev, tree)]
            if together:
                results = run_together(orders, days, scratch, [code for _, code in pair])
                for (name, _), r in zip(pair, results, strict=True):
                    cpu[name].append(r["cpu_s"])
                continue
            for name, code in pair if i % 2 == 0 else pair[::-1]:
                cpu[name].append(run(orders, days, scratch / "w", code)["cpu_s"])
        this, base = statistics.median(cpu["this"]), statistics.median(cpu[rev])
        # Each pair ran back to back (or at once), so its ratio shares the load of the moment.
        paired = statistics.median(a / b for a, b in zip(cpu["this"], cpu[rev], strict=True))
        print(
            f"{orders:,} orders over {days} days, median CPU of {repeat}: this {this:.2f} s,"
            f" {rev} {base:.2f} s, ratio {this / base:.3f} (median of pair ratios"
            f" {paired:.3f}; this {_seconds(cpu['this'])}, {rev} {_seconds(cpu[rev])})",
            flush=True,
        )
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, nargs="*", default=[50_000, 1_000_000])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--out", type=Path, default=None, help="scratch folder (default: a temp)")
    parser.add_argument("--baseline", help="a git revision to compare CPU seconds with")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each side with --baseline")
    parser.add_argument(
        "--together",
        action="store_true",
        help="with --baseline, run each pair at the same time rather than one after the other",
    )
    args = parser.parse_args()
    scratch = args.out or Path(tempfile.mkdtemp(prefix="omsi-bench-"))
    try:
        if args.baseline:
            for orders in args.orders:
                days = min(args.days, max(1, orders // 100))
                against_baseline(args.baseline, orders, days, args.repeat, scratch, args.together)
            return
        print(
            f"{'orders':>10} {'days':>5} {'events':>11} {'wall s':>8} {'events/s':>10}"
            f" {'peak RSS MB':>12} {'events MB':>10} {'CPU s':>7} {'/ floor':>9}",
            flush=True,
        )
        for orders in args.orders:
            days = min(args.days, max(1, orders // 100))
            _report(run(orders, days, scratch / f"w{orders}"))
    finally:
        if args.out is None:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
