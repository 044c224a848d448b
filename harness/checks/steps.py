"""The steps scenarios are made of, by name, and running them in order."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from harness.checks import report as r
from harness.checks.converge import apply, verify
from harness.checks.crash_points import crash_points_step
from harness.checks.drift import drift
from harness.checks.faults import (
    expect_apply_failed,
    expect_converges_on_rerun,
    expect_failed_or_unchanged,
    expect_host_unchanged,
    fault,
    heal,
)
from harness.checks.idempotency import expect_no_diff, snapshot
from harness.checks.placement import apply_new_image, expect_untargeted_unchanged
from harness.checks.report import ScenarioLog, StepFailed, StepReport
from harness.checks.rollback import apply_previous, expect_clean_rollback, scan
from harness.deployment import Deployment
from harness.faults.spec import FaultSpec

STEPS: dict[str, Callable[[Deployment], StepReport]] = {
    "apply": apply,
    "snapshot": snapshot,
    "expect-no-diff": expect_no_diff,
    "verify": verify,
    "expect-untargeted-unchanged": expect_untargeted_unchanged,
    "apply-new-image": apply_new_image,
    "drift": drift,
    "apply-previous": apply_previous,
    "scan": scan,
    "expect-clean-rollback": expect_clean_rollback,
    "fault": fault,
    "heal": heal,
    "expect-apply-failed": expect_apply_failed,
    "expect-host-unchanged": expect_host_unchanged,
    "expect-failed-or-unchanged": expect_failed_or_unchanged,
    "expect-converges-on-rerun": expect_converges_on_rerun,
    "crash-points": crash_points_step,
}
DAEMONSET_STEPS = ("expect-untargeted-unchanged", "apply-new-image")
NEEDS_PRISTINE = {"snapshot", "scan", "expect-untargeted-unchanged"}  # the first apply is derived against it


@dataclass(frozen=True)
class StepRun:
    """A step that ran: its report (with its failure, if it failed) and how long it took."""

    step: str
    report: StepReport
    seconds: float


def run_steps(
    deployment: Deployment,
    steps: tuple[str, ...],
    log: ScenarioLog,
    done: list[StepRun] | None = None,
    go_on: Callable[[], None] = lambda: None,
    faults: tuple[FaultSpec, ...] = (),
) -> None:
    """Run the steps in order, each report in the log (masked); record how long each took, also when one fails.
    A negative verdict raises :class:`StepFailed` with the step's failure, masked. ``done`` gets each step that
    ran to its end, the failing one included; ``go_on`` is asked before each step, and raises to stop."""
    timings: list[str] = []
    deployment.faults.plan(faults)  # each `fault` step strikes the next
    if NEEDS_PRISTINE & set(steps):
        started = time.monotonic()
        deployment.state.scan_pristine()
        timings.append(f"pristine scan {time.monotonic() - started:.1f} s")
    try:
        for step in steps:
            go_on()
            started = time.monotonic()
            try:
                report = STEPS[step](deployment)
            finally:
                timings.append(f"{step} {time.monotonic() - started:.1f} s")
            log.add(report)
            if done is not None:
                done.append(StepRun(step, report, time.monotonic() - started))
            if report.failure is not None:
                raise StepFailed(log.mask(report.failure))
    finally:
        log.record(r.TIMING, ", ".join(timings))
