"""The drift matrix: a row per mutation (whether the check saw it, whether it healed), and its summary."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum

from harness.checks.report import quoted_tail
from harness.drift.mutations import Mutation
from harness.state.diff import Mask


class Detection(str, Enum):
    """Whether the drift check saw a mutation (the matrix's `detected` column)."""

    DETECTED = "yes"  # it failed, and named what drifted in a line it does not print on the converged host
    UNNAMED = "not named"  # it failed without naming it
    MISSED = "MISSED"  # it passed
    NO_CHECK = "no check"  # there is none: healing only
    NOT_RUN = "not run"


DETECTED, UNNAMED, MISSED, NO_CHECK = Detection.DETECTED, Detection.UNNAMED, Detection.MISSED, Detection.NO_CHECK
NOTHING_CHANGED = "the mutation changed nothing the snapshots watch (watch it with `state.paths`, or drop it)"
EVIDENCE_ROWS = 12  # failing rows whose evidence the terminal shows
EVIDENCE_LINES = 20  # of each piece, its last lines
EVIDENCE_CHARS = 8000  # a piece of evidence in the JSON: its end, where the errors are
NOT_RUN_STUCK = "not run: no copy of the converged machines was left to run it on"


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
    stuck: str | None = None  # what neither a new apply nor the harness could put back after it
    phases: dict[str, float] = field(default_factory=dict)  # seconds by phase: mutate, check, heal, put back
    deployer_seconds: float = 0.0  # of those, what the deployer's own pods ran (its check and its apply)
    retried: bool = False  # it runs a second time: the lane it first ran on broke

    @property
    def healed(self) -> bool:
        return self.healing is not None and not self.healing.remaining

    @property
    def failed(self) -> bool:
        unnamed = self.detected is UNNAMED and self.unnamed_fails
        return self.unjudged is not None or unnamed or self.detected in (MISSED, Detection.NOT_RUN) or not self.healed

    def evidence(self) -> list[tuple[str, str]]:
        """What decided the row's verdict, a titled text each: the check's output, what healing left and the
        healing apply's (or the pod's) own account."""
        if self.unjudged is not None:
            return [("why it could not be judged", self.unjudged)]
        found: list[tuple[str, str]] = []
        if self.detected is UNNAMED:
            found.append(("output that failed without naming it (the lines not printed on the converged host)",
                          self.judged or self.check_output))  # fmt: skip
        elif self.detected is MISSED:
            found.append(("the drift check passed; its output", self.check_output or "(no output)"))
        healing = self.healing
        if healing is not None and healing.remaining:
            found.append(("after healing", "\n".join(healing.remaining)))
        if healing is not None and healing.applied is not None and not self.healed:
            found.append(("the healing apply", healing.applied))
        if (
            healing is not None
            and healing.report is not None
            and not self.healed
            and healing.report != self.check_output
        ):
            found.append(("what the pod logged since the mutation", healing.report or "(nothing)"))
        if self.stuck is not None:
            found.append(("could not be put back", self.stuck))
        return found

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
    lanes: int = 1  # copies of the converged machines the mutations ran on, side by side
    notes: list[str] = field(default_factory=list)  # what happened to the lanes: a clone refused, one replaced

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
        stuck = sum(r.stuck is not None for r in self.rows)
        tail += f", {stuck} could not be put back" if stuck else ""
        not_run = sum(r.unjudged == NOT_RUN_STUCK for r in self.rows)
        tail += f", {not_run} not run" if not_run else ""
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
            detection = f"the drift check missed every mutation it was run against (0 of {checked} detected)"
        return f"{head}: {detection}, {healed} healed{tail}"

    def profile(self) -> str | None:
        """Where a mutation's time goes (medians over the rows that ran each phase), and the deployer's own share:
        what its check and apply pods ran, against everything the row took."""
        phases: dict[str, list[float]] = {}
        for row in self.rows:
            for phase, seconds in row.phases.items():
                phases.setdefault(phase, []).append(seconds)
        if not phases:
            return None
        parts = [f"{phase} {statistics.median(times):.1f} s" for phase, times in phases.items()]
        total = sum(sum(row.phases.values()) for row in self.rows)
        ran = sum(row.deployer_seconds for row in self.rows)
        share = f"; the deployer's own pods ran {ran / total:.0%} of it" if ran and total else ""
        return f"per mutation (median): {', '.join(parts)}{share}"

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

    def evidence_text(self, mask: Mask, rows: int = EVIDENCE_ROWS, lines: int = EVIDENCE_LINES) -> str | None:
        """The failing rows' evidence for the terminal: rows whose check failed without naming what drifted
        first (their output is what a user needs to fix the check), then those that did not heal, then the
        missed ones; each piece cut to its last lines. None when no row failed."""
        failing = sorted(self.failures, key=_evidence_order)
        if not failing:
            return None
        out: list[str] = []
        for row in failing[:rows]:
            out.append(
                f"{mask(_label(row.mutation))}: detected {mask(row.detected_column)}, healed {mask(row.healed_column)}"
            )
            for title, text in row.evidence():
                quoted, count = quoted_tail(mask(text), lines)
                out.append(f"  {title}{f' (last {lines} of {count} lines)' if count > lines else ''}:")
                out += quoted
        if len(failing) > rows:
            out.append(f"... {len(failing) - rows} more failing row(s): every row's evidence is in --deployer-json")
        return "\n".join(out)

    def to_data(self, mask: Mask) -> list[dict[str, object]]:
        return [_row_data(r, mask) for r in self.rows]


def _end(text: str) -> str:
    """Its end, where the errors are, saying what was cut."""
    if len(text) <= EVIDENCE_CHARS:
        return text
    return f"(the first {len(text) - EVIDENCE_CHARS} characters cut)\n" + text[-EVIDENCE_CHARS:]


def _evidence_order(row: Row) -> int:
    if row.detected is UNNAMED:
        return 0
    return 1 if row.unjudged is None and not row.healed else 2


def _row_data(row: Row, mask: Mask) -> dict[str, object]:
    """A row as data: the columns as the table shows them, the same verdicts as values, and its evidence."""
    healing = row.healing
    judged = row.unjudged is None and row.detected is not Detection.NOT_RUN
    seen = row.detected in (DETECTED, UNNAMED) if judged and row.detected is not NO_CHECK else None
    heal_seconds = healing.seconds if healing is not None and healing.seconds is not None else row.phases.get("heal")
    return {
        "machine": row.mutation.machine,
        "mutation": row.mutation.kind,
        "item": mask(row.mutation.item),
        "detail": mask(row.mutation.detail),
        "detected": mask(row.detected_column),
        "healed": mask(row.healed_column),
        "failed": row.failed,
        "is_detected": seen,
        "is_named": (row.detected is DETECTED) if seen else None,
        "is_healed": row.healed if judged and healing is not None else None,
        "heal_seconds": round(heal_seconds, 2) if heal_seconds is not None and row.healed else None,
        "evidence": [
            {"title": title, "text": _end(mask(text))} for title, text in (row.evidence() if row.failed else [])
        ],
    }


def _label(mutation: Mutation) -> str:
    shown = mutation.detail and mutation.kind not in ("edit", "remove-cron")  # the id holds a removed entry
    detail = f" ({mutation.detail})" if shown else ""
    return f"{mutation.machine}: {mutation.id}{detail}"


@dataclass(frozen=True)
class Check:
    passed: bool
    output: str
    ran: float | None = None  # what the deployer's check pod ran, when the check is one


@dataclass(frozen=True)
class Healing:
    remaining: list[str]  # what still differs from the converged host, a line each; empty: healed
    report: str | None = None  # what a self-healing pod logged while it repaired; None: the healing says nothing
    seconds: float | None = None  # how long it took, when it healed by itself
    ran: float | None = None  # what the deployer's apply pods ran, when a new apply healed
    applied: str | None = None  # the healing apply's result, described (its Job's attempts and logs)
