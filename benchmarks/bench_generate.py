"""Speed and memory of the simulator: events per second, the 1,000,000-order wall time, peak RSS.

Run: `uv run python benchmarks/bench_generate.py [--orders N] [--days D] [--out DIR]`.
Each world runs in a fresh process so that peak RSS (getrusage of the child) is its own.
Targets (issue 3): >= 200,000 events/s and 1,000,000 orders in under 180 s with bounded memory.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

MIN_EVENTS_PER_S = 200_000
MAX_MILLION_SECONDS = 180

_CHILD = """
import json, resource, sys, time
from pathlib import Path
from pipelines.simulator import generate
out, orders, days = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
began = time.perf_counter()
report = generate(out, orders=orders, days=days, seed=7)
wall = time.perf_counter() - began
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
size = sum(p.stat().st_size for p in (out / "events").iterdir())
print(json.dumps({"orders": orders, "days": days, "events": report.events, "wall_s": wall,
                  "events_per_s": report.events / wall, "peak_rss_mb": rss,
                  "events_mb": size / 2**20}))
"""


def run(orders: int, days: int, out: Path) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(out), str(orders), str(days)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, nargs="*", default=[50_000, 1_000_000])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--out", type=Path, default=None, help="scratch folder (default: a temp)")
    args = parser.parse_args()
    scratch = args.out or Path(tempfile.mkdtemp(prefix="omsi-bench-"))
    try:
        print(
            f"{'orders':>10} {'days':>5} {'events':>11} {'wall s':>8} {'events/s':>10}"
            f" {'peak RSS MB':>12} {'events MB':>10}",
            flush=True,
        )
        for orders in args.orders:
            days = min(args.days, max(1, orders // 100))
            r = run(orders, days, scratch / f"w{orders}")
            print(
                f"{r['orders']:>10,} {r['days']:>5} {r['events']:>11,} {r['wall_s']:>8.1f}"
                f" {r['events_per_s']:>10,.0f} {r['peak_rss_mb']:>12,.0f}"
                f" {r['events_mb']:>10,.0f}",
                flush=True,
            )
            shutil.rmtree(scratch / f"w{orders}", ignore_errors=True)
            rate_ok = r["events_per_s"] >= MIN_EVENTS_PER_S
            verdict = f"  events/s floor {MIN_EVENTS_PER_S:,}: {'met' if rate_ok else 'MISSED'}"
            if orders >= 1_000_000:
                wall_ok = r["wall_s"] < MAX_MILLION_SECONDS
                verdict += (
                    f"; 1M orders under {MAX_MILLION_SECONDS} s: {'met' if wall_ok else 'MISSED'}"
                    f" ({r['wall_s']:.0f} s, peak RSS {r['peak_rss_mb']:,.0f} MB)"
                )
            print(verdict, flush=True)
    finally:
        if args.out is None:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
