"""Cron files as Debian's cron reads them, and when their entries run: the OR of two restricted day fields, and
the guards that decide on which days a job does its work."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from harness.lint.cron import CronEntry, check_file, firings, next_month, time_findings

NOW = datetime(2026, 12, 2, 9, 30)  # next month: January 2027, which begins on a Friday
CRON = Path("/d/configs/cron.d/x")


def entry(schedule: str, command: str = "/opt/x/run.sh") -> CronEntry:
    return CronEntry(CRON, 3, schedule, "root", command)


def checks(path: Path, text: str) -> list[tuple[str, int | None]]:
    findings, _ = check_file(path, text)
    return [(f.check, f.line) for f in findings]


def test_a_well_formed_file_raises_nothing_and_yields_its_entries() -> None:
    text = '# managed\nSHELL=/bin/bash\nMAILTO=""\n\n*/5 * * * * root /opt/x/run.sh >> /var/log/x 2>&1\n@daily nut /x\n'
    findings, entries = check_file(CRON, text)
    assert findings == []
    assert [(e.line, e.schedule, e.user) for e in entries] == [(5, "*/5 * * * *", "root"), (6, "@daily", "nut")]
    assert entries[0].command == "/opt/x/run.sh >> /var/log/x 2>&1"


@pytest.mark.parametrize(
    ("name", "ignored"),
    [("pve-nut", False), ("pve_nut2", False), ("pve-nut.cron", True), ("pve-nut~", True), ("nut.dpkg-old", True)],
)
def test_cron_ignores_a_file_whose_name_has_a_dot_or_other_characters(name: str, ignored: bool) -> None:
    assert (("cron-name", None) in checks(CRON.with_name(name), "0 1 * * * root x\n")) is ignored


def test_an_entry_without_a_user_or_fields_and_a_last_line_without_newline_are_found() -> None:
    text = "*/5 * * * * /opt/x/run.sh\n0 1 * * root /x\n@often root /x\n0 1 * * * root /x"
    assert checks(CRON, text) == [("cron-newline", 4), ("cron-user", 1), ("cron-format", 2), ("cron-format", 3)]


def test_bad_time_fields_are_found() -> None:
    assert checks(CRON, "61 * * * * root /x\n") == [("cron-format", 1)]


def test_next_month_and_its_firings() -> None:
    start, end = next_month(NOW)
    assert (start, end) == (datetime(2027, 1, 1), datetime(2027, 2, 1))
    assert len(firings("0 10 * * *", start, end)) == 31
    assert firings("@reboot", start, end) == []


def test_two_restricted_day_fields_run_on_either_and_the_dates_are_listed() -> None:
    findings, line = time_findings(entry("0 10 1-7 * 6"), NOW)
    assert line.startswith("x:3 `0 10 1-7 * 6`: 11 runs in January 2027 (Fri 01 10:00")
    (finding,) = findings
    assert finding.check == "cron-day-or" and finding.line == 3
    assert "on 11 day(s)" in finding.message and "not only on the 1 that match both (Sat 02)" in finding.message
    assert (
        finding.detail == "extra days: Fri 01, Sun 03, Mon 04, Tue 05, Wed 06, Thu 07, Sat 09, Sat 16, Sat 23, Sat 30"
    )


@pytest.mark.parametrize("schedule", ["0 10 * * 6", "0 10 1-7 * *", "0 10 */2 * 6", "0 10 1-7 * */1", "@weekly"])
def test_a_day_field_that_starts_with_a_star_is_unrestricted_and_raises_nothing(schedule: str) -> None:
    assert time_findings(entry(schedule), NOW)[0] == []


def test_two_restricted_fields_that_give_the_same_days_either_way_raise_nothing() -> None:
    assert time_findings(entry("0 10 1 * 5"), NOW)[0] != []  # Jan 1 is a Friday, but so are the 8th, 15th...
    assert time_findings(entry("0 10 1-31 * 0-6"), NOW)[0] == []  # every day either way


@pytest.mark.parametrize(
    ("command", "days"),
    [
        ('[ "$(date +\\%u)" -eq 6 ] && /opt/x/r.sh', "Sat 02"),
        ("[ $(date +\\%d) -le 3 ] && /opt/x/r.sh", "Fri 01, Sat 02, Sun 03"),
        ('test "$(date +\\%a)" = "Sat" && /opt/x/r.sh', "Sat 02"),
        ("[[ $(date -u '+\\%w') == 6 ]] || exit 0; /opt/x/r.sh", "Sat 02"),  # `|| exit`: works when it holds
        ("[ `date +\\%u` -eq 6 ] || /opt/x/not-saturday.sh", "Fri 01, Sun 03, Mon 04, Tue 05, Wed 06, Thu 07"),
        ('[ "$(date +\\%d)" = "1" ] && /opt/x/r.sh', ""),  # `date` prints 01: as text, never "1"
    ],
)
def test_a_guard_in_the_command_says_on_which_days_the_job_works(command: str, days: str) -> None:
    findings, line = time_findings(entry("0 10 1-7 * *", command), NOW)
    assert findings == []  # one restricted day field: cron runs it on days 1-7, as written
    count = len(days.split(", ")) if days else 0
    assert line.endswith(f"its guard lets it work on {count} day(s): {days}")


def test_an_unescaped_percent_ends_the_command_and_is_no_guard() -> None:
    findings, entries = check_file(CRON, '0 10 1-7 * * root [ "$(date +%u)" -eq 6 ] && /opt/x/r.sh\n')
    assert [(f.check, f.line) for f in findings] == [("cron-percent", 1)]
    assert 'cron runs `[ "$(date +` and gives the rest as its input' in findings[0].message
    assert "guard" not in time_findings(entries[0], NOW)[1]


@pytest.mark.parametrize("schedule", ["0 10 L * *", "0 10 * * 5#1", "0 10 * * 5L", "0 10 15W * *"])
def test_time_fields_beyond_vixie_cron_s_syntax_are_found(schedule: str) -> None:
    assert checks(CRON, f"{schedule} root /x\n") == [("cron-format", 1)]


def test_names_of_months_and_days_are_cron_s_syntax() -> None:
    assert checks(CRON, "0 10 * jan-jun,Dec mon-fri root /x\n") == []


def test_a_file_cron_skips_yields_no_entries_and_a_placeholder_is_no_finding() -> None:
    findings, entries = check_file(CRON.with_name("x.cron"), "0 10 * * * root /x\n")
    assert [f.check for f in findings] == ["cron-name"] and entries == []
    assert check_file(CRON.with_name(".placeholder"), "# keeps the folder\n") == ([], [])


def test_crlf_line_endings_are_found() -> None:
    assert checks(CRON, "0 10 * * * root /x\r\n") == [("cron-format", 1)]


@pytest.mark.parametrize("user", ["run-parts", "flock", "backup.sh"])
def test_a_command_word_where_the_user_goes_is_found(user: str) -> None:
    assert checks(CRON, f"0 3 * * * {user} /etc/x\n") == [("cron-user", 1)]


def test_a_user_with_capitals_is_a_user() -> None:
    assert checks(CRON, "0 3 * * * Debian-exim /usr/sbin/exim4 -q\n") == []


def test_an_entry_that_differs_only_in_another_month_is_found() -> None:
    findings, _ = time_findings(entry("0 10 1-7 6 6"), NOW)  # June only: the finding does not wait for June
    assert findings and "in June 2027" in findings[0].message


def test_a_guard_does_not_hide_the_or_of_two_restricted_fields() -> None:
    findings, line = time_findings(entry("0 10 1-7 * 6", '[ "$(date +\\%u)" -eq 6 ] && /opt/x/r.sh'), NOW)
    assert "its guard lets it work on 5 day(s): Sat 02, Sat 09, Sat 16, Sat 23, Sat 30" in line
    (finding,) = findings  # every Saturday, where the author meant the first one
    assert "it works on 5 day(s)" in finding.message and finding.detail == "extra days: Sat 09, Sat 16, Sat 23, Sat 30"


@pytest.mark.parametrize(
    ("command", "days"),
    [
        ('[ "$(date +\\%u)" -eq 6 ] && exit 0; /x', 6),  # every day but Saturday the 2nd
        ('[ "$(date +\\%u)" -ne 6 ] && exit 0; /x', 1),
        ('[ "$(date +\\%u)" -eq 6 ] || { exit 0; }; /x', 1),
        ('[ "$(date +\\%u)" -eq 6 ] && [ "$(date +\\%d)" -le 3 ] && /x', 1),  # both guards: Saturday the 2nd
        ('/x; [ "$(date +\\%u)" -eq 6 ] && /y', None),  # /x runs every day: no guard of the command's
    ],
)
def test_guards_are_read_as_the_shell_runs_them(command: str, days: int | None) -> None:
    line = time_findings(entry("0 10 1-7 * *", command), NOW)[1]
    if days is None:
        assert "guard" not in line
    else:
        assert f"its guard lets it work on {days} day(s)" in line


def test_a_guarded_first_saturday_with_both_day_fields_is_no_finding() -> None:
    both = '[ "$(date +\\%u)" -eq 6 ] && [ "$(date +\\%d)" -le 7 ] && /x'
    assert time_findings(entry("0 10 1-7 * 6", both), NOW)[0] == []


def test_six_time_fields_and_a_number_for_the_user_are_found() -> None:
    findings, _ = check_file(CRON, "0 0 1 * * * root /x\n0 0 * * * 1000 /x\n")
    assert [(f.check, f.line) for f in findings] == [("cron-format", 1), ("cron-user", 2)]
    assert "six time fields" in findings[0].message and "`1000`, not a user name" in findings[1].message


def test_an_every_minute_entry_with_both_day_fields_is_judged_quickly() -> None:
    findings, _ = time_findings(entry("* * 1-31 * 0-6"), NOW)  # every day either way: no finding
    assert findings == []
