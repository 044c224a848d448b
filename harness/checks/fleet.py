"""A fleet with one host down: which hosts the apply made during the fault converged, and whether its exit code
told the truth.

The step reads the last four whole-host scans, as ``scenarios/host-down.yaml`` takes them: before anything ran,
after the apply with a host down, after the apply once it was back, and after one more apply. A reachable host
converged during the fault when the apply once healed changed nothing there that the last apply did not change too
(what an apply changes on a converged host, a restart or a timestamp, is not a host left unconfigured), among what
the deployer manages (what its first successful apply touched on any host).
"""

from __future__ import annotations

import fnmatch

from harness.checks import report as r
from harness.checks.faults import exit_verdict
from harness.checks.report import StepReport
from harness.deployment import Deployment
from harness.errors import NotApplicable
from harness.state.derive import at_or_below
from harness.state.diff import Change, StateDiff
from harness.state.model import Snapshot
from harness.state.tracker import StateTracker

Managed = tuple[tuple[str, ...], tuple[str, ...]]  # paths, units

SCANS = 4  # before, during the fault, once healed, once more
APPLIES = 3  # during the fault, once healed, once more


def expect_others_converged(deployment: Deployment) -> StepReport:
    state, history = deployment.state, deployment.history
    down = deployment.faults.struck_machines
    if len(state.scans) < SCANS or len(history) < APPLIES or not down:
        return StepReport(failure="`expect-others-converged` follows host-down's steps: a fault, 3 applies, 4 scans")
    scans = state.scans[-SCANS:]
    before, during = scans[0], scans[1]
    faulted, number = history[-APPLIES], len(history) - APPLIES + 1
    healed_apply = history[-APPLIES + 1]
    if not any(healed_apply.journal.get(machine) for machine in down):  # a machine it does not configure
        raise NotApplicable(
            f"its apply once {', '.join(down)} was back logged in to none of it: one host down among several "
            "concerns the hosts a deployer configures"
        )
    managed = _managed(deployment)
    ours = deployment.faults.made_by_any  # sshd stopped is the fault's doing, not the deployer's
    report = StepReport()
    unconfigured: list[str] = []
    for machine in state.runners:
        if machine in down:
            diff = state.diff({machine: before[machine]}, {machine: during[machine]})
            touched = [c for c in _watched(diff, managed) if not ours(c)]
            line = "unreached, left as it was" if not touched else f"unreached, yet {len(touched)} item(s) changed"
        else:
            left = _left(state, machine, scans, managed)
            if left:
                unconfigured.append(machine)
                shown = ", ".join(f"{c.section} {c.item}" for c in left[:5]) + (", ..." if len(left) > 5 else "")
                line = f"not converged: the apply once {', '.join(down)} was back still changed {shown}"
            else:
                line = "converged"
        report.add(r.HOST_DOWN, f"{machine}: {line}")
    reached = [m for m in state.runners if m not in down]
    if unconfigured:
        report.add(
            r.FINDING,
            f"warn: host-down: {', '.join(unconfigured)} of {len(reached)} reachable host(s) not configured while "
            f"{', '.join(down)} was down: the host that could not be reached stopped their apply, or their "
            "configuration needs it",
        )
    struck = "; ".join(strike.line for strike in deployment.faults.history)
    exit_verdict(report, faulted, number, struck)
    return report


def _managed(deployment: Deployment) -> Managed:
    """Paths and units the deployer manages on any host: each host's watch, together."""
    watches = [deployment.state.watch(machine) for machine in deployment.state.runners]
    return tuple({p for w in watches for p in w.paths}), tuple({u for w in watches for u in w.units})


def _watched(diff: StateDiff, managed: Managed) -> list[Change]:
    paths, units = managed
    kept = []
    for change in diff.state_changes:
        if change.section == "unit":
            if any(fnmatch.fnmatchcase(change.item, unit) for unit in units):
                kept.append(change)
        elif change.section == "file":
            if any(at_or_below(change.item, path) for path in paths):
                kept.append(change)
        else:  # packages, users, groups, cron, kernel parameters: what any apply of it installs or sets
            kept.append(change)
    return kept


def _left(state: StateTracker, machine: str, scans: list[dict[str, Snapshot]], managed: Managed) -> list[Change]:
    """What the apply once healed changed on a reachable host, less the same change that one more apply makes there
    too (a timestamp, a restart); what it added or removed is never that."""
    _, during, healed, again = (scan[machine] for scan in scans)
    after_fault = _watched(state.diff({machine: during}, {machine: healed}), managed)
    noise = {(c.section, c.item, c.kind) for c in _watched(state.diff({machine: healed}, {machine: again}), managed)}
    return [c for c in after_fault if c.kind in ("added", "removed") or (c.section, c.item, c.kind) not in noise]
