"""Idempotency: snapshots of what the deployer manages, and two of them that must be equal."""

from __future__ import annotations

import json

from harness.checks import report as r
from harness.checks.report import StepReport
from harness.deployment import Deployment
from harness.errors import HarnessError


def snapshot(deployment: Deployment) -> StepReport:
    taken = deployment.state.snapshot()
    number = len(deployment.state.snapshots)
    history = deployment.history
    deployment.faults.snapshot_taken(number - 1, bool(history) and history[-1].result.succeeded)
    sizes = ", ".join(
        f"{name}: {len(s.files)} files, {len(s.units)} units in {s.seconds * 1000:.0f} ms" for name, s in taken.items()
    )
    return StepReport([(f"{r.SNAPSHOT}{number}", sizes)])


def expect_no_diff(deployment: Deployment) -> StepReport:
    """The last two snapshots must be equal; side effects that left them equal are findings."""
    state = deployment.state
    snapshots = state.snapshots  # two at least: load_scenario refuses a scenario with fewer
    if not state.comparable(-2, -1):
        raise HarnessError(
            "`expect-no-diff` compares two snapshots that watched different things: the first was taken before the"
            " first apply, when what the deployer manages was not yet derived",
            fix="take both snapshots after an `apply`, or name the watched paths in the spec's `state:`",
        )
    diff = state.diff(snapshots[-2], snapshots[-1])
    policy = deployment.spec.findings
    diff.changes = [c for c in diff.changes if not c.finding or policy[c.kind] != "ignore"]
    report = StepReport()
    report.add(r.DIFF, diff.stat())
    report.add(r.DIFF_DATA, json.dumps(diff.to_data(), separators=(",", ":")))
    for finding in diff.findings:
        report.add(r.FINDING, f"{policy[finding.kind]}: {finding.line()}")
    failing_findings = [f for f in diff.findings if policy[f.kind] == "fail"]
    if diff.state_changes or failing_findings:
        what = "the state changed" if diff.state_changes else "side effects the spec fails on"
        count = len(snapshots)
        report.failure = f"{what} between snapshot {count - 1} and snapshot {count}:\n{diff.render()}"
    elif diff:  # findings that only warn: the test passes, the report shows them
        report.section("state diff", diff.render())
    return report
