"""Run one simulated world twice: the OMS's own routing, and routing that reads our feed.

Each branch is a complete omsi home of its own (landing, warehouse, models, feed) under
`$OMSI_HOME/experiments/<name>/`, so each is measured from its own marts, exactly as a retailer
would measure it. The treatment's routing runs the real pipeline on its own events so far, on the
switch day and every `refresh_days` after it, and reads the snapshot that run publishes through
the files sink, as an integrator would. Before the switch both branches route alike and share
every draw, so the treatment's first pipeline run sees exactly the control's history.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.settings import OmsiHome
from pipelines.simulator import generate
from pipelines.simulator.routing import FeedRouting, OmsRouting

WORLD = "world"  # the branch's world, inside its landing folder


@dataclass(frozen=True)
class ExperimentSpec:
    orders: int
    days: int
    seed: int
    switch_day: int
    refresh_days: int = 7
    config: Path | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.switch_day < self.days:
            raise ValueError(
                f"--switch-day must fall inside the world: between 1 and {self.days - 1}"
                f" (got {self.switch_day})"
            )
        if self.refresh_days < 1:
            raise ValueError("--refresh-days must be at least 1")


@dataclass
class BranchRun:
    home: OmsiHome
    seconds: float = 0.0
    pipeline_seconds: float = 0.0
    pipeline_runs: int = 0
    snapshots: list[dict] = field(default_factory=list)

    @property
    def world(self) -> Path:
        return self.home.landing / WORLD


def run_branches(
    spec: ExperimentSpec, root: Path, say: Callable[[str], None] = print
) -> tuple[BranchRun, BranchRun]:
    """Generate both branches under `root` and build each one's marts; returns (control,
    treatment)."""
    control = BranchRun(OmsiHome(root / "control").ensure())
    treatment = BranchRun(OmsiHome(root / "treatment").ensure())

    say(f"control: the OMS's own routing, {spec.orders:,} orders over {spec.days} days")
    began = time.perf_counter()
    _generate(spec, control.world, OmsRouting())
    control.seconds = time.perf_counter() - began

    say(
        f"treatment: the OMS's routing to day {spec.switch_day}, then the feed's, refreshed"
        f" every {spec.refresh_days} days"
    )
    began = time.perf_counter()
    routing = FeedRouting(
        lambda day: _publish(treatment, day, say),
        switch_day=spec.switch_day,
        refresh_days=spec.refresh_days,
    )
    _generate(spec, treatment.world, routing)
    treatment.snapshots = routing.describe()["snapshots"]
    treatment.seconds = time.perf_counter() - began - treatment.pipeline_seconds

    # The outcomes of the last orders arrive after their day: build both branches' marts on
    # every event.
    for name, branch in (("control", control), ("treatment", treatment)):
        say(f"{name}: building its marts on the whole world")
        _pipeline(branch, f"{name} final", say)
    return control, treatment


def _generate(spec: ExperimentSpec, out: Path, routing) -> None:
    generate(
        out, orders=spec.orders, days=spec.days, seed=spec.seed, config=spec.config, routing=routing
    )


def _publish(branch: BranchRun, day: int, say: Callable[[str], None]) -> Path:
    """Run the pipeline on the branch's events before `day` and publish a feed snapshot."""
    from pipelines.feed.config import load_config
    from pipelines.feed.datasets import FeedInputError
    from pipelines.feed.publish import publish

    _pipeline(branch, f"treatment day {day}", say)
    try:
        report = publish(
            branch.home,
            load_config(branch.home.root),
            sinks=["file"],
            log=lambda m: say(f"  feed: {m}"),
        )
    except FeedInputError as exc:
        raise RuntimeError(
            f"no feed to route with on day {day}: {exc}. On a small world the risk models can"
            " stay below their promotion gates (docs/models.md); give the world more orders or"
            " days, or switch later (--switch-day)"
        ) from exc
    if not report.ok:
        raise RuntimeError(
            f"the treatment's feed could not be published on day {day}: see the feed lines"
            " above; the experiment stops rather than route on a stale snapshot"
        )
    return branch.home.feed / "latest"


def _pipeline(branch: BranchRun, label: str, say: Callable[[str], None]) -> None:
    """`omsi run` on the branch's home, its output (dbt's too) kept in the branch's
    pipeline.log; one progress line per run."""
    from pipelines.runner import run_refresh

    began = time.perf_counter()
    log = branch.home.root / "pipeline.log"
    with _output_to(log, f"== {label}\n"):
        result = run_refresh(branch.home)
    seconds = time.perf_counter() - began
    branch.pipeline_seconds += seconds
    branch.pipeline_runs += 1
    failed = [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    say(f"  {label}: pipeline {'ok' if result.success else 'FAILED'} in {seconds:.0f} s")
    if not result.success:
        raise RuntimeError(
            f"the pipeline failed for {label} (steps: {', '.join(failed) or 'unknown'}); run"
            f" `OMSI_HOME={branch.home.root} omsi run` to see why, or read {log}"
        )


@contextmanager
def _output_to(path: Path, header: str) -> Iterator[None]:
    """Send this process's standard output and error, and its children's (dbt runs as one), to
    `path`: with --json, standard output must be the result alone."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with path.open("ab") as log:
        log.write(header.encode())
        log.flush()
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
