"""The drift suite: mutate a converged host one way at a time, run the drift check, apply again, compare.

Each mutation starts from the converged host: when a new apply does not heal it, the harness puts back what
it saved before the first mutation (the managed files with their modes, owners and times; the units' states).
"""

from __future__ import annotations

import re
import shlex
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from harness.drift.mutations import Mutation
from harness.errors import CheckBroken, HarnessError
from harness.state.diff import Mask
from harness.state.model import Snapshot
from harness.state.tracker import ScriptRunner

BACKUP = "/var/lib/harness/drift-converged.tar"  # outside every scan (SCAN_EXCLUDES)
DETECTED, UNNAMED, MISSED, NO_CHECK = "yes", "not named", "MISSED", "no check"
NOTHING_CHANGED = "the mutation changed nothing the snapshots watch (watch it with `state.paths`, or drop it)"
# What differs between two runs of the same check without meaning anything: times, dates, epoch seconds.
_CLOCK = re.compile(
    r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d)?([.,]\d+)?(Z|[+-]\d\d:?\d\d)?"  # ISO 8601, Python logging
    r"|\b\d\d:\d\d:\d\d([.,]\d+)?\b"  # a time of day
    r"|\b\d{9,}([.,]\d+)?\b"  # epoch seconds
    r"|\b\d+([.,]\d+)?\s?(ms|s|sec|seconds)\b"  # how long something took
)


@dataclass
class Row:
    mutation: Mutation
    detected: str = "not run"  # yes, not named (failed without naming it), MISSED (passed), no check
    healed: str = "not run"  # yes, or what stayed different
    check_output: str = ""

    @property
    def failed(self) -> bool:
        return self.detected in (UNNAMED, MISSED, "not run") or not self.healed.startswith("yes")  # NOTHING_CHANGED too


@dataclass
class DriftReport:
    has_check: bool
    rows: list[Row] = field(default_factory=list)

    @property
    def failures(self) -> list[Row]:
        return [r for r in self.rows if r.failed]

    def summary(self) -> str:
        total = len(self.rows)
        counts = Counter(r.detected for r in self.rows)
        healed = sum(r.healed.startswith("yes") for r in self.rows)
        unmade = sum(r.detected.startswith("mutation failed") for r in self.rows)
        machines = len({r.mutation.machine for r in self.rows})
        head = f"{total} mutation{'s' if total != 1 else ''} on {machines} machine{'s' if machines != 1 else ''}"
        tail = f", {unmade} could not be made" if unmade else ""
        if not self.has_check:
            return f"{head}: {healed} healed{tail}; no drift check in the spec, so healing only"
        checked = counts[DETECTED] + counts[UNNAMED] + counts[MISSED]  # mutations the check was run against
        detection = f"{counts[DETECTED]} detected"
        if counts[UNNAMED]:
            detection += f", {counts[UNNAMED]} failed without naming what drifted"
        if checked and counts[DETECTED] == 0 and counts[UNNAMED] == 0:
            detection = f"the drift check is blind to every mutation (0 of {checked} detected)"
        return f"{head}: {detection}, {healed} healed{tail}"

    def table(self, mask: Mask) -> str:
        """The matrix: one mutation a line, whether the check saw it, whether a new apply healed it."""
        labels = [mask(_label(r.mutation)) for r in self.rows]
        width = min(72, max((len(label) for label in labels), default=8))
        lines = [f"{'mutation':<{width}}  {'detected':<10}  healed"]
        lines += [
            f"{label:<{width}}  {mask(r.detected):<10}  {mask(r.healed)}"
            for label, r in zip(labels, self.rows, strict=True)
        ]
        return "\n".join(lines)

    def to_data(self, mask: Mask) -> list[dict[str, str]]:
        return [
            {
                "machine": r.mutation.machine,
                "mutation": r.mutation.kind,
                "item": mask(r.mutation.item),
                "detail": mask(r.mutation.detail),
                "detected": mask(r.detected),
                "healed": mask(r.healed),
            }
            for r in self.rows
        ]


def _label(mutation: Mutation) -> str:
    shown = mutation.detail and mutation.kind not in ("edit", "remove-cron")  # the id holds a removed entry
    detail = f" ({mutation.detail})" if shown else ""
    return f"{mutation.machine}: {mutation.id}{detail}"


@dataclass(frozen=True)
class Check:
    passed: bool
    output: str


@dataclass(frozen=True)
class Healing:
    remaining: list[str]  # what still differs from the converged host, a line each; empty: healed
    report: str = ""  # what the deployer said while healing (a self-healing pod's new log lines)
    seconds: float | None = None  # how long it took, when it healed by itself


@dataclass
class DriftRun:
    """What the suite needs from a deployment (see :mod:`harness.drift.targets`)."""

    runners: dict[str, ScriptRunner]
    check: Callable[[str], Check] | None  # the drift check, run after a mutation on this machine
    heal: Callable[[Mutation], Healing]  # a new apply, or waiting for a self-healing loop
    compare: Callable[[str], list[str]]  # what differs now on this machine from its converged snapshot
    check_per_machine: bool = False  # a DaemonSet's check runs in each node's pod; a Job's checks every host
    reports_healing: bool = False  # no check, but the healing is logged: the log must name what it repaired
    before: Callable[[Mutation], None] = lambda mutation: None  # just before the mutation is made
    mask: Mask = lambda text: text  # secrets out of every message the suite raises
    verify_mutations: bool = True  # see that each mutation changed the host (not with a loop racing to repair it)
    apply_touches_all: bool = False  # a Job's apply reaches every host: any of them may need putting back


def run_drift(run: DriftRun, converged: dict[str, Snapshot], mutations: list[Mutation]) -> DriftReport:
    report = DriftReport(has_check=run.check is not None or run.reports_healing)
    machines = dict.fromkeys(m.machine for m in mutations)
    save(run, converged if run.apply_touches_all else {name: converged[name] for name in machines})
    baselines: dict[str, str] = {}  # what the check prints on the converged host: naming must be news
    for machine in machines if run.check_per_machine else list(machines)[:1]:
        baseline = run.check(machine) if run.check is not None else None
        if baseline is not None and not baseline.passed:
            raise CheckBroken(run.mask(f"the drift check fails on the converged host ({machine})\n{baseline.output}"))
        baselines[machine] = baseline.output if baseline is not None else ""
    for mutation in mutations:
        row = Row(mutation)
        report.rows.append(row)
        run.before(mutation)
        code, out, err = run.runners[mutation.machine](mutation.script)
        if code != 0:
            row.detected = row.healed = f"mutation failed (exit {code}): {(err or out).decode(errors='replace')[-200:]}"
            put_back(run, converged, mutation, applied=False)
            continue
        if run.verify_mutations and not run.compare(mutation.machine):
            row.detected = row.healed = NOTHING_CHANGED
            put_back(run, converged, mutation, applied=False)  # what it did outside the watched state, undone
            continue
        usual = baselines.get(mutation.machine, next(iter(baselines.values()), ""))
        if run.check is not None:
            check = run.check(mutation.machine)
            row.check_output = check.output
            row.detected = _detection(mutation, not check.passed, check.output, usual)
        healing = run.heal(mutation)
        if run.check is None:
            row.detected = _detection(mutation, True, healing.report, "") if run.reports_healing else NO_CHECK
            row.check_output = healing.report
        if not healing.remaining:
            row.healed = "yes" if healing.seconds is None else f"yes ({healing.seconds:.1f} s)"
            continue
        row.healed = "NO: " + "; ".join(healing.remaining)
        put_back(run, converged, mutation)
    return report


def _detection(mutation: Mutation, failed: bool, output: str, baseline: str) -> str:
    """Failed, and named in a line the check did not print on the converged host (its times aside)."""
    if not failed:
        return MISSED
    return DETECTED if mutation.named_in(news(output, baseline)) else UNNAMED


def repeated(log: str) -> str:
    """The lines a log holds more than once, clock readings aside: what a loop says on every pass (its first
    pass's `wrote /etc/x` is said once, and is what a repair says again)."""
    counts = Counter(_CLOCK.sub("#", line) for line in log.splitlines())
    return "\n".join(line for line in log.splitlines() if counts[_CLOCK.sub("#", line)] > 1)


def news(output: str, baseline: str) -> str:
    """The lines of ``output`` that ``baseline`` does not hold, clock readings aside."""
    usual = {_CLOCK.sub("#", line) for line in baseline.splitlines()}
    return "\n".join(line for line in output.splitlines() if _CLOCK.sub("#", line) not in usual)


def save(run: DriftRun, converged: dict[str, Snapshot]) -> None:
    """Keep the converged managed files (modes, owners and times with them) on each machine."""
    for machine, snapshot in converged.items():
        names = " ".join(shlex.quote(path.lstrip("/")) for path in sorted(snapshot.files) if path != "/")
        if not names:  # only units or custom mutations: nothing to put back but their states
            names = "--files-from=/dev/null"
        script = f"mkdir -p {shlex.quote(BACKUP.rsplit('/', 1)[0])} && cd / && tar -cpf {BACKUP} --no-recursion {names}"
        code, _, err = run.runners[machine](script)
        if code != 0:
            raise HarnessError(f"could not save the converged files on {machine}: {err.decode(errors='replace')}")


def put_back(run: DriftRun, converged: dict[str, Snapshot], mutation: Mutation, *, applied: bool = True) -> None:
    """Put the machines back as they converged (the mutated one, and any other an apply changed), so the next
    mutation starts from there."""
    others = [m for m in converged if m != mutation.machine] if run.apply_touches_all and applied else []
    for machine in [mutation.machine, *(m for m in others if run.compare(m))]:
        _restore(run, machine, converged[machine])
        still = run.compare(machine)
        if still:
            raise HarnessError(
                run.mask(
                    f"after `{mutation.id}` neither a new apply nor the harness could put {machine} back as it"
                    f" converged, so the mutations after it would start from a drifted host: {'; '.join(still)}"
                ),
                fix=run.mask(
                    f"exclude it in the spec (`drift.exclude: [{mutation.id!r}]`) or make the deployer heal it"
                ),
            )


def _restore(run: DriftRun, machine: str, snapshot: Snapshot) -> None:
    q = shlex.quote
    lines = [f"tar -xpf {BACKUP} -C /", "systemctl daemon-reload"]
    for name, unit in sorted(snapshot.units.items()):
        if unit.enabled == "enabled":
            lines.append(f"systemctl enable --quiet -- {q(name)}")
        lines.append(f"systemctl {'start' if unit.active == 'active' else 'stop'} -- {q(name)}")
    run.runners[machine]("\n".join(lines))
