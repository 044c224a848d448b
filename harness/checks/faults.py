"""Fault steps: strike the scenario's next fault, heal them all, and what a deployer must do when one struck: fail
and say so, leave the host as it was, and converge once the world is whole again."""

from __future__ import annotations

import json

from harness.checks import report as r
from harness.checks.report import StepReport
from harness.deployment import Applied, Deployment
from harness.errors import HarnessError, NotApplicable
from harness.faults.spec import NO_WORLD, OUTAGE, FaultSpec
from harness.state.diff import StateDiff


def fault(deployment: Deployment) -> StepReport:
    faults, state = deployment.faults, deployment.state
    first = faults.snapshots_before is None
    upcoming = faults.pending[0] if faults.pending else None
    if upcoming is not None and upcoming.after_log is not None and deployment.spec.workload != "job":
        raise HarnessError(
            "a fault's `after_log` follows a Job's pods, and a DaemonSet's pods run inside its nodes",
            fix="strike the fault between applies (without `after_log`)",
        )
    if first and upcoming is not None and upcoming.kind == OUTAGE:
        unused = _outage_unused(deployment, upcoming)
        if unused:
            raise NotApplicable(unused)
    elif first and _no_remote_commands(deployment):
        raise NotApplicable(
            "its first apply logged in to none of its machines over SSH: a fault in the world around SSH does not "
            "concern it"
        )
    line = faults.strike_next(len(state.snapshots))
    if first and faults.struck_now_everywhere_reachable():  # the host as the fault left it: what is compared
        state.snapshot()
        faults.snapshots_before = len(state.snapshots)
    return StepReport([(r.FAULT, line)])


def _no_remote_commands(deployment: Deployment) -> bool:
    """A Job whose first apply logged in to none of its machines (sshd counts logins of every user; the journal
    records root's sessions)."""
    if deployment.spec.workload != "job" or not deployment.history:
        return False
    first = deployment.history[0]
    return not any(first.journal.values()) and not first.ssh_logins


def _outage_unused(deployment: Deployment, outage: FaultSpec) -> str | None:
    """Why an outage cannot concern the deployer: its first apply downloaded none of what the outage takes (by the
    URL as mapped: a mapping without a query serves every query)."""
    asked = deployment.history[0].world if deployment.history else None
    if asked is None:
        return NO_WORLD
    served = {e.key or e.url for e in asked if e.kind == "http" and e.mapped}
    taken = served & set(outage.urls) if outage.urls else served
    if not taken:
        what = "any of the outage's URLs" if outage.urls else "anything the world serves"
        return f"its first apply did not download {what}: an outage of the world does not concern it"
    return None


def heal(deployment: Deployment) -> StepReport:
    healed = deployment.faults.heal()
    return StepReport([(r.HEALED, "; ".join(healed) or "nothing to heal")])


def _not_met(deployment: Deployment) -> str | None:
    """Why the last apply never met the fault, if it did not: one armed for it that never struck, or, when it
    succeeded, outages of URLs it never asked for (a converged deployer may skip its download)."""
    last, number = deployment.history[-1], len(deployment.history)
    if last.fault is not None and not last.fault.struck:
        return last.fault.line
    active = deployment.faults.active
    outages_only = bool(active) and all(s.spec.kind == OUTAGE for s in active)
    if outages_only and last.result.succeeded and last.world is not None and not any(e.outage for e in last.world):
        return f"{_struck(deployment)}: apply {number} asked the world for nothing the outage takes"
    return None


def _struck(deployment: Deployment) -> str:
    last = deployment.history[-1]
    return last.fault.line if last.fault else "; ".join(s.spec.describe() for s in deployment.faults.active)


def expect_apply_failed(deployment: Deployment) -> StepReport:
    """The last apply, made while a fault struck, must have failed: a Job that says Complete while its host was
    unreached, or left half-done, tells its operators a lie."""
    report = StepReport()
    if not deployment.history:
        report.failure = "`expect-apply-failed` comes before any apply"
        return report
    missed = _not_met(deployment)
    if missed is not None:
        return StepReport([(r.FAULT, f"{missed}: nothing to expect")])
    exit_verdict(report, deployment.history[-1], len(deployment.history), _struck(deployment) or "no fault")
    return report


def exit_verdict(report: StepReport, applied: Applied, number: int, struck: str) -> None:
    """An apply made while a fault struck must have failed: its failure, or that it failed as it must."""
    if applied.result.succeeded:
        report.failure = (
            f"apply {number} reported success although a fault struck ({struck}): a Job that exits 0 with a host "
            f"unreached or half-done hides it from whoever runs it\n{applied.result.describe()}"
        )
    else:
        report.add(r.APPLY_FAILED, f"apply {number} failed, as it must: {applied.result.summary()}")


def expect_host_unchanged(deployment: Deployment) -> StepReport:
    """After a failed apply: the host as it was before the first fault, or what the apply left half-done."""
    before = deployment.faults.snapshots_before
    if not before:
        return StepReport(failure="`expect-host-unchanged` needs a `snapshot` before the `fault` step")
    missed = _not_met(deployment)
    if missed is not None:
        return StepReport([(r.FAULT, f"{missed}: nothing to compare")])
    deployment.state.snapshot()
    return _compare(deployment, before - 1, "the host after the failed apply differs from before the fault")


def expect_failed_or_unchanged(deployment: Deployment) -> StepReport:
    """The last apply met a fault: it failed (what it left is shown), or it left the host as it was before the
    fault. A Job that reports success while the host changed tells its operators the install worked when the host
    lacks it: an error page saved as the binary, a config half-written."""
    state, faults = deployment.state, deployment.faults
    before = faults.snapshots_before
    if not before:
        return StepReport(failure="`expect-failed-or-unchanged` needs a `snapshot` before the `fault` step")
    missed = _not_met(deployment)
    if missed is not None:
        return StepReport([(r.FAULT, f"{missed}: nothing to expect")])
    last, number = deployment.history[-1], len(deployment.history)
    if not last.result.succeeded:
        report = StepReport([(r.APPLY_FAILED, f"apply {number} failed, and said so: {last.result.summary()}")])
        if all(faults.reachable(name) for name in state.runners):  # what it left half-done, for the reader
            state.snapshot()
            shown = _compare(deployment, before - 1, f"apply {number} left")
            report.properties += shown.properties
            left = shown.failure or "no change"
            report.sections.append((f"apply {number} left (the Job failed and said so: not a finding)", left))
        return report
    state.snapshot()
    return _compare(
        deployment,
        before - 1,
        f"apply {number} reported success while a fault struck ({_struck(deployment)}), and the host differs from "
        "before: whoever runs it would believe the host configured",
    )


def expect_converges_on_rerun(deployment: Deployment) -> StepReport:
    """Once healed and applied again, the host is the converged one: as the first snapshot after a successful
    apply, before any fault, saw it."""
    converged = deployment.faults.converged_snapshot
    if converged is None:
        return StepReport(
            failure="`expect-converges-on-rerun` needs a `snapshot` after a successful apply, before the `fault`"
        )
    report = StepReport()
    if deployment.history and not deployment.history[-1].result.succeeded:
        report.failure = f"the apply after the fault did not succeed\n{deployment.history[-1].result.describe()}"
        return report
    deployment.state.snapshot()
    return _compare(deployment, converged, "the host did not converge again after the fault")


def _compare(deployment: Deployment, index: int, what: str) -> StepReport:
    state = deployment.state
    if not state.comparable(index, -1):
        raise HarnessError(
            "the snapshots compared watched different things: the earlier was taken before the first apply, when"
            " what the deployer manages was not yet derived",
            fix="take the snapshot after an `apply`, or name the watched paths in the spec's `state:`",
        )
    diff = state.diff(state.snapshots[index], state.snapshots[-1])
    diff.changes = [c for c in diff.changes if not deployment.faults.own_change(c)]
    report = StepReport()
    report.add(r.DIFF, diff.stat())
    kept = StateDiff(diff.state_changes)
    report.add(r.DIFF_DATA, json.dumps(kept.to_data(), separators=(",", ":")))
    if diff.state_changes:
        report.failure = f"{what}:\n{kept.render()}"
    return report
