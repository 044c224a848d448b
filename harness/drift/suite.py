"""The drift suite: mutate a converged host one way at a time, run the drift check, apply again, compare.

Each mutation starts from the converged host: when a new apply does not heal it, the harness puts back what
it saved before the first mutation (the managed files with their modes, owners and times; the units' states).
"""

from __future__ import annotations

import re
import shlex
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from harness.drift.mutations import Mutation
from harness.errors import CheckBroken, HarnessError
from harness.state.diff import Mask
from harness.state.model import Snapshot
from harness.state.tracker import ScriptRunner

BACKUP = "/var/lib/harness/drift-converged.tar"  # outside every scan (SCAN_EXCLUDES)


class Detection(str, Enum):
    """Whether the drift check saw a mutation (the matrix's `detected` column)."""

    DETECTED = "yes"  # it failed, and named what drifted in a line it does not print on the converged host
    UNNAMED = "not named"  # it failed without naming it
    MISSED = "MISSED"  # it passed
    NO_CHECK = "no check"  # there is none: healing only
    NOT_RUN = "not run"


DETECTED, UNNAMED, MISSED, NO_CHECK = Detection.DETECTED, Detection.UNNAMED, Detection.MISSED, Detection.NO_CHECK
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
    detected: Detection = Detection.NOT_RUN
    healing: Healing | None = None  # what a new apply (or the pods' loop) left; None: not run
    unjudged: str | None = None  # why the mutation could not be judged: it failed, or it changed nothing
    made: bool = True  # False: the mutation's own script failed
    check_output: str = ""
    judged: str = ""  # the lines of the check's output that were news: where a name was looked for
    short_named: bool = False  # detected by a short name alone (a service without `.service`)
    unnamed_fails: bool = True  # a DaemonSet's loop is judged by its healing: an unnamed repair may only warn

    @property
    def healed(self) -> bool:
        return self.healing is not None and not self.healing.remaining

    @property
    def failed(self) -> bool:
        unnamed = self.detected is UNNAMED and self.unnamed_fails
        return self.unjudged is not None or unnamed or self.detected in (MISSED, Detection.NOT_RUN) or not self.healed

    @property
    def detected_column(self) -> str:
        return self.unjudged or self.detected.value

    @property
    def healed_column(self) -> str:
        if self.unjudged is not None:
            return self.unjudged
        if self.healing is None:
            return Detection.NOT_RUN.value
        if self.healing.remaining:
            return "NO: " + "; ".join(self.healing.remaining)
        return "yes" if self.healing.seconds is None else f"yes ({self.healing.seconds:.1f} s)"


@dataclass
class DriftReport:
    has_check: bool
    rows: list[Row] = field(default_factory=list)

    @property
    def failures(self) -> list[Row]:
        return [r for r in self.rows if r.failed]

    def summary(self) -> str:
        total = len(self.rows)
        counts = Counter(r.detected for r in self.rows if r.unjudged is None)
        healed = sum(r.healed for r in self.rows)
        unmade = sum(not r.made for r in self.rows)
        machines = len({r.mutation.machine for r in self.rows})
        head = f"{total} mutation{'s' if total != 1 else ''} on {machines} machine{'s' if machines != 1 else ''}"
        tail = f", {unmade} could not be made" if unmade else ""
        if not self.has_check:
            return f"{head}: {healed} healed{tail}; no drift check in the spec, so healing only"
        checked = counts[DETECTED] + counts[UNNAMED] + counts[MISSED]  # mutations the check was run against
        detection = f"{counts[DETECTED]} detected"
        warned = sum(r.detected is UNNAMED and not r.unnamed_fails and r.healed for r in self.rows)
        if counts[UNNAMED] - warned:
            detection += f", {counts[UNNAMED] - warned} failed without naming what drifted"
        if warned:
            detection += f", {warned} repaired without naming it in the log (a warning; `drift.unnamed: fail` fails it)"
        if checked and counts[DETECTED] == 0 and counts[UNNAMED] == 0:
            detection = f"the drift check is blind to every mutation (0 of {checked} detected)"
        return f"{head}: {detection}, {healed} healed{tail}"

    def table(self, mask: Mask) -> str:
        """The matrix: one mutation a line, whether the check saw it, whether a new apply healed it."""
        labels = [mask(_label(r.mutation)) for r in self.rows]
        width = min(72, max((len(label) for label in labels), default=8))
        lines = [f"{'mutation':<{width}}  {'detected':<10}  healed"]
        lines += [
            f"{label:<{width}}  {mask(r.detected_column):<10}  {mask(r.healed_column)}"
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
                "detected": mask(r.detected_column),
                "healed": mask(r.healed_column),
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
    report: str | None = None  # what a self-healing pod logged while it repaired; None: the healing says nothing
    seconds: float | None = None  # how long it took, when it healed by itself


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


def run_drift(run: DriftStrategy, converged: dict[str, Snapshot], mutations: list[Mutation]) -> DriftReport:
    report = DriftReport(has_check=run.has_check)
    machines = dict.fromkeys(m.machine for m in mutations)
    save(run, converged if run.heal_reaches_all else {name: converged[name] for name in machines})
    baselines: dict[str, str] = {}  # what the check prints on the converged host: naming must be news
    for machine in machines if run.check_per_machine else list(machines)[:1]:
        baseline = run.check(machine)
        if baseline is not None and not baseline.passed:
            raise CheckBroken(run.mask(f"the drift check fails on the converged host ({machine})\n{baseline.output}"))
        baselines[machine] = baseline.output if baseline is not None else ""
    for mutation in mutations:
        row = Row(mutation, unnamed_fails=run.unnamed_fails)
        report.rows.append(row)
        run.before(mutation)
        code, out, err = run.runners[mutation.machine](mutation.script)
        if code != 0:
            row.made = False
            row.unjudged = f"mutation failed (exit {code}): {(err or out).decode(errors='replace')[-200:]}"
            put_back(run, converged, mutation, applied=False)
            continue
        if not run.took(mutation):
            row.unjudged = NOTHING_CHANGED
            put_back(run, converged, mutation, applied=False)  # what it did outside the watched state, undone
            continue
        usual = baselines.get(mutation.machine, next(iter(baselines.values()), ""))
        check = run.check(mutation.machine)
        if check is not None:
            _judge(row, not check.passed, check.output, usual)
        healing = run.heal(mutation)
        if check is None:  # the pods' own log must name what they repaired, when they say anything
            row.detected = NO_CHECK
            if healing.report is not None:
                _judge(row, True, healing.report, "")
        row.healing = healing
        if healing.remaining:
            put_back(run, converged, mutation)
    _unless_said_of_others(report.rows)
    return report


def _judge(row: Row, failed: bool, output: str, baseline: str) -> None:
    """Failed, and named in a line the check did not print on the converged host (its times aside)."""
    row.check_output = output
    if not failed:
        row.detected = MISSED
        return
    row.judged = news(output, baseline)
    mutation = row.mutation
    fully = mutation.fully_named_in(row.judged)
    row.short_named = not fully and mutation.named_in(row.judged, baseline)
    row.detected = DETECTED if fully or row.short_named else UNNAMED


def _unless_said_of_others(rows: list[Row]) -> None:
    """A short name names nothing when its lines are what the check says of other items too: a check that opens
    every report with `pve-nut: drift found` does not name pve-nut.service (numbers and times aside)."""
    for row in (r for r in rows if r.short_named):
        lines = {_generic(line) for line in row.mutation.short_name_lines(row.judged)}
        elsewhere = {
            _generic(line)
            for other in rows
            if other.mutation.item != row.mutation.item
            for line in other.judged.splitlines()
        }
        if lines <= elsewhere:
            row.detected, row.short_named = UNNAMED, False


def _generic(line: str) -> str:
    return re.sub(r"\d+", "#", _CLOCK.sub("#", line)).strip().lower()


def repeated(log: str) -> str:
    """The lines a log holds more than once, clock readings aside: what a loop says on every pass (its first
    pass's `wrote /etc/x` is said once, and is what a repair says again)."""
    counts = Counter(_CLOCK.sub("#", line) for line in log.splitlines())
    return "\n".join(line for line in log.splitlines() if counts[_CLOCK.sub("#", line)] > 1)


def news(output: str, baseline: str) -> str:
    """The lines of ``output`` that ``baseline`` does not hold, clock readings aside."""
    usual = {_CLOCK.sub("#", line) for line in baseline.splitlines()}
    return "\n".join(line for line in output.splitlines() if _CLOCK.sub("#", line) not in usual)


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


def put_back(run: DriftStrategy, converged: dict[str, Snapshot], mutation: Mutation, *, applied: bool = True) -> None:
    """Put the machines back as they converged (the mutated one, and any other an apply changed), so the next
    mutation starts from there."""
    others = [m for m in converged if m != mutation.machine] if run.heal_reaches_all and applied else []
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


def _restore(run: DriftStrategy, machine: str, snapshot: Snapshot) -> None:
    q = shlex.quote
    lines = [f"tar -xpf {BACKUP} -C /", "systemctl daemon-reload"]
    for name, unit in sorted(snapshot.units.items()):
        if unit.enabled == "enabled":
            lines.append(f"systemctl enable --quiet -- {q(name)}")
        lines.append(f"systemctl {'start' if unit.active == 'active' else 'stop'} -- {q(name)}")
    run.runners[machine]("\n".join(lines))
