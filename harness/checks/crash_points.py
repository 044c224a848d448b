"""Crash points (a step): the deployer's connection cut right after its kth remote command, on a pristine machine,
then a full apply, which must bring the converged host.

Each point runs on machines of its own, new from their kind's image (the pristine host the first apply met), side
by side on as many lanes as the drift suite uses. The cut is the journal's: every command after the kth is refused
and its connection dropped, as a crashed host's would be, on that machine alone.

New machines are not the deployment's: they have other addresses, and a deployer may write what it generates. So
one control runs first, a full apply on new machines with no cut: what differs between it and the converged host
differs between any two clean applies, and is not held against a point.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from harness import progress
from harness.checks import report as r
from harness.checks.report import StepReport
from harness.deployment import Deployment
from harness.hosts.journal import close_journal, open_journal
from harness.state.command import Watch
from harness.state.diff import Change, StateDiff
from harness.state.model import Snapshot
from harness.state.tracker import StateTracker
from harness.testbed import Testbed

Snapshots = dict[str, Snapshot]


@dataclass(frozen=True)
class PointRun:
    """What one point's machines went through: the cut apply, the full apply after it, and the host after each."""

    cut_succeeded: bool
    refused: int  # commands the cut refused
    after_cut: Snapshots
    rerun_succeeded: bool
    after_rerun: Snapshots
    seconds: float


@dataclass(frozen=True)
class CrashPoint:
    machine: str
    k: int  # cut right after this remote command
    command: str  # the kth command, as the first apply sent it
    run: PointRun
    diff: (
        StateDiff  # the host after the full apply against the converged one, what two clean applies differ in left out
    )
    cut_diff: StateDiff  # the host right after the cut, likewise

    @property
    def said_complete(self) -> bool:
        """The cut Job said Complete although a command was refused and the host is not the converged one: a
        deployer that tolerates a refused cleanup, and got everything done, is not lying."""
        return self.run.cut_succeeded and self.run.refused > 0 and bool(self.cut_diff.state_changes)

    @property
    def wrong(self) -> bool:
        return not self.run.rerun_succeeded or bool(self.diff.state_changes)

    def line(self, mask: Callable[[str], str]) -> str:
        verdicts = []
        if self.said_complete:
            verdicts.append(
                f"the cut Job said Complete with {self.run.refused} command(s) refused, the host unfinished"
            )
        if not self.run.rerun_succeeded:
            verdicts.append("the apply after it failed")
        elif self.diff.state_changes:
            verdicts.append(f"the host is wrong after a full apply: {self.diff.stat()}")
        command = mask(self.command)
        shown = command if len(command) <= 60 else command[:57] + "..."
        verdict = "; ".join(verdicts) or "converged"
        return f"{self.machine} k={self.k} [{shown!r}]: {verdict} ({self.run.seconds:.1f} s)"


def crash_points(deployment: Deployment, lanes: int) -> tuple[list[CrashPoint], StateDiff]:
    """Every point of the first apply's journal, in order of machine and k, and what the control differs in."""
    first = deployment.history[0].journal
    points = [(machine, k, cmds[k - 1].command) for machine, cmds in first.items() for k in range(1, len(cmds) + 1)]
    converged, watches = deployment.state.snapshots[-1], deployment.state.watches[-1]
    with ThreadPoolExecutor(max_workers=max(1, lanes), thread_name_prefix="crash-point") as pool:
        futures: list[Future[PointRun]] = []
        try:
            control = pool.submit(_run_point, deployment, None, 0, watches)
            for machine, k, _ in points:
                futures.append(pool.submit(_run_point, deployment, machine, k, watches))
            control_run = control.result()
            runs = []
            for future in futures:
                runs.append(future.result())
                progress.report(f"crash points {len(runs)}/{len(futures)}")
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    if not control_run.rerun_succeeded:
        raise StepError("a full apply on new machines (the control, no cut) failed: no point can be judged")
    tracker = deployment.state
    noise = tracker.diff(converged, control_run.after_rerun)
    unjudged = {_key(c) for c in noise.state_changes}

    def judged(after: Snapshots) -> StateDiff:
        return StateDiff([c for c in tracker.diff(converged, after).changes if _key(c) not in unjudged])

    found = [
        CrashPoint(machine, k, command, run, judged(run.after_rerun), judged(run.after_cut))
        for (machine, k, command), run in zip(points, runs, strict=True)
    ]
    return found, noise


class StepError(Exception):
    """The crash points could not be judged."""


def _key(change: Change) -> tuple[str, str, str]:
    return change.machine, change.section, change.item


def _run_point(deployment: Deployment, machine: str | None, k: int, watches: dict[str, Watch]) -> PointRun:
    """New machines; the cut apply (none for the control), a snapshot, a full apply, a snapshot."""
    started = time.monotonic()
    spec = deployment.spec
    testbed = Testbed(deployment.bench, f"{spec.name}-crash", key=deployment.testbed.key)
    workload = deployment.workload.moved_to(testbed)
    try:
        workload.start()
        tracker = StateTracker(testbed.runners(), spec.state, deployment.secrets.mask)
        refused, cut_succeeded, after_cut = 0, True, {}
        if machine is not None:
            target = testbed.machines[machine]
            open_journal(target.run_script, cut_after=k)
            cut_succeeded = workload.apply(deployment.current).succeeded
            refused = sum(1 for command in close_journal(target.run_script, target.own_client) if command.cut)
            after_cut = tracker.take(watches)
        rerun = workload.apply(deployment.current)
        after_rerun = tracker.take(watches)
    finally:
        workload.close()
        testbed.close()
    return PointRun(cut_succeeded, refused, after_cut, rerun.succeeded, after_rerun, time.monotonic() - started)


def crash_points_step(deployment: Deployment) -> StepReport:
    """Every k of the first apply's remote commands, each machine in turn; fails on a k that leaves the host wrong
    after a full apply, or after which the cut Job said Complete with the host unfinished."""
    if not deployment.history or not deployment.state.snapshots:
        return StepReport(failure="`crash-points` needs a first `apply` and a `snapshot` of the converged host")
    first = deployment.history[0]
    if not any(first.journal.values()):
        logins = f" (sshd accepted {first.ssh_logins} logins: not root's?)" if first.ssh_logins else ""
        return StepReport(failure=f"the first apply ran no remote command the journal saw{logins}: no crash point")
    lanes = deployment.drift.lanes or deployment.bench.engine_cpus
    started = time.monotonic()
    try:
        points, noise = crash_points(deployment, lanes)
    except StepError as exc:
        return StepReport(failure=str(exc))
    return _report(deployment, points, noise, lanes, time.monotonic() - started)


def _report(deployment: Deployment, points: list[CrashPoint], noise: StateDiff, lanes: int, took: float) -> StepReport:
    wrong = [p for p in points if p.wrong]
    lied = [p for p in points if p.said_complete]
    cost = sum(p.run.seconds for p in points) / len(points) if points else 0.0
    report = StepReport()
    report.add(
        r.CRASH_POINTS,
        f"{len(points)} points on {lanes} lane(s) in {took:.0f} s ({cost:.1f} s a point): {len(wrong)} leave the "
        f"host wrong after a full apply, {len(lied)} said Complete with the host unfinished",
    )
    if noise.state_changes:
        report.add(r.CRASH_POINTS, f"not judged, as two clean applies on new machines differ in them: {noise.stat()}")
    mask = deployment.secrets.mask
    for point in points:
        report.add(r.CRASH_POINT, point.line(mask))
    bad = [p for p in points if p.wrong or p.said_complete]
    if bad:
        details = "\n".join(p.line(mask) + ("\n" + p.diff.render() if p.diff.state_changes else "") for p in bad)
        report.failure = f"{len(bad)} of {len(points)} crash points fail:\n{details}"
    return report
