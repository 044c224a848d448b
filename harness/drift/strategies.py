"""How the drift suite checks and heals each kind of workload.

- :class:`JobDrift`: the drift check is a Job of its own (the CronJob's, or the deployer's Job with the spec's
  command); a new apply heals, and every host is compared afterwards.
- :class:`PodDrift`: a DaemonSet's pods loop, so by default the suite waits for the pod on the mutated node to
  repair it (``drift.heal: loop``), and the pod's log must name what it repaired; a spec may instead give a check
  command, run in that pod as ``kubectl exec`` would, or heal by applying again (``drift.heal: apply``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from harness.deployer.spec import DeployerSpec
from harness.deployer.version import ApplyResult, Version
from harness.drift.matrix import Check, Healing
from harness.drift.mutations import Mutation, spread
from harness.drift.naming import news, repeated
from harness.state.command import Watch
from harness.state.model import Snapshot
from harness.state.tracker import StateTracker


class Applies(Protocol):
    """What a healing apply needs of a workload."""

    spec: DeployerSpec

    def apply(self, version: Version) -> ApplyResult: ...


class RunsDriftCheck(Applies, Protocol):
    """A Job workload: its drift check is a Job of its own."""

    def check_drift(self, image: str) -> CheckRun: ...


class CheckRun(Protocol):
    @property
    def succeeded(self) -> bool: ...

    @property
    def logs(self) -> str: ...

    @property
    def ran_seconds(self) -> float: ...


class LoopingPods(Applies, Protocol):
    """A DaemonSet workload: pods that repair their node in a loop, with logs and a way in."""

    def logs(self, target: str) -> str: ...

    def exec(self, target: str, argv: tuple[str, ...]) -> tuple[int, str]: ...


W = TypeVar("W", bound=Applies)

POLL_SECONDS = 0.5
LOG_SETTLE_SECONDS = 2.0  # the journal may show a pod's last line a moment after the file it wrote


@dataclass(frozen=True)
class Converged:
    """Where every mutation starts from: the snapshots of the converged machines (only those the workload reaches)
    and what they watched, the tracker that takes more, and the version a healing apply runs."""

    tracker: StateTracker
    snapshots: dict[str, Snapshot]
    watches: dict[str, Watch]
    current: Version


class _Converged(Generic[W]):
    """What both strategies share: comparing machines with their converged snapshots, and a new apply."""

    has_check = False
    check_per_machine = False
    heal_reaches_all = True
    detector: str | None = None
    unnamed_fails = True

    def __init__(self, workload: W, converged: Converged) -> None:
        self.workload, self.tracker, self.current = workload, converged.tracker, converged.current
        self.converged, self.watches = converged.snapshots, converged.watches
        self.runners = converged.tracker.runners

    def mask(self, text: str) -> str:
        return self.tracker.mask(text)  # the registry's: it grows as manifests are read

    def differences(self, machines: list[str]) -> list[str]:
        now = self.tracker.take({name: self.watches[name] for name in machines})
        before = {name: self.converged[name] for name in machines}
        return [c.line() for c in self.tracker.diff(before, now).state_changes]

    def compare(self, machine: str) -> list[str]:
        return self.differences([machine])

    def arrange(self, mutations: list[Mutation]) -> list[Mutation]:
        return mutations

    def before(self, mutation: Mutation) -> None:
        """Nothing to note before a mutation."""

    def took(self, mutation: Mutation) -> bool:
        return bool(self.compare(mutation.machine))

    def heal(self, mutation: Mutation) -> Healing:
        """A new apply of the current version; every machine is compared afterwards."""
        applied = self.workload.apply(self.current)
        described = applied.describe()
        if not applied.succeeded:
            return Healing([f"the apply failed ({applied.summary()})"], ran=applied.ran_seconds, applied=described)
        return Healing(self.differences(list(self.converged)), ran=applied.ran_seconds, applied=described)


class JobDrift(_Converged[RunsDriftCheck]):
    def __init__(self, workload: RunsDriftCheck, converged: Converged) -> None:
        super().__init__(workload, converged)
        self.has_check = workload.spec.drift.has_check

    def check(self, machine: str) -> Check | None:
        if not self.has_check:
            return None
        result = self.workload.check_drift(self.current.image)  # a variant of its own Job
        return Check(result.succeeded, result.logs, result.ran_seconds)


class PodDrift(_Converged[LoopingPods]):
    check_per_machine = True  # each node's pod checks (and repairs) its own node

    def __init__(self, workload: LoopingPods, converged: Converged) -> None:
        super().__init__(workload, converged)
        self.drift = workload.spec.drift
        self.loops = self.drift.heal == "loop"
        self.heal_reaches_all = not self.loops  # a rollout restart reaches every node; a loop only its own
        self.has_check = self.drift.command is not None or self.loops
        if self.drift.command is None and self.loops:  # the verdict is the healing; the log should name it
            self.unnamed_fails = self.drift.unnamed == "fail"
            must = "must" if self.unnamed_fails else "should"
            self.detector = f"the pods' own logs, which {must} name what they repaired"
        self.seen: dict[str, int] = {}  # node -> length of its pod's log before the mutation
        self.usual: dict[str, str] = {}  # node -> what its pod logged more than once before the first mutation

    def arrange(self, mutations: list[Mutation]) -> list[Mutation]:
        return spread(mutations)

    def before(self, mutation: Mutation) -> None:
        log = self.workload.logs(mutation.machine)
        self.usual.setdefault(mutation.machine, repeated(log))
        self.seen[mutation.machine] = len(log)

    def took(self, mutation: Mutation) -> bool:
        return True  # the pods loop either way: they may repair it before the harness looks

    def check(self, machine: str) -> Check | None:
        if self.drift.command is None:
            return None
        code, output = self.workload.exec(machine, self.drift.command)
        return Check(code == 0, output)

    def heal(self, mutation: Mutation) -> Healing:
        if not self.loops:
            return super().heal(mutation)
        started = time.monotonic()
        while remaining := self.compare(mutation.machine):
            if time.monotonic() - started > self.drift.heal_seconds:
                late = f"not repaired within {self.drift.heal_seconds:g} s: {'; '.join(remaining)}"
                return Healing([late], self._new_log(mutation))
            time.sleep(POLL_SECONDS)
        waited = time.monotonic() - started
        report = self._new_log(mutation)
        settle = time.monotonic() + LOG_SETTLE_SECONDS
        while not mutation.named_in(report) and time.monotonic() < settle:
            time.sleep(POLL_SECONDS / 2)
            report = self._new_log(mutation)
        return Healing([], report, waited)  # without a check command, the log must name what the pod repaired

    def _new_log(self, mutation: Mutation) -> str:
        """What the pod logged since the mutation, less the lines it logs on every pass (`ok /etc/x`)."""
        log = self.workload.logs(mutation.machine)[self.seen.get(mutation.machine, 0) :]
        return news(log, self.usual.get(mutation.machine, ""))
