"""The steps scenarios are made of, by name, and running them in order."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from harness import progress
from harness.checks import report as r
from harness.checks.converge import apply, verify
from harness.checks.crash_points import crash_points_step
from harness.checks.cron_files import cron_files
from harness.checks.drift import drift
from harness.checks.faults import (
    expect_apply_failed,
    expect_converges_on_rerun,
    expect_failed_or_unchanged,
    expect_host_unchanged,
    fault,
    heal,
)
from harness.checks.fleet import expect_others_converged
from harness.checks.gitops import gitops, gitops_report
from harness.checks.gitops_update import gitops_before, gitops_push
from harness.checks.idempotency import expect_no_diff, snapshot
from harness.checks.lint import lint, lint_report
from harness.checks.placement import apply_new_image, expect_untargeted_unchanged
from harness.checks.report import ScenarioLog, StepFailed, StepReport
from harness.checks.rollback import apply_previous, expect_clean_rollback, scan
from harness.checks.secrets import secrets_hygiene
from harness.deployer.spec import DeployerSpec
from harness.deployment import Deployment
from harness.errors import NotApplicable
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
    "expect-others-converged": expect_others_converged,
    "crash-points": crash_points_step,
    "lint": lint,
    "cron-files": cron_files,
    "secrets": secrets_hygiene,
    "gitops": gitops,
    "gitops-before": gitops_before,
    "gitops-push": gitops_push,
}
OFFLINE_STEPS: dict[str, Callable[[DeployerSpec], StepReport]] = {  # no machine needed
    "lint": lint_report,
    "gitops": gitops_report,
}
DAEMONSET_STEPS = ("expect-untargeted-unchanged", "apply-new-image")
NEEDS_PRISTINE = {
    "snapshot",
    "scan",
    "expect-untargeted-unchanged",
    "cron-files",
    "secrets",
}  # the first apply: derived


@dataclass(frozen=True)
class StepRun:
    """A step that ran: its report (with its failure, if it failed) and how long it took."""

    step: str
    report: StepReport
    seconds: float
    started: float = 0.0  # seconds after the scenario's steps began (its pristine scan, if it has one)
    at: float = 0.0  # when it started, in seconds since the epoch: scenarios side by side on one clock

    @property
    def failed(self) -> bool:
        return self.report.failure is not None


def record_timing(log: ScenarioLog, runs: Sequence[StepRun]) -> None:
    """How long each step took: a line for people, and the timeline as data (the HTML report's bars)."""
    log.record(r.TIMING, ", ".join(f"{run.step} {run.seconds:.1f} s" for run in runs))
    timeline = [
        {
            "step": run.step,
            "start": round(run.started, 3),
            "seconds": round(run.seconds, 3),
            "failed": run.failed,
            "at": round(run.at, 3),
        }
        for run in runs
    ]
    log.record(r.STEPS_DATA, json.dumps(timeline, separators=(",", ":")))


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
    timeline = _Timeline(log, done)
    deployment.faults.plan(faults)  # each `fault` step strikes the next
    if NEEDS_PRISTINE & set(steps):
        deployment.state.scan_pristine()
        timeline.runs.append(
            StepRun("pristine scan", StepReport(), time.monotonic() - timeline.begun, at=timeline.begun_at)
        )
    with timeline:
        for number, step in enumerate(steps, 1):
            go_on()
            progress.report(f"step {number}/{len(steps)}: {step}")
            timeline.run(step, functools.partial(STEPS[step], deployment))


def offline(steps: tuple[str, ...]) -> bool:
    """Whether every step works without machines (lint): the scenario starts none."""
    return all(step in OFFLINE_STEPS for step in steps)


def run_offline(
    spec: DeployerSpec, steps: tuple[str, ...], log: ScenarioLog, done: list[StepRun] | None = None
) -> None:
    """:func:`run_steps` for a scenario of offline steps: on the deployer's files alone."""
    with _Timeline(log, done) as timeline:
        for step in steps:
            timeline.run(step, functools.partial(OFFLINE_STEPS[step], spec))


class _Timeline:
    """The steps of one run as they go: each report into the log, each step timed (also one that fails or stops
    with an error), the timing recorded when the run ends however it ends."""

    def __init__(self, log: ScenarioLog, done: list[StepRun] | None) -> None:
        self.log, self.done, self.runs = log, done, list[StepRun]()
        self.begun, self.begun_at = time.monotonic(), time.time()

    def __enter__(self) -> _Timeline:
        return self

    def __exit__(self, *exc: object) -> None:
        record_timing(self.log, self.runs)

    def run(self, step: str, call: Callable[[], StepReport]) -> None:
        started, at = time.monotonic(), time.time()
        report = StepReport(failure="it stopped with an error")  # until it returns
        try:
            report = call()
        except NotApplicable:
            report = StepReport()  # the item is skipped: no failure of the step
            raise
        finally:
            self.runs.append(StepRun(step, report, time.monotonic() - started, started - self.begun, at))
        self.log.add(report)
        if self.done is not None:
            self.done.append(self.runs[-1])
        if report.failure is not None:
            raise StepFailed(self.log.mask(report.failure))
