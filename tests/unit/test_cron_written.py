"""The cron.d files a deployer wrote, as the machine lists them: which are the deployer's, and what cron makes of
their mode and owner (Debian's rules, as seen on the debian-12 machine)."""

from __future__ import annotations

import base64
from datetime import datetime
from pathlib import Path

from harness.lint.cron_written import CronFile, check_written, parse_listing, written_files

NOW = datetime(2026, 12, 2, 12, 0)


def record(path: str, kind: str, stat: str, text: str | None) -> bytes:
    content = base64.b64encode(text.encode()) if text is not None else b""
    return b"\0".join([path.encode(), kind.encode(), stat.encode(), content]) + b"\0"


def test_the_listing_is_read_record_by_record() -> None:
    out = record("/etc/cron.d/a", "regular file", "644 root", "0 3 * * * root true\n")
    out += record("/etc/cron.d/link", "symbolic link", "", None)  # points nowhere
    files = parse_listing(out)
    assert files == [
        CronFile("/etc/cron.d/a", "regular file", 0o644, "root", "0 3 * * * root true\n"),
        CronFile("/etc/cron.d/link", "symbolic link", 0, "", ""),
    ]


def test_only_what_the_first_apply_touched_is_the_deployers() -> None:
    files = [CronFile(f"/etc/cron.d/{name}", "regular file", 0o644, "root", "") for name in ("mine", "e2scrub_all")]
    assert [f.path for f in written_files(files, ("/etc/cron.d/mine", "/opt/x"))] == ["/etc/cron.d/mine"]
    assert [f.path for f in written_files(files, ("/etc/cron.d",))] == ["/etc/cron.d/mine", "/etc/cron.d/e2scrub_all"]
    assert written_files(files, None) == files  # nothing derived: every file


def checks(file: CronFile) -> list[tuple[str, str]]:
    found, _ = check_written("web1", file, NOW)
    return [(f.check, f.message) for f in found]


def test_an_owner_other_than_root_or_a_writable_group_makes_cron_skip_the_file() -> None:
    entry = "*/5 * * * * root /bin/true\n"
    assert checks(CronFile("/etc/cron.d/x", "regular file", 0o755, "root", entry)) == []  # executable: fine
    assert checks(CronFile("/etc/cron.d/x", "regular file", 0o600, "root", entry)) == []
    assert checks(CronFile("/etc/cron.d/x", "regular file", 0o664, "root", entry)) == [
        ("cron-mode", "mode 664: its group or others may write it, so cron skips the file (INSECURE MODE)")
    ]
    assert checks(CronFile("/etc/cron.d/x", "regular file", 0o646, "root", entry))[0][0] == "cron-mode"
    assert checks(CronFile("/etc/cron.d/x", "regular file", 0o644, "nobody", entry)) == [
        ("cron-mode", "owned by nobody: cron skips the file (WRONG FILE OWNER)")
    ]
    link = checks(CronFile("/etc/cron.d/x", "symbolic link", 0o644, "www-data", entry))
    assert link == [
        (
            "cron-mode",
            "owned by www-data (a symbolic link: the file it points to counts): cron skips the file (WRONG FILE OWNER)",
        )
    ]


def test_the_text_gets_the_lint_scenarios_cron_checks_and_each_finding_names_its_machine() -> None:
    found, schedules = check_written(
        "pve1", CronFile("/etc/cron.d/nut", "regular file", 0o644, "root", "0 10 1-7 * 6 root x\n"), NOW
    )
    assert [f.check for f in found] == ["cron-day-or"]
    assert all(f.machine == "pve1" for f in found)
    assert found[0].where(Path("/work")).startswith("pve1:/etc/cron.d/nut:1")
    assert schedules[0].startswith("pve1: nut:1 `0 10 1-7 * 6`: 11 runs in January 2027")
    skipped, _ = check_written(
        "pve1", CronFile("/etc/cron.d/nut.cron", "regular file", 0o644, "root", "0 10 1-7 * 6 root x\n"), NOW
    )
    assert [f.check for f in skipped] == ["cron-name"]  # cron skips it: its entries are not read


def test_placeholders_and_directories_are_not_read() -> None:
    assert checks(CronFile("/etc/cron.d/.placeholder", "regular file", 0o666, "nobody", "# x")) == []
    assert checks(CronFile("/etc/cron.d/sub", "directory", 0o777, "root", "")) == []
