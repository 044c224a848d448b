"""Cron files as Debian's cron reads them: the files of ``/etc/cron.d`` a deployer ships, and when their entries run.

Debian's rules, each a finding: cron ignores a file whose name holds anything but letters, digits, `_` and `-` (a
dot: `pve-nut.cron`); each entry has five time fields, a user and a command (or `@daily`, a user and a command); the
last entry needs its newline. When day-of-month and day-of-week are both restricted, cron runs the entry on days
that match EITHER (a field that starts with `*` counts as unrestricted, Debian's exception): `0 10 1-7 * 6` runs
on every Saturday and on days 1 to 7, not on the first Saturday. Such entries are found by comparing the next
month's firings with the AND reading, and a guard in the command (`[ "$(date +%u)" -eq 6 ] && ...`) is applied to
say on which days the job really does its work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from cronsim import CronSim, CronSimError

from harness.lint.findings import Finding

NAME = re.compile(r"^[A-Za-z0-9_-]+$")  # run-parts' names: anything else is skipped without a word
USER = re.compile(r"^[a-z_][a-z0-9_.-]*\$?$")
VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\s*=")
SPECIAL = {
    "@reboot": None,
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
SHOWN_TIMES = 6  # of an entry's firings in the month shown, the first ones
# A guard on the day in the command: `[ "$(date +%u)" -eq 6 ] &&`, `test $(date +\%d) -le 7 ||`, `[[ ... ]]`.
GUARD = re.compile(
    r"""(?:\[\[?|test)\s+"?\$\(date\s+\+\\?%(?P<format>[uwdaA])\)"?\s*(?P<op>-eq|-ne|-le|-lt|-ge|-gt|==|=|!=)\s*"""
    r"""["']?(?P<value>\w+)["']?\s*\]?\]?\s*(?P<then>&&|\|\|)"""
)
_WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


@dataclass(frozen=True)
class CronEntry:
    file: Path
    line: int
    schedule: str  # the five fields, or a special such as `@daily`
    user: str
    command: str


def shipped_cron_files(folder: Path) -> list[Path]:
    """Files a deployer ships for ``/etc/cron.d``: those in a folder named ``cron.d`` (its tests aside)."""
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file() and path.parent.name == "cron.d" and "tests" not in path.relative_to(folder).parts
    )


def check_file(path: Path, text: str) -> tuple[list[Finding], list[CronEntry]]:
    """The file's findings (name, format, newline) and its entries."""
    findings: list[Finding] = []
    if not NAME.match(path.name):
        findings.append(
            Finding(
                "cron-name",
                path,
                None,
                f"cron ignores /etc/cron.d/{path.name}: its name holds characters other than letters, digits, `_` "
                "and `-`",
                f"name it `{re.sub(r'[^A-Za-z0-9_-]', '-', path.name)}`",
            )
        )
    if text and not text.endswith("\n"):
        findings.append(
            Finding(
                "cron-newline",
                path,
                text.count("\n") + 1,
                "the last line has no newline: cron ignores it",
                "end the file with a newline",
            )
        )
    entries = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#") or VARIABLE.match(line):
            continue
        entry, problem = _entry(path, number, line)
        if problem is not None:
            findings.append(problem)
        elif entry is not None:
            entries.append(entry)
    return findings, entries


def _entry(path: Path, number: int, line: str) -> tuple[CronEntry | None, Finding | None]:
    special = line.startswith("@")
    tokens = line.split(None, 2 if special else 6)
    schedule = tokens[0] if special else " ".join(tokens[:5])
    problem = _schedule_problem(schedule, len(tokens), special)
    if problem is not None:
        return None, Finding("cron-format", path, number, f"`{line}`: {problem}", _FORMAT_FIX)
    rest = tokens[1:] if special else tokens[5:]
    if len(rest) < 2 and (not rest or USER.match(rest[0])):
        return None, Finding("cron-format", path, number, f"`{line}` has no command", _FORMAT_FIX)
    user = rest[0]
    if len(rest) < 2 or not USER.match(user):
        return None, Finding(
            "cron-user",
            path,
            number,
            f"`{line}`: the field after the schedule is `{user}`, not a user: entries in /etc/cron.d name the user "
            "to run as",
            f"insert it after the schedule: `{schedule} root {' '.join(rest)}`",
        )
    return CronEntry(path, number, schedule, user, rest[1]), None


_FORMAT_FIX = "write the schedule, the user to run as, then the command: `*/5 * * * * root /opt/x/run.sh`"


def _schedule_problem(schedule: str, tokens: int, special: bool) -> str | None:
    if special:
        return None if schedule in SPECIAL else f"`{schedule}` is no schedule cron knows ({', '.join(SPECIAL)})"
    if tokens < 6:
        return f"{tokens} field(s): an entry needs five time fields, a user and a command"
    try:
        CronSim(schedule, datetime(2026, 1, 1))
    except CronSimError as exc:
        return f"the time fields `{schedule}`: {exc}"
    return None


def next_month(now: datetime) -> tuple[datetime, datetime]:
    first = (now.replace(day=1) + timedelta(days=32)).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return first, (first + timedelta(days=32)).replace(day=1)


def firings(schedule: str, start: datetime, end: datetime, *, day_and: bool | None = None) -> list[datetime]:
    """When cron runs the schedule in [start, end); ``day_and`` forces the day fields' reading."""
    expression = SPECIAL.get(schedule, schedule)
    if expression is None:  # @reboot
        return []
    times = CronSim(expression, start - timedelta(minutes=1))
    if day_and is not None:
        times.day_and = day_and
    found = []
    for when in times:
        if when >= end:
            break
        if when >= start:
            found.append(when)
    return found


def both_days_restricted(schedule: str) -> bool:
    fields = schedule.split()
    return len(fields) == 5 and not fields[2].startswith("*") and not fields[4].startswith("*")


def works_on(entry: CronEntry, days: list[date]) -> list[date] | None:
    """The days the command does its work, when it guards on the day (None: no guard it knows)."""
    guard = GUARD.search(entry.command)
    if guard is None:
        return None
    passes = [day for day in days if _holds(guard, day)]
    return passes if guard["then"] == "&&" else [day for day in days if day not in passes]


def _holds(guard: re.Match[str], day: date) -> bool:
    value = guard["value"].lower()
    actual: int | str
    match guard["format"]:
        case "u":
            actual = day.isoweekday()
        case "w":
            actual = day.isoweekday() % 7
        case "d":
            actual = day.day
        case _:  # %a, %A: a name
            actual = _WEEKDAYS[day.weekday()]
            value = value[:3]
    if isinstance(actual, str):
        return (actual == value) == (guard["op"] in ("=", "==", "-eq"))
    wanted = int(value) if value.isdigit() else -1
    return {
        "-eq": actual == wanted,
        "=": actual == wanted,
        "==": actual == wanted,
        "-ne": actual != wanted,
        "!=": actual != wanted,
        "-le": actual <= wanted,
        "-lt": actual < wanted,
        "-ge": actual >= wanted,
        "-gt": actual > wanted,
    }[guard["op"]]


def time_findings(entry: CronEntry, now: datetime) -> tuple[list[Finding], str]:
    """The OR reading of two restricted day fields, when it differs from the AND one (with the dates); and the
    entry's next month as a line for the report."""
    start, end = next_month(now)
    times = firings(entry.schedule, start, end)
    days = sorted({when.date() for when in times})
    work = works_on(entry, days)
    shown = ", ".join(when.strftime("%a %d %H:%M") for when in times[:SHOWN_TIMES])
    more = f" and {len(times) - SHOWN_TIMES} more" if len(times) > SHOWN_TIMES else ""
    line = f"{entry.file.name}:{entry.line} `{entry.schedule}`: {len(times)} runs in {start:%B %Y} ({shown}{more})"
    if work is not None:
        line += f"; its guard lets it work on {len(work)} day(s): {_dates(work)}"
    if not both_days_restricted(entry.schedule):
        return [], line
    meant = sorted({when.date() for when in firings(entry.schedule, start, end, day_and=True)})
    effective = work if work is not None else days
    if effective == meant:
        return [], line
    extra = [day for day in effective if day not in meant]
    message = (
        f"`{entry.schedule}` restricts both day-of-month and day-of-week, so cron runs it when EITHER matches: "
        f"in {start:%B %Y} it {'works' if work is not None else 'runs'} on {len(effective)} day(s) "
        f"({_dates(effective)}), not only on the {len(meant)} that match both ({_dates(meant) or 'none'})"
    )
    fix = (
        "keep one day field and test the other in the command, e.g. `0 10 1-7 * * root "
        '[ "$(date +\\%u)" -eq 6 ] && /opt/x/run.sh` for the first Saturday'
    )
    finding = Finding("cron-day-or", entry.file, entry.line, message, fix, detail=f"extra days: {_dates(extra)}")
    return [finding], line


def _dates(days: list[date]) -> str:
    return ", ".join(day.strftime("%a %d") for day in days)
