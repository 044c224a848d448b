"""What a rollback left behind: the host after `previous, current, previous` against the host after `previous`.

Leftovers are what the current version added and the previous one does not remove (files, cron entries,
units, packages, users, groups); differences are everything else still changed. Both fail unless the spec
allows the item (``rollback.allow``). Side effects that left the state equal (a rewrite, a restart) are not
counted: the previous version's own apply makes them.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, field

from harness.state.derive import deployable_unit
from harness.state.diff import Change, StateDiff

LEFTOVER_KINDS = ("added", "installed")
Stamps = dict[str, str | None]  # machine -> the stamp file's text (None: no such file)


@dataclass
class RollbackReport:
    leftovers: list[Change] = field(default_factory=list)
    differences: list[Change] = field(default_factory=list)
    allowed: list[Change] = field(default_factory=list)  # either kind, turned into warnings by the spec
    stamp: str = ""
    stamp_failed: bool = False

    @property
    def failed(self) -> bool:
        return bool(self.leftovers or self.differences or self.stamp_failed)

    def summary(self) -> str:
        parts = [
            f"{len(self.leftovers)} leftover{'s' if len(self.leftovers) != 1 else ''}",
            f"{len(self.differences)} other difference{'s' if len(self.differences) != 1 else ''}",
        ]
        if self.allowed:
            parts.append(f"{len(self.allowed)} allowed by the spec")
        return ", ".join(parts) + f"; {self.stamp}"

    def lines(self) -> list[str]:
        """One line per item: fail or warn, then what it is."""
        return [
            *(f"fail: leftover {c.line()}" for c in self.leftovers),
            *(f"fail: differs {c.line()}" for c in self.differences),
            *(f"warn: allowed {c.line()}" for c in self.allowed),
        ]


def classify(diff: StateDiff, allow: Iterable[str]) -> RollbackReport:
    patterns = tuple(allow)
    report = RollbackReport()
    for change in diff.state_changes:
        if change.section == "unit" and not deployable_unit(change.item):
            continue  # logins, devices: not the deployer's
        if any(fnmatch.fnmatchcase(change.item, p) for p in patterns):
            report.allowed.append(change)
        elif change.kind in LEFTOVER_KINDS:
            report.leftovers.append(change)
        else:
            report.differences.append(change)
    return report


def judge_stamp(path: str | None, first: Stamps, current: Stamps, last: Stamps) -> tuple[str, bool]:
    """Does the version stamp say previous after the rollback? (the verdict line, failed)"""
    if path is None:
        return "no version stamp named (the spec's `rollback.stamp`)", False
    verdicts, failed = [], False
    for machine in sorted(first.keys() | last.keys()):
        before, now, theirs = first.get(machine), last.get(machine), current.get(machine)
        if before is None and now is None and theirs is None:
            continue
        if now is None and before is None:  # the previous version writes none, and the rollback left none
            verdicts.append(f"{machine}: no {path}, as the previous version left it (the current wrote {theirs!r})")
        elif now is None:
            verdicts.append(f"{machine}: {path} is missing after the rollback")
            failed = True
        elif now != before:
            wrote = "none" if before is None else repr(before)
            verdicts.append(f"{machine}: {path} says {now!r} after the rollback; the previous version wrote {wrote}")
            failed = True
        elif theirs == now:
            verdicts.append(f"{machine}: {path} says {now!r}, but the current version writes the same: it cannot tell")
        else:
            verdicts.append(f"{machine}: {path} says {now!r} (previous; the current wrote {theirs!r})")
    if not verdicts:
        return f"no machine has {path}", True
    return "; ".join(verdicts), failed
