"""The steps a scenario is made of. Each takes the running deployment and records what it saw."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.errors import CheckBroken, HarnessError
from harness.state.diff import StateDiff

if TYPE_CHECKING:
    from harness.deployment import Deployment
    from harness.k8s.manifest import Manifest


class StepFailed(Exception):
    """A step's verdict is negative; the message is the report."""


@dataclass
class ScenarioLog:
    """What the steps found, for the pytest report, JUnit properties and the terminal summary."""

    properties: list[tuple[str, str]] = field(default_factory=list)
    sections: list[tuple[str, str]] = field(default_factory=list)

    def record(self, name: str, value: object) -> None:
        self.properties.append((name, str(value)))


def apply(deployment: Deployment, log: ScenarioLog) -> None:
    _apply(deployment, log, "current")


def apply_previous(deployment: Deployment, log: ScenarioLog) -> None:
    """The previous version (git, or the spec's ref or image), its image and manifest, as a rollback deploys it."""
    previous = deployment.previous
    if not any(label == "previous" for label, _ in deployment.stamps):
        log.record("previous", previous.description)
    _apply(deployment, log, "previous", previous.image, previous.manifest)


def _apply(
    deployment: Deployment, log: ScenarioLog, version: str, image: str | None = None, manifest: Manifest | None = None
) -> None:
    result = deployment.apply(image, manifest)
    number = len(deployment.runs)
    log.record(f"apply{number}", f"{version}: {result.summary()}")
    log.sections.append((f"apply {number} ({version}): deployer log", result.describe()))
    if not result.succeeded:
        raise StepFailed(f"apply {number} ({version} version) failed\n{result.describe()}")
    deployment.stamps.append((version, deployment.read_stamps()))
    deployment.state.derive_watch()  # after the first apply: what it touched is what the deployer manages
    for machine, derived in deployment.state.derived.items() if number == 1 else ():
        log.record("watched", f"{machine}: {len(derived.paths)} path(s), {len(derived.units)} unit(s) derived")
        log.sections.append((f"watched on {machine}", derived.describe()))


def snapshot(deployment: Deployment, log: ScenarioLog) -> None:
    taken = deployment.state.snapshot()
    number = len(deployment.state.snapshots)
    sizes = ", ".join(
        f"{name}: {len(s.files)} files, {len(s.units)} units in {s.seconds * 1000:.0f} ms" for name, s in taken.items()
    )
    log.record(f"snapshot{number}", sizes)


def scan(deployment: Deployment, log: ScenarioLog) -> None:
    taken = deployment.state.scan()
    number = len(deployment.state.scans)
    sizes = ", ".join(f"{n}: {len(s.files)} files, {len(s.units)} units in {s.seconds:.1f} s" for n, s in taken.items())
    log.record(f"scan{number}", sizes)


def expect_clean_rollback(deployment: Deployment, log: ScenarioLog) -> None:
    """The last two scans: after the previous version, and after it again once the current one ran. What the
    current version left behind fails (unless the spec allows it), and the version stamp must say previous."""
    from harness.rollback.report import classify, judge_stamp

    state, spec = deployment.state, deployment.spec
    before, after = state.scans[-2], state.scans[-1]  # load_scenario asks for two scans before this step
    diff = state.diff(before, after)
    report = classify(diff, spec.rollback.allow)
    stamps = deployment.stamps
    previous = [found for version, found in stamps if version == "previous"]
    current = [found for version, found in stamps if version == "current"]
    if previous:
        line, failed = judge_stamp(spec.rollback.stamp, previous[0], current[-1] if current else {}, previous[-1])
        report.stamp, report.stamp_failed = state.mask(line), failed
    log.record("rollback", report.summary())
    for line in report.lines():
        log.record("leftover", line)
    kept = [*report.leftovers, *report.differences, *report.allowed]
    log.record("rollback_data", json.dumps(StateDiff(kept).to_data(), separators=(",", ":")))
    if kept:
        log.sections.append(("what the rollback left", StateDiff(kept).render()))
    if report.failed:
        lines = "\n".join(report.lines())
        raise StepFailed(f"the rollback to the previous version is not clean: {report.summary()}\n{lines}")


def expect_no_diff(deployment: Deployment, log: ScenarioLog) -> None:
    """The last two snapshots must be equal; side effects that left them equal are findings."""
    snapshots = deployment.state.snapshots  # two at least: load_scenario refuses a scenario with fewer
    if not deployment.state.comparable(-2, -1):
        raise HarnessError(
            "`expect-no-diff` compares two snapshots that watched different things: the first was taken before the"
            " first apply, when what the deployer manages was not yet derived",
            fix="take both snapshots after an `apply`, or name the watched paths in the spec's `state:`",
        )
    diff = deployment.state.diff(snapshots[-2], snapshots[-1])
    policy = deployment.spec.findings
    diff.changes = [c for c in diff.changes if not c.finding or policy[c.kind] != "ignore"]
    log.record("diff", diff.stat())
    log.record("diff_data", json.dumps(diff.to_data(), separators=(",", ":")))
    for finding in diff.findings:
        log.record("finding", f"{policy[finding.kind]}: {finding.line()}")
    failing_findings = [f for f in diff.findings if policy[f.kind] == "fail"]
    if diff.state_changes or failing_findings:
        what = "the state changed" if diff.state_changes else "side effects the spec fails on"
        raise StepFailed(
            f"{what} between snapshot {len(snapshots) - 1} and snapshot {len(snapshots)}:\n{diff.render()}"
        )
    if diff:  # findings that only warn: the test passes, the report shows them
        log.sections.append(("state diff", diff.render()))


def expect_untargeted_unchanged(deployment: Deployment, log: ScenarioLog) -> None:
    """DaemonSets: nodes the daemon does not run on must look exactly as before the first apply."""
    info = _daemonset_only(deployment, "expect-untargeted-unchanged")
    untargeted = [name for name, node in info["nodes"].items() if not node["scheduled"]]
    state = deployment.state
    if not state.pristine:
        raise HarnessError(
            "`expect-untargeted-unchanged` has no pristine scan", fix="give the spec `state: {derive: true}`"
        )
    now = state.rescan(untargeted)
    diff = state.diff({n: state.pristine[n] for n in untargeted}, now)
    log.record("untargeted", f"{', '.join(untargeted) or 'none'}: {'unchanged' if not diff else 'CHANGED'}")
    if diff:  # any change at all, a rewrite or a restart too, is the daemon reaching where it should not
        raise StepFailed(f"nodes the DaemonSet does not target changed:\n{diff.render()}")


def apply_new_image(deployment: Deployment, log: ScenarioLog) -> None:
    """DaemonSets: build the deployer's image again as a new image and roll it out node by node."""
    _daemonset_only(deployment, "apply-new-image")
    image = deployment.bench.deployer_image(deployment.spec, revision=f"rollout-{len(deployment.runs) + 1}")
    result = deployment.apply(image)
    log.record("rollout", result.summary())
    log.sections.append(("rollout of a new image", result.describe()))
    if not result.succeeded:
        raise StepFailed(f"the new image did not roll out\n{result.describe()}")
    stale = [node for node, (_, running) in deployment.daemon_pods().items() if running != image]
    if stale:
        raise StepFailed(f"pods on {', '.join(stale)} still run the old image after the rollout")


def _daemonset_only(deployment: Deployment, step: str) -> dict[str, Any]:
    info = deployment.cluster_info()
    if info is None:
        raise HarnessError(
            f"`{step}` is a DaemonSet step, and {deployment.spec.name} runs a Job",
            fix="give the scenario `workload: daemonset`",
        )
    return info


def drift(deployment: Deployment, log: ScenarioLog) -> None:
    """Every mutation derived from the last snapshot (the converged host): the drift check must name it, and a
    new apply (or a DaemonSet's own loop) must bring the host back to that snapshot."""
    from harness.drift.suite import run_drift
    from harness.drift.targets import drift_run, plan

    state = deployment.state
    converged, mutations = plan(deployment, state.snapshots[-1])  # load_scenario asks for a snapshot before it
    run = drift_run(deployment, converged, state.watches[-1])
    try:
        report = run_drift(run, converged, mutations)
    except CheckBroken as exc:
        raise StepFailed(str(exc)) from None
    log.record("drift", report.summary())
    log.record("drift_matrix", report.table(state.mask))
    log.record("drift_data", json.dumps(report.to_data(state.mask), separators=(",", ":")))
    if not report.has_check:
        log.sections.append(("drift", "no drift check: give the spec `drift.manifest` or `drift.command`"))
    elif run.reports_healing:
        log.record("drift_check", "the pods' own logs, which must name what they repaired")
    unnamed = [r for r in report.rows if r.failed and r.check_output][:3]
    for row in unnamed:  # what the check printed, for the first few it did not name
        log.sections.append((state.mask(f"drift check output after {row.mutation.id}"), state.mask(row.check_output)))
    if report.failures:
        raise StepFailed(f"{report.summary()}\n{report.table(state.mask)}")


def verify(deployment: Deployment, log: ScenarioLog) -> None:
    from harness.verify import verify as run_checks

    workdir = deployment.bench.workdir / f"verify-{deployment.spec.name}-{len(log.properties)}"
    docker_nodes = deployment.kind.nodes if deployment.kind is not None else None
    result = run_checks(deployment.spec, deployment.machines, workdir, deployment.cluster_info(), docker_nodes)
    log.record("verify", result.summary())
    if not result.passed:
        raise StepFailed(result.describe())


STEPS: dict[str, Callable[[Deployment, ScenarioLog], None]] = {
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
}
NEEDS_STATE = {"snapshot", "scan", "expect-untargeted-unchanged"}


def run_steps(deployment: Deployment, steps: tuple[str, ...], log: ScenarioLog) -> None:
    """Run the steps in order; record how long each took, also when one fails."""
    timings: list[str] = []
    if NEEDS_STATE & set(steps):
        started = time.monotonic()
        deployment.state.scan_pristine()  # the first apply's changes are derived against this
        timings.append(f"pristine scan {time.monotonic() - started:.1f} s")
    try:
        for step in steps:
            started = time.monotonic()
            try:
                STEPS[step](deployment, log)
            finally:
                timings.append(f"{step} {time.monotonic() - started:.1f} s")
    finally:
        log.record("timing", ", ".join(timings))
