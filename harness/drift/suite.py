"""The drift suite: mutate a converged host one way at a time, run the drift check, apply again, compare.

Each mutation starts from the converged host: when a new apply does not heal it, the harness puts back what it
saved before the first mutation (the managed files with their modes, owners and times; the units' states).

Mutations run on lanes, side by side: a lane is a full copy of the converged machines (the deployment's own, or
clones of them started from an image committed once), and takes one mutation at a time from the queue. A lane
that cannot be put back costs its mutation's row, never the matrix: a new clone takes its place. The rows keep
the mutations' order, whatever lane ran them.

A clone takes rows as soon as it is put back as the machines converged; it proves itself by its first healing
apply that leaves it exactly so. A row a clone did not see healed before any had is only kept once an apply on the
clone, put back, leaves it as converged (a deployer that writes its host's own address would leave every clone
different): otherwise no clone not yet proven takes another row, and that row runs again elsewhere, on the
deployment's own machines or a proven clone.
"""

from __future__ import annotations

import functools
import shlex
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import docker.errors

from harness import progress
from harness.drift.matrix import NO_CHECK, NOT_RUN_STUCK, NOTHING_CHANGED, Check, DriftReport, Healing, Row
from harness.drift.mutations import Mutation
from harness.drift.naming import judge, unless_said_of_others
from harness.errors import CheckBroken, HarnessError
from harness.state.model import Snapshot
from harness.state.tracker import ScriptRunner
from harness.threads import DaemonCall

BACKUP = "/var/lib/harness/drift-converged.tar"  # outside every snapshot and scan (HARNESS_PATHS)
LANE_STOP_SECONDS = 300.0  # how long a failed suite waits for a clone to finish booting (and applying) and stop


class DriftStrategy(Protocol):
    """How the suite checks and heals one kind of workload (see :mod:`harness.drift.strategies`)."""

    runners: dict[str, ScriptRunner]
    has_check: bool  # a check, or pods' logs, that can tell a mutation apart
    check_per_machine: bool  # a DaemonSet's check runs in each node's pod; a Job's checks every host at once
    heal_reaches_all: bool  # a healing apply may change every machine: all are saved, any may need putting back
    detector: str | None  # what detects drift, when it is not a check the spec names
    unnamed_fails: bool  # whether a detection that does not name the mutation fails its row, or only warns

    def mask(self, text: str) -> str:
        """Secrets out of every message the suite raises or reports."""
        ...

    def arrange(self, mutations: list[Mutation]) -> list[Mutation]:
        """The mutations to make, in order."""
        ...

    def before(self, mutation: Mutation) -> None:
        """Just before the mutation is made."""
        ...

    def took(self, mutation: Mutation) -> bool:
        """Whether the mutation changed what the snapshots watch (a loop may repair it before anyone looks)."""
        ...

    def check(self, machine: str) -> Check | None:
        """The drift check, run against this machine's drift; None without a check."""
        ...

    def heal(self, mutation: Mutation) -> Healing: ...

    def compare(self, machine: str) -> list[str]:
        """What differs now on this machine from its converged snapshot, a line each."""
        ...


class Clones(Protocol):
    """More lanes: copies of the converged machines, to run mutations side by side and to replace a lane that
    could not be put back (see :mod:`harness.workloads.clones`)."""

    def freeze(self) -> None:
        """Keep the first lane's machines as they are now, converged and saved: every clone starts from here."""
        ...

    def lane(self) -> DriftStrategy:
        """A new lane on clones of the frozen machines, put back as they converged (not applied to yet); raises
        HarnessError when it cannot."""
        ...

    def prove(self, lane: DriftStrategy) -> list[str]:
        """Apply once on the lane's clones, as they converged: what then differs from the converged machines (the
        apply's failure, or a line a machine); empty when an apply leaves them as the originals."""
        ...

    def discard(self, lane: DriftStrategy) -> None:
        """A lane done with (stuck, or broken): its machines go now, not with the others at the end."""
        ...


@dataclass
class _Lane:
    run: DriftStrategy
    baselines: dict[str, str]  # what the check prints on these converged machines: naming must be news
    proven: bool = True  # the deployment's machines are; a clone once an apply on it left it as converged
    clone: bool = False  # a clone's machines go once no row is left for them; the deployment's stay


class _Queue:
    """The rows still to run, in order; taken by whichever lane is free once the queue is open (the first lane's
    check passed on the converged machines), until none is left or the run stops. A row taken is either finished
    or given back: while one is out, a lane that finds the queue empty waits, as it may come back."""

    def __init__(self, rows: list[Row]) -> None:
        self._rows, self._changed = deque(rows), threading.Condition()
        self.stopped = threading.Event()
        self._open = threading.Event()
        self._finished = self._out = 0
        self.unfit: str | None = None  # why clones take no more rows: an apply leaves one unlike the machines
        self.home = True  # the deployment's own machines take rows: any row given back has a lane to run on

    def finish(self) -> int:
        """A row taken is done: how many are."""
        with self._changed:
            self._finished += 1
            self._out -= 1
            assert self._out >= 0, "a row finished that was not taken"
            self._changed.notify_all()
            return self._finished

    def open(self) -> None:
        self._open.set()

    def stop(self) -> None:
        self.stopped.set()
        self._open.set()  # whoever waits to take a row takes none
        with self._changed:
            self._changed.notify_all()

    def take(self) -> Row | None:
        self._open.wait()
        with self._changed:
            self._changed.wait_for(lambda: self._rows or not self._out or self.stopped.is_set())
            if not self._rows or self.stopped.is_set():
                return None
            self._out += 1
            return self._rows.popleft()

    def give_back(self, row: Row) -> None:
        """A row taken goes back to the front, for another lane."""
        with self._changed:
            self._rows.appendleft(row)
            self._out -= 1
            assert self._out >= 0, "a row given back that was not taken"
            self._changed.notify_all()

    def drained(self) -> bool:
        """No row waits to be taken (some may still be out, and may come back)."""
        with self._changed:
            return not self._rows

    def left(self) -> list[Row]:
        with self._changed:
            return list(self._rows)


def run_drift(
    first: DriftStrategy,
    converged: dict[str, Snapshot],
    mutations: list[Mutation],
    *,
    clones: Clones | None = None,
    lanes: int = 1,
) -> DriftReport:
    """The matrix of these mutations, run on ``first`` and, with ``clones``, on up to ``lanes`` lanes in all.
    The clones boot while the drift check runs on ``first``'s converged machines; no row is taken before it
    passed there (when it fails, that is the suite's error, and the clones take none)."""
    report = DriftReport(has_check=first.has_check)
    report.rows = [Row(m, unnamed_fails=first.unnamed_fails) for m in mutations]
    machines = list(dict.fromkeys(m.machine for m in mutations))
    save(first, converged if first.heal_reaches_all else {name: converged[name] for name in machines})
    if clones is not None:
        clones.freeze()
    queue = _Queue(report.rows)
    work = functools.partial(
        _work, queue=queue, converged=converged, machines=machines, clones=clones, report=report,
        tick=progress.reporter(),
    )  # fmt: skip
    count = min(max(1, lanes), len(mutations)) if clones is not None else 1
    # Daemon threads: an interrupted run does not wait for the row a lane is on (the drift step removes the
    # clones under it, and the run's sweep what is left).
    workers: list[DaemonCall[bool]] = []
    try:
        workers += [DaemonCall(functools.partial(work, None), "drift-lane") for _ in range(count - 1)]
        lane = _Lane(first, _baselines(first, machines))
        queue.open()
        workers.insert(0, DaemonCall(functools.partial(work, lane), "drift-lane"))
        report.lanes = sum(worker.result() for worker in workers)
    except BaseException as exc:  # the check fails, Ctrl-C, or a lane's error: no lane takes another row
        queue.stop()
        if not isinstance(exc, KeyboardInterrupt):  # the clones still booting are not left to outlive the suite
            for worker in workers:
                worker.join(LANE_STOP_SECONDS)
        raise
    for row in queue.left():
        row.unjudged = NOT_RUN_STUCK if queue.unfit is None else f"{NOT_RUN_STUCK}, and clones are unlike them"
    unless_said_of_others(report.rows)
    return report


def _baselines(run: DriftStrategy, machines: list[str]) -> dict[str, str]:
    baselines: dict[str, str] = {}
    for machine in machines if run.check_per_machine else machines[:1]:
        baseline = run.check(machine)
        if baseline is not None and not baseline.passed:
            raise CheckBroken(run.mask(f"the drift check fails on the converged host ({machine})\n{baseline.output}"))
        baselines[machine] = baseline.output if baseline is not None else ""
    return baselines


def _work(lane: _Lane | None, *, queue: _Queue, **context: Any) -> bool:
    """:func:`_rows_on`; an error that ends it stops the queue, so that no lane waits for a row it held."""
    try:
        return _rows_on(lane, queue=queue, **context)
    except BaseException:
        queue.stop()
        raise


def _rows_on(
    lane: _Lane | None,
    *,
    queue: _Queue,
    converged: dict[str, Snapshot],
    machines: list[str],
    clones: Clones | None,
    report: DriftReport,
    tick: Callable[[str], None] = lambda where: None,
) -> bool:
    """Run rows from the queue on one lane until none is left: the one given, or clones (the first booted at
    once, while the queue is not open yet; another when one is done with, stuck or broken, and closed at once; a
    clone also goes once no row is left to take, not at the suite's end, while the deployment's own machines can run a
    row given back). Whether this worker ran a row."""
    if lane is None and clones is not None:
        lane = _new_lane(clones, machines, report, queue)
        if lane is None:
            return False
    ran = False
    while True:
        if (
            lane is not None
            and lane.clone
            and clones is not None
            and queue.home
            and not queue.unfit
            and queue.drained()
        ):
            clones.discard(lane.run)  # while the other lanes finish theirs; a row given back goes to the machines
            return ran
        if (row := queue.take()) is None:
            break
        if lane is not None and not lane.proven and queue.unfit is not None and clones is not None:
            _discard(clones, lane, queue)  # once a clone was unlike the machines, no clone not proven takes a row
            lane = None
        if lane is None:
            lane = _new_lane(clones, machines, report, queue) if clones is not None else None
            if lane is None:
                queue.give_back(row)
                return ran
        ran, current = True, lane
        try:
            row.stuck = _one(current, row, converged)
            stands = current.proven or clones is None or _proven(current, row, clones, queue, report)
        except (HarnessError, OSError, docker.errors.APIError) as exc:  # the lane broke (SSH, the engine)
            if clones is None:  # no other lane to run it on: the error is the suite's
                raise
            _discard(clones, current, queue)
            lane = None
            if not _broke(row, exc, queue, report):  # broke twice: done with; else it runs again and counts then
                tick(f"drift {queue.finish()}/{len(report.rows)} mutations")
            continue
        if not stands and clones is not None:  # given back, for the deployment's machines: this clone goes
            _discard(clones, current, queue)
            lane = None
            continue
        tick(f"drift {queue.finish()}/{len(report.rows)} mutations")
        if row.stuck is not None:
            exclude = f"exclude it (`drift.exclude: [{row.mutation.id!r}]`) or make the deployer heal it"
            then = "a new clone of the converged machines takes its place" if clones else "the rest are not run"
            report.notes.append(lane.run.mask(f"{row.stuck}; {then}; {exclude}"))
            if clones is not None:
                _discard(clones, lane, queue)
            lane = None
    if lane is not None and lane.clone and clones is not None:  # no row is left: its clone goes now
        clones.discard(lane.run)
    return ran


def _discard(clones: Clones, lane: _Lane, queue: _Queue) -> None:
    if not lane.clone:
        queue.home = False  # the deployment's own machines are done with: idle clones stay for rows given back
    clones.discard(lane.run)


def _again(row: Row, queue: _Queue, report: DriftReport, *, retried: bool) -> None:
    """The row runs again on another lane: a fresh one takes its place in the report and at the queue's front."""
    index = next(i for i, r in enumerate(report.rows) if r is row)
    fresh = Row(row.mutation, unnamed_fails=row.unnamed_fails, retried=retried)
    report.rows[index] = fresh
    queue.give_back(fresh)


def _broke(row: Row, error: Exception, queue: _Queue, report: DriftReport) -> bool:
    """A row whose lane broke runs again on another, once: a mutation that breaks every lane (it stops sshd, say)
    is reported, not retried on clone after clone. Whether it runs again."""
    if row.retried:
        row.unjudged = f"its lane broke twice: {error}"
        return False
    _again(row, queue, report, retried=True)
    report.notes.append(f"a lane broke while it ran `{row.mutation.id}`; it runs again on another: {error}")
    return True


def _proven(lane: _Lane, row: Row, clones: Clones, queue: _Queue, report: DriftReport) -> bool:
    """Whether a row of a clone not yet proven like the machines stands: it healed there (which proves the clone),
    or an apply on the clone, put back, leaves it as converged. Otherwise the row runs again elsewhere (a clone
    unlike the machines: on the deployment's own, and no clone not proven takes another row), and this clone goes.
    A row that could not be put back runs again elsewhere once: on a clone, that may be the clone's doing."""
    if row.stuck is not None:
        if row.retried:
            return True
        _again(row, queue, report, retried=True)
        report.notes.append(lane.run.mask(f"{row.stuck}, on a clone not yet proven like the machines: once more"))
        return False
    if row.healing is None:  # the mutation failed or changed nothing, and was put back: nothing proven
        return True
    if row.healed:
        lane.proven = True
        return True
    unlike = [] if queue.unfit else clones.prove(lane.run)
    if queue.unfit is None and not unlike:
        lane.proven = True
        return True
    if queue.unfit is None:
        queue.unfit = lane.run.mask("; ".join(unlike))
        report.notes.append(f"clones take no rows: {queue.unfit}")
    _again(row, queue, report, retried=row.retried)
    return False


def _new_lane(clones: Clones, machines: list[str], report: DriftReport, queue: _Queue) -> _Lane | None:
    if queue.unfit is not None:
        return None
    try:
        run = clones.lane()
        return _Lane(run, _baselines(run, machines), proven=False, clone=True)
    except (HarnessError, OSError, docker.errors.APIError) as exc:  # the other lanes go on
        report.notes.append(f"a copy of the converged machines could not be used: {exc}")
        return None


def _one(lane: _Lane, row: Row, converged: dict[str, Snapshot]) -> str | None:
    """Mutate, check, heal, compare, put back: the row's verdict, each phase timed. What could not be put back,
    if anything."""
    run, mutation, clock = lane.run, row.mutation, _Clock(row)
    run.before(mutation)
    code, out, err = run.runners[mutation.machine](mutation.script)
    if code != 0:
        row.made = False
        row.unjudged = f"mutation failed (exit {code}): {(err or out).decode(errors='replace')[-200:]}"
        return clock.put_back(lambda: put_back(run, converged, mutation, applied=False))
    if not run.took(mutation):
        row.unjudged = NOTHING_CHANGED  # what it did outside the watched state is undone
        return clock.put_back(lambda: put_back(run, converged, mutation, applied=False))
    clock.lap("mutate")
    usual = lane.baselines.get(mutation.machine, next(iter(lane.baselines.values()), ""))
    check = run.check(mutation.machine)
    if check is not None:
        judge(row, not check.passed, check.output, usual)
        clock.lap("check", check.ran)
    healing = run.heal(mutation)
    clock.lap("heal", healing.ran)
    if check is None:  # the pods' own log must name what they repaired, when they say anything
        row.detected = NO_CHECK
        if healing.report is not None:
            judge(row, True, healing.report, "")
    row.healing = healing
    return clock.put_back(lambda: put_back(run, converged, mutation)) if healing.remaining else None


class _Clock:
    """A row's phases, timed as they end."""

    def __init__(self, row: Row) -> None:
        self.row, self.last = row, time.monotonic()

    def lap(self, phase: str, deployer: float | None = None) -> None:
        now = time.monotonic()
        self.row.phases[phase] = now - self.last
        self.row.deployer_seconds += deployer or 0.0
        self.last = now

    def put_back(self, action: Callable[[], str | None]) -> str | None:
        if not self.row.phases:  # a mutation that failed or changed nothing: its time was the mutation's
            self.lap("mutate")
        stuck = action()
        self.lap("put back")
        return stuck


def save(run: DriftStrategy, converged: dict[str, Snapshot]) -> None:
    """Keep the converged managed files (modes, owners and times with them) on each machine."""
    for machine, snapshot in converged.items():
        names = " ".join(shlex.quote(path.lstrip("/")) for path in sorted(snapshot.files) if path != "/")
        if not names:  # only units or custom mutations: nothing to put back but their states
            names = "--files-from=/dev/null"
        script = f"mkdir -p {shlex.quote(BACKUP.rsplit('/', 1)[0])} && cd / && tar -cpf {BACKUP} --no-recursion {names}"
        code, _, err = run.runners[machine](script)
        if code != 0:
            raise HarnessError(f"could not save the converged files on {machine}: {err.decode(errors='replace')}")


def put_back(
    run: DriftStrategy, converged: dict[str, Snapshot], mutation: Mutation, *, applied: bool = True
) -> str | None:
    """Put the machines back as they converged (the mutated one, and any other an apply changed), so the next
    mutation starts from there. What could not be put back, if anything: that lane is done."""
    others = [m for m in converged if m != mutation.machine] if run.heal_reaches_all and applied else []
    for machine in [mutation.machine, *(m for m in others if run.compare(m))]:
        still = restore(run, machine, converged[machine])
        if still:
            return run.mask(
                f"after `{mutation.id}` neither a new apply nor the harness could put {machine} back as it"
                f" converged ({'; '.join(still)})"
            )
    return None


def restore(run: DriftStrategy, machine: str, snapshot: Snapshot) -> list[str]:
    """Put one machine back from what :func:`save` kept; what still differs from its converged snapshot."""
    _restore(run, machine, snapshot)
    return run.compare(machine)


def _restore(run: DriftStrategy, machine: str, snapshot: Snapshot) -> None:
    q = shlex.quote
    lines = [f"tar -xpf {BACKUP} -C /", "systemctl daemon-reload"]
    # Kernel parameters as they converged (a clone boots with those its files set, not those set at run time).
    lines += [f"sysctl -q -w {q(f'{key}={value}')} 2>/dev/null" for key, value in sorted(snapshot.sysctl.items())]
    for name, unit in sorted(snapshot.units.items()):
        if unit.enabled == "enabled":
            lines.append(f"systemctl enable --quiet -- {q(name)}")
        lines.append(f"systemctl {'start' if unit.active == 'active' else 'stop'} -- {q(name)}")
    run.runners[machine]("\n".join(lines))
