"""Whether a drift check's output names a mutation: in lines it does not print on the converged host (clock
readings aside), and not in lines it says of other items too."""

from __future__ import annotations

import re
from collections import Counter

from harness.drift.matrix import DETECTED, MISSED, UNNAMED, Row

# What differs between two runs of the same check without meaning anything: times, dates, epoch seconds.
_CLOCK = re.compile(
    r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d)?([.,]\d+)?(Z|[+-]\d\d:?\d\d)?"  # ISO 8601, Python logging
    r"|\b\d\d:\d\d:\d\d([.,]\d+)?\b"  # a time of day
    r"|\b\d{9,}([.,]\d+)?\b"  # epoch seconds
    r"|\b\d+([.,]\d+)?\s?(ms|s|sec|seconds)\b"  # how long something took
)


def judge(row: Row, failed: bool, output: str, baseline: str) -> None:
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


def unless_said_of_others(rows: list[Row]) -> None:
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
