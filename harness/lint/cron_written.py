"""The cron.d files a deployer wrote on a machine, as cron will read them: the lint scenario's cron checks on
their text, and the two rules Debian's cron applies to the file itself (seen on the debian-12 machine, cron
3.0pl1-162): a file not owned by root is skipped ("WRONG FILE OWNER"), and so is one that its group or others may
write ("INSECURE MODE"); for a symbolic link, the file it points to counts. The executable bit does not matter."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from harness.lint import cron
from harness.lint.findings import Finding
from harness.state.derive import at_or_below

# One record per entry of /etc/cron.d, NUL-separated: path, type, `mode owner` of what it points to, content
LIST_SCRIPT = r"""
for f in /etc/cron.d/* /etc/cron.d/.[!.]*; do
  [ -e "$f" ] || [ -L "$f" ] || continue
  printf '%s\0%s\0%s\0' "$f" "$(stat -c %F "$f")" "$(stat -L -c '%a %U' "$f" 2>/dev/null)"
  if [ -f "$f" ]; then base64 -w0 "$f" 2>/dev/null; fi
  printf '\0'
done
"""


@dataclass(frozen=True)
class CronFile:
    path: str
    kind: str  # stat's %F: regular file, symbolic link, directory, ...
    mode: int  # of what it points to
    owner: str
    text: str


def parse_listing(out: bytes) -> list[CronFile]:
    fields = out.split(b"\0")
    files = []
    for index in range(0, len(fields) - 3, 4):
        path, kind, stat, content = (field.decode(errors="replace") for field in fields[index : index + 4])
        mode, _, owner = stat.partition(" ")
        try:
            text = base64.b64decode(content).decode(errors="replace")
        except (binascii.Error, ValueError):
            text = ""
        files.append(CronFile(path.strip("\n"), kind, int(mode, 8) if mode.isdigit() else 0, owner, text))
    return files


def written_files(files: list[CronFile], touched: tuple[str, ...] | None) -> list[CronFile]:
    """The files the deployer wrote: under what its first apply touched, when that was derived; else every one."""
    if touched is None:
        return files
    return [f for f in files if any(at_or_below(f.path, p) for p in touched)]


def check_written(machine: str, file: CronFile, now: datetime) -> tuple[list[Finding], list[str]]:
    """Its findings (the lint scenario's cron checks, and ``cron-mode``), and each entry's next month."""
    if file.kind not in ("regular file", "regular empty file", "symbolic link") or Path(file.path).name.startswith("."):
        return [], []  # a placeholder (`.placeholder`): cron skips it on purpose
    found, entries = cron.check_file(Path(file.path), file.text)
    schedules = []
    for entry in entries:
        times, line = cron.time_findings(entry, now)
        found += times
        schedules.append(f"{machine}: {line}")
    found += _mode_findings(file)
    return [replace(finding, machine=machine) for finding in found], schedules


def _mode_findings(file: CronFile) -> list[Finding]:
    if file.kind == "symbolic link" and not file.owner:
        return []  # points nowhere: cron has nothing to read, and says nothing either
    link = " (a symbolic link: the file it points to counts)" if file.kind == "symbolic link" else ""
    found = []
    if file.owner != "root":
        found.append(
            Finding(
                "cron-mode",
                Path(file.path),
                None,
                f"owned by {file.owner}{link}: cron skips the file (WRONG FILE OWNER)",
                "chown root:root, or write it with `install -m 644 -o root -g root`",
            )
        )
    if file.mode & 0o022:
        found.append(
            Finding(
                "cron-mode",
                Path(file.path),
                None,
                f"mode {file.mode:o}{link}: its group or others may write it, so cron skips the file (INSECURE MODE)",
                "chmod 644, or write it with `install -m 644 -o root -g root`",
            )
        )
    return found
