"""Differences between two snapshots of one machine: per item, what changed, readable and as data.

A *change* is a difference in state. A *finding* is a side effect that left
the state equal: a file rewritten with the same content, a unit restarted, a
package reinstalled. Idempotency fails on changes and reports findings.
"""

from __future__ import annotations

import base64
import difflib
import json
import re
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace

from debian.debian_support import Version

from harness.state.model import FileState, Package, Snapshot

FINDING_KINDS = ("rewritten", "restarted", "reinstalled")
_MARKS = {"added": "A", "removed": "D", "installed": "A"}
Mask = Callable[[str], str]


@dataclass(frozen=True)
class Change:
    machine: str
    section: str  # file, unit, package, cron, user, group, sysctl
    item: str  # a path, a unit, a package, a cron source, a name, a key
    kind: str  # added, removed, content, metadata, type, state, upgraded, value, or a finding kind
    detail: str  # one line
    patch: str = ""  # unified diff of a text file, secrets masked

    @property
    def finding(self) -> bool:
        return self.kind in FINDING_KINDS

    def line(self) -> str:
        return f"{self.machine}: {self.section} {self.item}: {self.kind}, {self.detail}"


@dataclass
class StateDiff:
    changes: list[Change] = field(default_factory=list)

    @property
    def state_changes(self) -> list[Change]:
        return [c for c in self.changes if not c.finding]

    @property
    def findings(self) -> list[Change]:
        return [c for c in self.changes if c.finding]

    def __bool__(self) -> bool:
        return bool(self.changes)

    def stat(self) -> str:
        """Like ``git diff --stat``: one line per item, then a count per machine."""
        if not self.changes:
            return "no change"
        width = min(60, max(len(f"{c.section} {c.item}") for c in self.changes))
        lines = []
        for machine in dict.fromkeys(c.machine for c in self.changes):
            mine = [c for c in self.changes if c.machine == machine]
            changes, findings = sum(not c.finding for c in mine), sum(c.finding for c in mine)
            lines.append(f"{machine}: {_count(changes, 'change')}, {_count(findings, 'finding')}")
            for c in mine:
                mark = "!" if c.finding else _MARKS.get(c.kind, "M")
                label = f"{c.section} {c.item}"
                lines.append(f" {mark} {label:<{width}} | {c.kind}: {c.detail}")
        return "\n".join(lines)

    def render(self) -> str:
        """The stat, then every text diff below it."""
        patches = [c.patch for c in self.changes if c.patch]
        return "\n\n".join([self.stat(), *patches])

    def to_data(self) -> list[dict[str, object]]:
        return [{**asdict(c), "finding": c.finding} for c in self.changes]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def compare(before: Snapshot, after: Snapshot, mask: Mask = lambda text: text) -> StateDiff:
    """Everything that differs between two snapshots of the same machine, in a stable order."""
    machine = after.machine
    changes: list[Change] = []
    changes += _files(machine, before.files, after.files, mask)
    changes += _neighbours(machine, before, after)
    changes += _units(machine, before, after)
    changes += _packages(machine, before, after)
    changes += _cron(machine, before.cron, after.cron, mask)
    changes += _named(machine, "user", before.users, after.users)
    changes += _named(machine, "group", before.groups, after.groups)
    changes += _named(machine, "sysctl", before.sysctl, after.sysctl)
    # Secrets can sit anywhere a host keeps text: paths, link targets, user comments, sysctl values.
    return StateDiff([replace(c, item=mask(c.item), detail=mask(c.detail)) for c in changes])


def _neighbours(machine: str, before: Snapshot, after: Snapshot) -> Iterable[Change]:
    """Entries that came or went next to watched files (a backup copy, a second unit file)."""
    for path in sorted(after.listed - before.listed - after.files.keys()):
        yield Change(machine, "file", path, "added", "new entry beside watched files")
    for path in sorted(before.listed - after.listed - before.files.keys()):
        yield Change(machine, "file", path, "removed", "entry beside watched files is gone")


def _files(machine: str, before: dict[str, FileState], after: dict[str, FileState], mask: Mask) -> Iterable[Change]:
    for path in sorted(before.keys() | after.keys()):
        old, new = before.get(path), after.get(path)
        if old is None or new is None:
            kind, state = ("added", new) if old is None else ("removed", old)
            assert state is not None
            yield Change(machine, "file", path, kind, state.describe(), _patch(machine, old, new, mask))
            continue
        if old.type != new.type:
            yield Change(machine, "file", path, "type", f"{old.describe()} -> {new.describe()}")
            continue
        content_changed = old.sha256 != new.sha256 or old.target != new.target
        if content_changed:
            yield Change(machine, "file", path, "content", _content_detail(old, new), _patch(machine, old, new, mask))
        pairs = (("mode", old.mode, new.mode), ("owner", old.owner, new.owner), ("group", old.group, new.group))
        metadata = [f"{what} {a} -> {b}" for what, a, b in pairs if a != b]
        if metadata:
            yield Change(machine, "file", path, "metadata", ", ".join(metadata))
        # A directory's mtime moves whenever an entry in it comes or goes (temporary files included):
        # its entries are watched themselves, so only files and links count as rewritten.
        if not content_changed and not metadata and old.mtime != new.mtime and new.type != "dir":
            yield Change(machine, "file", path, "rewritten", "same content and metadata, new mtime")


def _content_detail(old: FileState, new: FileState) -> str:
    if old.type == "symlink":
        return f"link {old.target} -> {new.target}"
    old_text, new_text = _text(old), _text(new)
    if old_text is None or new_text is None:
        return f"binary or large, {old.size} -> {new.size} bytes"
    hidden = " (not shown: others may not read it)" if _private(old) or _private(new) else ""
    added = removed = 0
    for line in difflib.ndiff(old_text.splitlines(), new_text.splitlines()):
        added += line.startswith("+ ")
        removed += line.startswith("- ")
    return f"+{added} -{removed} lines{hidden}"


def _private(state: FileState | None) -> bool:
    """Content not to print: what others may not read (a .env, a key), or any private key."""
    if state is None:
        return False
    others_read = len(state.mode) >= 1 and state.mode[-1] in "4567"
    return (state.type == "file" and not others_read) or b"PRIVATE KEY" in (state.content or b"")


def _text(state: FileState | None) -> str | None:
    if state is None or state.content is None or b"\0" in state.content:
        return None
    try:
        return state.content.decode()
    except UnicodeDecodeError:
        return None


def _patch(machine: str, old: FileState | None, new: FileState | None, mask: Mask) -> str:
    if _private(old) or _private(new):
        return ""
    old_text, new_text = _text(old), _text(new)
    if (old is not None and old_text is None) or (new is not None and new_text is None):
        return ""
    if old_text is None and new_text is None:
        return ""
    path = (old or new).path  # type: ignore[union-attr]
    lines = difflib.unified_diff(
        mask(old_text or "").splitlines(keepends=True),
        mask(new_text or "").splitlines(keepends=True),
        f"{machine}:{path}" if old else "/dev/null",
        f"{machine}:{path}" if new else "/dev/null",
    )
    no_newline = "\n\\ No newline at end of file\n"
    return "".join(line if line.endswith("\n") else line + no_newline for line in lines).rstrip()


def _units(machine: str, before: Snapshot, after: Snapshot) -> Iterable[Change]:
    for name in sorted(before.units.keys() | after.units.keys()):
        old, new = before.units.get(name), after.units.get(name)
        if old is None or new is None:
            kind, unit = ("added", new) if old is None else ("removed", old)
            assert unit is not None
            yield Change(machine, "unit", name, kind, unit.describe())
            continue
        moved = [
            f"{what} {a or '-'} -> {b or '-'}"
            for what, a, b in (("enabled", old.enabled, new.enabled), ("active", old.active, new.active))
            if a != b
        ]
        if moved:
            yield Change(machine, "unit", name, "state", ", ".join(moved))
        else:
            signs = [
                sign
                for sign, moved in (
                    ("new invocation", old.invocation != new.invocation),
                    (f"main PID {old.main_pid} -> {new.main_pid}", old.main_pid != new.main_pid),
                    (f"restart count {old.restarts} -> {new.restarts}", old.restarts != new.restarts),
                )
                if moved
            ]
            if signs:
                yield Change(machine, "unit", name, "restarted", f"{new.active} again: {', '.join(signs)}")


def _present(package: Package) -> bool:
    """dpkg's second status letter: n (not installed) and c (only its configuration left) mean gone."""
    return len(package.status) >= 2 and package.status[1] not in "nc"


def _packages(machine: str, before: Snapshot, after: Snapshot) -> Iterable[Change]:
    old_present = {n: p for n, p in before.packages.items() if _present(p)}
    new_present = {n: p for n, p in after.packages.items() if _present(p)}
    for name in sorted(old_present.keys() | new_present.keys()):
        old, new = old_present.get(name), new_present.get(name)
        if old is None:
            assert new is not None
            yield Change(machine, "package", name, "installed", new.version)
        elif new is None:
            yield Change(machine, "package", name, "removed", old.version)
        elif old.version != new.version:
            kind = "upgraded" if Version(new.version) > Version(old.version) else "downgraded"
            yield Change(machine, "package", name, kind, f"{old.version} -> {new.version}")
        elif old.status != new.status:  # held, half-configured, ...: dpkg's status letters
            yield Change(machine, "package", name, "state", f"status {old.status.strip()} -> {new.status.strip()}")
        elif old.list_mtime != new.list_mtime:
            yield Change(machine, "package", name, "reinstalled", f"{new.version} again")


Crontabs = dict[str, tuple[str, ...]]


def _cron(machine: str, before: Crontabs, after: Crontabs, mask: Mask) -> Iterable[Change]:
    for source in sorted(before.keys() | after.keys()):
        old, new = Counter(before.get(source, ())), Counter(after.get(source, ()))
        for entry in (new - old).elements():
            yield Change(machine, "cron", source, "added", mask(entry))
        for entry in (old - new).elements():
            yield Change(machine, "cron", source, "removed", mask(entry))


def _named(machine: str, section: str, before: dict[str, str], after: dict[str, str]) -> Iterable[Change]:
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if old is None:
            yield Change(machine, section, name, "added", str(new))
        elif new is None:
            yield Change(machine, section, name, "removed", old)
        else:
            yield Change(machine, section, name, "value", f"{old} -> {new}")


def masker(secrets: Iterable[str]) -> Mask:
    """Hide every secret value (longest first, so a value inside another is hidden too)."""
    pieces = set()
    for secret in secrets:
        for value in (secret, secret.strip()):
            pieces.update(written_forms(value))
        pieces.update(line.strip() for line in secret.splitlines() if len(line.strip()) >= 16)  # a key's lines
    values = sorted((p for p in pieces if len(p) >= 4), key=len, reverse=True)
    quoted = [pattern for secret in secrets if (pattern := _quoted_lines(secret)) is not None]

    def mask(text: str) -> str:
        for pattern in quoted:
            text = pattern.sub("********", text)
        for value in values:
            text = text.replace(value, "********")
        return text

    return mask


# Between two lines of a multi-line secret as a report quotes them: indentation, a quote bar (`    | `), a diff's
# `+`, `-` or ` `, a `>`.
_LINE_PREFIX = r"\r?\n[ \t]*(?:[|>+-][ \t]?)?[ \t]*"


def _quoted_lines(secret: str) -> re.Pattern[str] | None:
    """A multi-line secret as it shows once each line has a prefix: its lines may be too short to mask alone."""
    lines = [line.rstrip("\r") for line in secret.strip("\n").split("\n")]
    if len(lines) < 2:
        return None
    return re.compile(_LINE_PREFIX.join(re.escape(line.strip()) for line in lines))


def written_forms(secret: str) -> set[str]:
    """The ways a deployer may have written a secret down: as is, in a crontab, a URL, JSON, base64."""
    return {
        secret,
        " ".join(secret.split()),  # as a cron entry is compared: spacing squeezed
        secret.replace("%", "\\%"),  # cron: % must be escaped
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret, safe=""),  # a query string's form: spaces as `+`
        json.dumps(secret)[1:-1],
        base64.b64encode(secret.encode()).decode(),
    }
