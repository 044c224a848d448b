"""Rollback: apply the previous version, the current one, the previous one again; what the current version left
behind fails (unless the spec allows it), and the version stamp must say previous."""

from __future__ import annotations

import json

from harness.checks import report as r
from harness.checks.converge import applied
from harness.checks.report import StepReport
from harness.deployment import Deployment
from harness.rollback.report import classify, judge_stamp
from harness.state.diff import StateDiff


def apply_previous(deployment: Deployment) -> StepReport:
    """The previous version (git, or the spec's ref or image), its image and manifest, as a rollback deploys it."""
    version, description = deployment.previous
    first = not any(a.version.label == "previous" for a in deployment.history)
    report = applied(deployment, version)
    if first:
        report.properties.insert(0, (r.PREVIOUS, description))
    return report


def scan(deployment: Deployment) -> StepReport:
    taken = deployment.state.scan()
    number = len(deployment.state.scans)
    sizes = ", ".join(f"{n}: {len(s.files)} files, {len(s.units)} units in {s.seconds:.1f} s" for n, s in taken.items())
    return StepReport([(f"{r.SCAN}{number}", sizes)])


def expect_clean_rollback(deployment: Deployment) -> StepReport:
    """The last two scans: after the previous version, and after it again once the current one ran."""
    state, spec = deployment.state, deployment.spec
    before, after = state.scans[-2], state.scans[-1]  # load_scenario asks for two scans before this step
    found = classify(state.diff(before, after), spec.rollback.allow)
    previous = [a.stamps for a in deployment.history if a.version.label == "previous"]
    current = [a.stamps for a in deployment.history if a.version.label == "current"]
    if previous:
        line, failed = judge_stamp(spec.rollback.stamp, previous[0], current[-1] if current else {}, previous[-1])
        found.stamp, found.stamp_failed = state.mask(line), failed
    report = StepReport()
    report.add(r.ROLLBACK, found.summary())
    for line in found.lines():
        report.add(r.LEFTOVER, line)
    kept = [*found.leftovers, *found.differences, *found.allowed]
    report.add(r.ROLLBACK_DATA, json.dumps(StateDiff(kept).to_data(), separators=(",", ":")))
    if kept:
        report.section("what the rollback left", StateDiff(kept).render())
    if found.failed:
        lines = "\n".join(found.lines())
        report.failure = f"the rollback to the previous version is not clean: {found.summary()}\n{lines}"
    return report
