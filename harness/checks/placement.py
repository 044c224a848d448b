"""DaemonSets: the daemon stays off the nodes it does not target, and a new image rolls out everywhere.

These steps are for scenarios with `workload: daemonset` (:mod:`harness.scenario.model` says so).
"""

from __future__ import annotations

from harness.checks import report as r
from harness.checks.report import StepReport
from harness.deployment import Deployment
from harness.errors import HarnessError
from harness.workloads import Placement, Version


def expect_untargeted_unchanged(deployment: Deployment) -> StepReport:
    """Nodes the daemon does not run on must look exactly as before the first apply."""
    placements = deployment.workload.placements()
    untargeted = [name for name, p in placements.items() if not p.targeted]
    if len(untargeted) == len(placements):  # it runs nowhere: nothing changes, and nothing is configured either
        return StepReport(
            [(r.UNTARGETED, f"{', '.join(untargeted)}: the DaemonSet targets none of them")],
            failure=targets_nothing(deployment, placements),
        )
    state = deployment.state
    if not state.pristine:
        raise HarnessError(
            "`expect-untargeted-unchanged` has no pristine scan", fix="give the spec `state: {derive: true}`"
        )
    diff = state.diff({n: state.pristine[n] for n in untargeted}, state.rescan(untargeted))
    report = StepReport()
    report.add(r.UNTARGETED, f"{', '.join(untargeted) or 'none'}: {'unchanged' if not diff else 'CHANGED'}")
    if diff:  # any change at all, a rewrite or a restart too, is the daemon reaching where it should not
        report.failure = f"nodes the DaemonSet does not target changed:\n{diff.render()}"
    return report


def targets_nothing(deployment: Deployment, placements: dict[str, Placement]) -> str:
    """The rules and the nodes side by side, so the mismatch shows."""
    info = deployment.workload.cluster_info() or {"nodes": {}}
    daemonset = deployment.manifest.daemonset
    rules = daemonset.pod.placement.describe() if daemonset is not None else "its rules"
    lines = [f"the DaemonSet's rules match none of the cluster's {len(placements)} node(s), so it runs nowhere:"]
    lines.append(f"  rules: {rules}")
    for name, placement in placements.items():
        node = info["nodes"].get(name, {})
        labels = ", ".join(f"{k}={v}" for k, v in sorted(node.get("labels", {}).items())) or "none"
        taints = f"; taints: {', '.join(node['taints'])}" if node.get("taints") else ""
        lines.append(f"  {name}: {placement.reason} (labels: {labels}{taints})")
    lines.append(
        f"  fix: match the nodeSelector, affinity and tolerations in {deployment.spec.manifest} to the nodes, or"
        f" give the nodes those labels in {deployment.spec.path} (`cluster.nodes`)"
    )
    return "\n".join(lines)


def apply_new_image(deployment: Deployment) -> StepReport:
    """Build the deployer's image again as a new image and roll it out node by node."""
    name = f"rollout-{len(deployment.history) + 1}"
    version = Version(name, deployment.bench.deployer_image(deployment.spec, revision=name), deployment.manifest)
    result = deployment.apply(version)
    report = StepReport([(r.ROLLOUT, result.summary())])
    if not result.succeeded:
        report.failure = f"the new image did not roll out\n{result.describe()}"
        return report
    report.section("rollout of a new image", result.describe())
    placed = deployment.workload.placements().values()
    stale = [p.machine for p in placed if p.pod is not None and p.image != version.image]
    if stale:
        report.failure = f"pods on {', '.join(stale)} still run the old image after the rollout"
    return report
