"""Converge: apply the deployer, then run its own testinfra tests against the machines."""

from __future__ import annotations

import docker

from harness.checks import report as r
from harness.checks.placement import targets_nothing
from harness.checks.report import StepReport, quoted_tail
from harness.cluster.rollout import Rollout
from harness.deployment import Deployment
from harness.errors import HarnessError
from harness.hosts.journal import summary
from harness.verify import verify as run_checks
from harness.workloads import Version
from harness.world.service import summary as world_summary


def apply(deployment: Deployment) -> StepReport:
    return applied(deployment, deployment.current)


def applied(deployment: Deployment, version: Version) -> StepReport:
    """Apply a version; after the first apply, what it touched is what the deployer manages."""
    result = deployment.apply(version)
    number = len(deployment.history)
    report = StepReport()
    logins, ran = deployment.history[-1].ssh_logins, result.ran_seconds
    ssh = f", {logins} SSH connection{'s' if logins != 1 else ''} by the deployer" if logins else ""
    pods = f", its pods ran {ran:.1f} s" if ran else ""
    if all(applied.version.image != version.image for applied in deployment.history[:-1]):  # its first apply
        image = deployment.image_id(version.image)
        report.add(r.IMAGE, f"{version.label}: {image}" + (f" ({version.image})" if version.image != image else ""))
    report.add(f"{r.APPLY}{number}", f"{version.label}: {result.summary()}{ssh}{pods}")
    settled = deployment.history[-1].fault
    if settled is not None:  # what the fault armed for this apply did
        report.add(r.FAULT, settled.line)
    asked = deployment.history[-1].world
    if asked is not None:
        report.add(f"{r.WORLD}{number}", world_summary(asked))
        if asked:
            lines = "\n".join(event.line() for event in asked)
            report.section(f"apply {number} ({version.label}): the world", deployment.secrets.mask(lines))
    for machine, commands in deployment.history[-1].journal.items():
        report.add(f"{r.JOURNAL}{number}", f"{machine}: {summary(commands)}")
        if commands:
            lines = "\n".join(command.line(deployment.secrets.mask) for command in commands)
            report.section(f"apply {number} ({version.label}): remote commands on {machine}", lines)
    if not result.succeeded and deployment.faults.striking():  # what to make of it is the expectation's to say
        report.section(f"apply {number} ({version.label}), a fault striking: deployer log", result.describe())
        return report
    if not result.succeeded:  # the log once: in the failure, which reaches JUnit too
        report.failure = f"apply {number} ({version.label} version) failed\n{result.describe()}"
        if isinstance(result, Rollout) and result.nowhere:  # the rules and the nodes side by side
            report.failure += "\n" + targets_nothing(deployment, deployment.workload.placements())
        return report
    report.section(f"apply {number} ({version.label}): deployer log", result.describe())
    first = not any(applied.result.succeeded for applied in deployment.history[:-1])  # a fault may fail apply 1
    if first:
        _derive(deployment, report)
    for machine, derived in deployment.state.derived.items() if first else ():
        report.add(r.WATCHED, f"{machine}: {len(derived.paths)} path(s), {len(derived.units)} unit(s) derived")
        report.section(f"watched on {machine}", derived.describe())
    return report


def verify(deployment: Deployment) -> StepReport:
    # The testbed's scope: two scenarios of one deployer may verify side by side.
    scope = deployment.testbed.ownership.scope
    workdir = deployment.bench.workdir / f"verify-{deployment.spec.name}-{scope}-{len(deployment.history)}"
    workload = deployment.workload
    result = run_checks(deployment.spec, workload.verify_targets(), workdir, workload.cluster_info())
    report = StepReport()
    report.add(r.VERIFY, result.summary())
    if not result.passed:
        report.failure = result.describe() + _pod_logs(deployment)
    return report


POD_LOG_LINES = 30


def _pod_logs(deployment: Deployment) -> str:
    """The daemon pods' logs beside the verdict, masked: an error such as "Failed to connect to bus" shows there."""
    try:
        logs = deployment.workload.pod_logs()
    except (HarnessError, OSError, docker.errors.APIError) as exc:  # the verdict stands without them
        return f"\n--- the daemon pods' logs could not be read: {exc}"
    parts = []
    for node, log in logs.items():
        quoted, count = quoted_tail(deployment.secrets.mask(log), POD_LOG_LINES)
        shown = f"last {POD_LOG_LINES} of {count} lines" if count > POD_LOG_LINES else f"{count} lines"
        parts += [f"\n--- the daemon pod on {node} logged ({shown}):", *quoted]
    return "\n".join(parts)


def _derive(deployment: Deployment, report: StepReport) -> None:
    """What the first apply touched becomes the watch, once it has finished: a DaemonSet's pods their first pass.
    Nodes that run the same pod template watch the same items (what was derived on any of them)."""
    workload, state = deployment.workload, deployment.state
    signal = workload.first_pass()  # also when nothing is derived: the steps after it see a configured node
    if not state.pristine or state.derived:  # nothing to derive (`state.derive: false`, or no snapshot asked)
        return
    state.derive_watch()
    if signal is not None:
        report.add(r.DERIVED_AFTER, signal)
    if deployment.spec.workload == "daemonset":
        state.share_watch([name for name, placement in workload.placements().items() if placement.targeted])
