"""Crash points (a step): the deployer's connection cut right after its kth remote command, on a pristine machine,
then a full apply, which must bring the converged host.

Each point runs on machines of its own, new from their kind's image (the pristine host the first apply met), side
by side on as many lanes as the drift suite uses. The cut is the journal's: every command after the kth is refused
and its connection dropped, as a crashed host's would be, on that machine alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from harness.checks import report as r
from harness.checks.report import StepReport
from harness.deployment import Deployment
from harness.hosts.journal import RemoteCommand, close_journal, open_journal
from harness.state.command import Watch
from harness.state.diff import StateDiff
from harness.state.model import Snapshot
from harness.state.tracker import StateTracker
from harness.testbed import Testbed


@dataclass(frozen=True)
class CrashPoint:
    machine: str
    k: int  # cut right after this remote command
    command: str  # the kth command, as the first apply sent it
    cut_job: str  # the cut apply's Job summary
    said_complete: bool  # the cut apply's Job reported success although a command was refused
    refused: int  # commands the cut refused
    rerun_ok: bool  # the full apply after it succeeded
    diff: StateDiff  # the host after the full apply against the converged one (empty: converged)
    seconds: float

    @property
    def wrong(self) -> bool:
        return not self.rerun_ok or bool(self.diff.state_changes)

    def line(self, mask: Callable[[str], str]) -> str:
        verdicts = []
        if self.said_complete:
            verdicts.append(f"the cut Job said Complete with {self.refused} command(s) refused")
        if not self.rerun_ok:
            verdicts.append("the apply after it failed")
        elif self.diff.state_changes:
            verdicts.append(f"the host is wrong after a full apply: {self.diff.stat()}")
        command = mask(self.command)
        shown = command if len(command) <= 60 else command[:57] + "..."
        verdict = "; ".join(verdicts) or "converged"
        return f"{self.machine} k={self.k} [{shown!r}]: {verdict} ({self.seconds:.1f} s)"


def crash_points(deployment: Deployment, lanes: int, go_on: Callable[[], None]) -> list[CrashPoint]:
    """Every point of the first apply's journal, each on a lane of its own; in order of machine and k."""
    first = deployment.history[0].journal
    points = [(machine, k, cmds[k - 1].command) for machine, cmds in first.items() for k in range(1, len(cmds) + 1)]
    converged, watches = deployment.state.snapshots[-1], deployment.state.watches[-1]
    with ThreadPoolExecutor(max_workers=max(1, lanes), thread_name_prefix="crash-point") as pool:
        futures: list[Future[CrashPoint]] = []
        try:
            for machine, k, command in points:
                futures.append(pool.submit(_run_point, deployment, machine, k, command, converged, watches, go_on))
            return [future.result() for future in futures]
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def _run_point(
    deployment: Deployment,
    machine: str,
    k: int,
    command: str,
    converged: dict[str, Snapshot],
    watches: dict[str, Watch],
    go_on: Callable[[], None],
) -> CrashPoint:
    go_on()
    started = time.monotonic()
    spec = deployment.spec
    testbed = Testbed(deployment.bench, f"{spec.name}-crash", key=deployment.testbed.key)
    workload = deployment.workload.moved_to(testbed)
    try:
        workload.start()
        target = testbed.machines[machine]
        open_journal(target.run_script, cut_after=k)
        cut = workload.apply(deployment.current)
        journal = close_journal(target.run_script, target.own_client)
        rerun = workload.apply(deployment.current)
        tracker = StateTracker(testbed.runners(), spec.state, deployment.secrets.mask)
        diff = tracker.diff(converged, tracker.take(watches))
    finally:
        workload.close()
        testbed.close()
    refused = _refused(journal)
    return CrashPoint(
        machine,
        k,
        command,
        cut.summary(),
        said_complete=cut.succeeded and refused > 0,
        refused=refused,
        rerun_ok=rerun.succeeded,
        diff=diff,
        seconds=time.monotonic() - started,
    )


def _refused(journal: list[RemoteCommand]) -> int:
    return sum(1 for command in journal if command.cut)


def crash_points_step(deployment: Deployment) -> StepReport:
    """Every k of the first apply's remote commands, each machine in turn; fails on a k that leaves the host wrong
    after a full apply, or after which the cut Job said Complete."""
    if not deployment.history or not deployment.history[0].journal or not deployment.state.snapshots:
        return StepReport(
            failure="`crash-points` needs a first `apply` (of a Job) and a `snapshot` of the converged host"
        )
    lanes = deployment.drift.lanes or deployment.bench.engine_cpus
    started = time.monotonic()
    points = crash_points(deployment, lanes, lambda: None)
    took = time.monotonic() - started
    wrong = [p for p in points if p.wrong]
    lied = [p for p in points if p.said_complete]
    cost = sum(p.seconds for p in points) / len(points) if points else 0.0
    report = StepReport()
    report.add(
        r.CRASH_POINTS,
        f"{len(points)} points on {lanes} lane(s) in {took:.0f} s ({cost:.1f} s a point): {len(wrong)} leave the "
        f"host wrong after a full apply, {len(lied)} said Complete after the cut",
    )
    mask = deployment.secrets.mask
    for point in points:
        report.add(r.CRASH_POINT, point.line(mask))
    bad = [p for p in points if p.wrong or p.said_complete]
    if bad:
        details = "\n".join(p.line(mask) + ("\n" + p.diff.render() if p.diff.state_changes else "") for p in bad)
        report.failure = f"{len(bad)} of {len(points)} crash points fail:\n{details}"
    return report
