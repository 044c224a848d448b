"""Cron files as Debian's cron reads them: the files of ``/etc/cron.d`` a deployer ships, and when their entries run.

Debian's rules, each a finding: cron skips a file whose name holds anything but letters, digits, `_` and `-` (a
dot: `pve-nut.cron`; files whose names start with a dot are placeholders, skipped on purpose); a file whose last
line has no newline is broken (crontab(5)); each entry has five time fields of Vixie cron's syntax (no `L`, `W` or
`#`), a user and a command, or `@daily`, a user and a command; an unescaped `%` in a command ends it (the rest
becomes its standard input); CRLF line endings leave a `\r` in the command.

When day-of-month and day-of-week are both restricted, cron runs the entry on days that match EITHER (a field
that starts with `*` counts as unrestricted, Debian's exception): `0 10 1-7 * 6` runs on every Saturday and on
days 1 to 7, not on the first Saturday. Such an entry is found when, in any month of the coming year, its days
differ from the AND reading; the first such month's dates are shown. A guard in the command on the day
(`[ "$(date +\\%u)" -eq 6 ] && ...`, `test ... || exit 0`) is applied to say on which days the job does its work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from cronsim import CronSim, CronSimError

from harness.lint.findings import Finding

NAME = re.compile(r"^[A-Za-z0-9_-]+$")  # run-parts' names: anything else is skipped without a word
USER = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*\$?$")  # Debian has Debian-exim, Debian-snmp
COMMANDS = {  # words that are commands, not users: an entry that starts its command there lacks the user
    "run-parts", "flock", "bash", "sh", "python", "python3", "perl", "curl", "wget", "test", "cd", "find", "nice",
    "ionice", "timeout", "sleep", "echo", "rsync", "tar", "systemctl", "docker", "env", "exec", "chronic",
}  # fmt: skip
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
_NAMES = {
    3: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
    4: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
}
SHOWN_TIMES = 6  # of an entry's firings in the month shown, the first ones
MONTHS_LOOKED_AT = 12
# A guard on the day: `[ "$(date +\%u)" -eq 6 ] &&`, `test $(date -u '+\%d') -le 7 || exit 0`, backticks, `[[ ]]`.
GUARD = re.compile(
    r"""(?:\[\[?|test)\s+["']?(?:\$\(|`)date\s+(?:-u\s+)?["']?\+(?P<escape>\\?)%(?P<format>[uwdeaA])["']?(?:\)|`)"""
    r"""["']?\s*(?P<op>-eq|-ne|-le|-lt|-ge|-gt|==|=|!=)\s*["']?(?P<value>[\w ]+?)["']?\s*\]?\]?\s*"""
    r"""(?P<then>&&|\|\|)(?P<stop>\s*[{(]?\s*(?:exit|return)\b[^;]*;?\s*[})]?)?"""
)
UNESCAPED_PERCENT = re.compile(r"(?<!\\)%")


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
    """The file's findings (name, format, newline, `%`) and the entries cron runs (none when it skips the file)."""
    if path.name.startswith("."):  # a placeholder (`.placeholder`, `.gitkeep`): cron skips it on purpose
        return [], []
    findings: list[Finding] = []
    if not NAME.match(path.name):
        findings.append(
            Finding(
                "cron-name",
                path,
                None,
                f"cron skips /etc/cron.d/{path.name}: its name holds characters other than letters, digits, "
                "`_` and `-`",
                f"name it `{re.sub(r'[^A-Za-z0-9_-]', '-', path.name.split('.')[0])}`",
            )
        )
    if text and not text.endswith("\n"):
        findings.append(
            Finding(
                "cron-newline",
                path,
                text.count("\n") + 1,
                "the last line has no newline: cron takes the file as broken (crontab(5))",
                "end the file with a newline",
            )
        )
    if "\r" in text:
        findings.append(
            Finding(
                "cron-format",
                path,
                text[: text.index("\r")].count("\n") + 1,
                "CRLF line endings: cron keeps the `\\r` at the end of each command",
                "save it with LF endings",
            )
        )
    entries = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#") or VARIABLE.match(line):
            continue
        entry, problem = _entry(path, number, line)
        findings += [problem] if problem is not None else _percent(entry) if entry is not None else []
        if entry is not None and problem is None:
            entries.append(entry)
    skipped = any(f.check in ("cron-name", "cron-newline") for f in findings)
    return findings, [] if skipped else entries


def _entry(path: Path, number: int, line: str) -> tuple[CronEntry | None, Finding | None]:
    special = line.startswith("@")
    tokens = line.split(None, 2 if special else 6)
    schedule = tokens[0] if special else " ".join(tokens[:5])
    problem = _schedule_problem(schedule, len(tokens), special)
    if problem is not None:
        return None, Finding("cron-format", path, number, f"`{line}`: {problem}", _FORMAT_FIX)
    rest = tokens[1:] if special else tokens[5:]
    if len(rest) < 2 and (not rest or (USER.match(rest[0]) and rest[0] not in COMMANDS)):
        return None, Finding("cron-format", path, number, f"`{line}` has no command", _FORMAT_FIX)
    user = rest[0]
    if len(rest) >= 2 and _vixie_field(user, 4) and not user.isalpha() and USER.match(rest[1].split()[0]):
        return None, Finding("cron-format", path, number, f"`{line}` has six time fields: cron.d takes five",
                             _FORMAT_FIX)  # fmt: skip
    if len(rest) < 2 or not USER.match(user) or user in COMMANDS or user.endswith((".sh", ".py", ".pl")):
        return None, Finding(
            "cron-user", path, number,
            f"`{line}`: the field after the schedule is `{user}`, not a user name: entries in /etc/cron.d name the "
            "user to run as", f"insert it after the schedule: `{schedule} root {' '.join(rest)}`",
        )  # fmt: skip
    return CronEntry(path, number, schedule, user, rest[1]), None


_FORMAT_FIX = "write the schedule, the user to run as, then the command: `*/5 * * * * root /opt/x/run.sh`"


def _schedule_problem(schedule: str, tokens: int, special: bool) -> str | None:
    if special:
        return None if schedule in SPECIAL else f"`{schedule}` is no schedule cron knows ({', '.join(SPECIAL)})"
    if tokens < 6:
        return f"{tokens} field(s): an entry needs five time fields, a user and a command"
    for index, field in enumerate(schedule.split()):
        if not _vixie_field(field, index):
            return f"the time field `{field}` is not Vixie cron's syntax (numbers, `*`, `-`, `,`, `/`, names)"
    try:
        CronSim(schedule, datetime(2026, 1, 1))
    except CronSimError as exc:
        return f"the time fields `{schedule}`: {exc}"
    return None


def _vixie_field(field: str, index: int) -> bool:
    """Cron's own syntax only: cronsim also takes `L`, `W` and `#`, which Debian's cron rejects."""
    names = _NAMES.get(index, [])
    return all(part == "*" or part.isdigit() or part in names for part in re.split(r"[,/-]", field.lower()))


def _percent(entry: CronEntry) -> list[Finding]:
    found = UNESCAPED_PERCENT.search(entry.command)
    if found is None:
        return []
    cut = entry.command[: found.start()]
    return [
        Finding(
            "cron-percent",
            entry.file,
            entry.line,
            f"an unescaped `%` ends the command: cron runs `{cut.strip()}` and gives the rest as its input",
            "escape each `%` as `\\%` (in `date +\\%F`, say)",
        )
    ]


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
    """The days the command does its work, when it starts with guards on the day, one after the other (None: no
    guard it knows; or a guard whose unescaped `%` cron cuts, which `cron-percent` says)."""
    command, working = entry.command, list(days)
    guards = 0
    while (guard := GUARD.match(command.lstrip())) is not None and guard["escape"]:
        passes = {day for day in working if _holds(guard, day)}
        # `test && work` and `test || exit 0; work` work when it holds; `test && exit 0; work`, `test || work` not
        holds_means_work = (guard["then"] == "&&") != bool(guard["stop"])
        working = [day for day in working if (day in passes) == holds_means_work]
        command, guards = command.lstrip()[guard.end() :], guards + 1
        if guard["stop"]:  # `|| exit 0;` or `&& exit 0;`: the rest after it is the work
            command = command.split(";", 1)[1] if ";" in command else ""
    return working if guards else None


def _holds(guard: re.Match[str], day: date) -> bool:
    """The test as the shell makes it, on what `date` prints that day: `=` compares text (`%d` is `01`)."""
    printed = {
        "u": str(day.isoweekday()),
        "w": str(day.isoweekday() % 7),
        "d": f"{day.day:02d}",
        "e": f"{day.day:2d}",
        "a": day.strftime("%a"),
        "A": day.strftime("%A"),
    }[guard["format"]]
    value, op = guard["value"], guard["op"]
    if op in ("=", "=="):
        return printed == value
    if op == "!=":
        return printed != value
    try:
        number, wanted = int(printed), int(value)
    except ValueError:  # `-eq` on a name: the shell's error, so the test fails
        return False
    return {
        "-eq": number == wanted, "-ne": number != wanted, "-le": number <= wanted, "-lt": number < wanted,
        "-ge": number >= wanted, "-gt": number > wanted,
    }[op]  # fmt: skip


def time_findings(entry: CronEntry, now: datetime) -> tuple[list[Finding], str]:
    """The OR reading of two restricted day fields, where it differs from the AND one in the coming year (with
    that month's dates); and the entry's next month as a line for the report."""
    start, end = next_month(now)
    times = firings(entry.schedule, start, end)
    work = works_on(entry, sorted({when.date() for when in times}))
    shown = ", ".join(when.strftime("%a %d %H:%M") for when in times[:SHOWN_TIMES])
    more = f" and {len(times) - SHOWN_TIMES} more" if len(times) > SHOWN_TIMES else ""
    line = f"{entry.file.name}:{entry.line} `{entry.schedule}`: {len(times)} runs in {start:%B %Y} ({shown}{more})"
    if work is not None:
        line += f"; its guard lets it work on {len(work)} day(s): {_dates(work)}"
    if not both_days_restricted(entry.schedule):
        return [], line
    for _ in range(MONTHS_LOOKED_AT):
        finding = _either(entry, start, end)
        if finding is not None:
            return [finding], line
        start, end = next_month(start)
    return [], line


def _either(entry: CronEntry, start: datetime, end: datetime) -> Finding | None:
    daily = "0 0 " + " ".join(entry.schedule.split()[2:])  # the days alone: an every-minute entry stays quick
    days = sorted({when.date() for when in firings(daily, start, end)})
    work = works_on(entry, days)
    effective = work if work is not None else days
    meant = sorted({when.date() for when in firings(daily, start, end, day_and=True)})
    if effective == meant:
        return None
    message = (
        f"`{entry.schedule}` restricts both day-of-month and day-of-week, so cron runs it when EITHER matches: "
        f"in {start:%B %Y} it {'works' if work is not None else 'runs'} on {len(effective)} day(s) "
        f"({_dates(effective)}), not only on the {len(meant)} that match both ({_dates(meant) or 'none'})"
    )
    fix = (
        "keep one day field and test the other in the command, e.g. `0 10 1-7 * * root "
        '[ "$(date +\\%u)" -eq 6 ] && /opt/x/run.sh` for the first Saturday'
    )
    extra = [day for day in effective if day not in meant]
    return Finding("cron-day-or", entry.file, entry.line, message, fix, detail=f"extra days: {_dates(extra)}")


def _dates(days: list[date]) -> str:
    return ", ".join(day.strftime("%a %d") for day in days)
