"""The one shell command that takes a snapshot on the target, and the parser of what it prints.

The target needs sh, coreutils, findutils and (when present) systemctl and
dpkg-query: no Python. Every parameter is quoted into the script, so the whole
snapshot is a single round trip.
"""

from __future__ import annotations

import base64
import shlex
from dataclasses import dataclass

from harness.state.model import FileState, Package, Snapshot, UnitState

ALL_UNITS = "*"  # every loaded unit (used for the wide scan a derivation compares)
CONTENT_LIMIT = 64 * 1024  # files up to this size travel whole, for text diffs
_TYPES = {"f": "file", "d": "dir", "l": "symlink"}
_UNIT_PROPERTIES = {
    "Id": "name",
    "LoadState": "load",
    "ActiveState": "active",
    "SubState": "sub",
    "UnitFileState": "enabled",
    "MainPID": "main_pid",
    "NRestarts": "restarts",
    "InvocationID": "invocation",
    "ActiveEnterTimestampMonotonic": "active_since",
}
# find's fields; the path comes last so a tab in it does no harm.
_FILE_FORMAT = r"%y\t%m\t%u\t%g\t%s\t%T@\t%l\t%p\n"
_CONTENT_LOOP = r'for f do printf "%s\t" "$f"; base64 -w0 "$f"; echo; done'
_SYSCTL_KEYS_IN_FILES = r"s/^[[:space:]]*-\{0,1\}[[:space:]]*\([^#;=[:space:]][^=[:space:]]*\)[[:space:]]*=.*/\1/p"
_SYSCTL_LOOP = r"""case $k in *'*'*|'') continue;; esac
f=/proc/sys/$(printf %s "$k" | tr . /)
v=
[ -r "$f" ] && v=$(tr -s '[:space:]' ' ' < "$f" | sed 's/ $//')
printf '%s\t%s\n' "$k" "$v"
"""


@dataclass(frozen=True)
class Watch:
    """What a snapshot looks at. ``digests`` off gives the cheap wide listing a derivation compares."""

    paths: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    units: tuple[str, ...] = ()  # unit names, or (ALL_UNITS,)
    sysctl: tuple[str, ...] = ()  # named keys; keys set in /etc/sysctl.conf and /etc/sysctl.d/*.conf always
    digests: bool = True


def script(watch: Watch) -> str:
    q = shlex.quote
    lines = ["export LC_ALL=C", "cd / || exit 1"]
    if watch.paths:
        roots = " ".join(q(p) for p in watch.paths)
        prune = " -o ".join(f"-path {q(p)}" for p in watch.exclude)
        find = f"find {roots} -xdev " + (rf"\( {prune} \) -prune -o " if prune else "")
        lines += ["echo @files", f"{find}-printf '{_FILE_FORMAT}' 2>/dev/null"]
        if watch.digests:
            lines += [
                "echo @sha256",
                f"{find}-type f -exec sha256sum {{}} + 2>/dev/null",
                "echo @content",
                f"{find}-type f -size -{CONTENT_LIMIT + 1}c -exec sh -c {q(_CONTENT_LOOP)} sh {{}} + 2>/dev/null",
            ]
    if watch.units:
        properties = ",".join(_UNIT_PROPERTIES)
        names = " ".join(q(u) for u in watch.units)
        show = f"systemctl show --no-pager -p {properties} -- {names}"
        lines += ["echo @units", f"command -v systemctl >/dev/null && {show}"]
    lines += [
        "echo @packages",
        r"dpkg-query -W -f '${db:Status-Abbrev}\t${binary:Package}\t${Version}\n' 2>/dev/null",
        "echo @dpkg-lists",
        r"find /var/lib/dpkg/info -name '*.list' -printf '%T@\t%f\n' 2>/dev/null",
        "echo @cron",
        "grep -H -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' /etc/crontab /etc/cron.d/* /var/spool/cron/crontabs/* "
        "2>/dev/null",
        "echo @passwd",
        "cut -d: -f1,3- /etc/passwd",
        "echo @group",
        "cut -d: -f1,3- /etc/group",
        "echo @sysctl",
        "{ "
        + "".join(f"echo {q(k)}; " for k in watch.sysctl)
        + f"sed -n {q(_SYSCTL_KEYS_IN_FILES)} /etc/sysctl.conf /etc/sysctl.d/*.conf 2>/dev/null; }}"
        + f" | sort -u | while IFS= read -r k; do\n{_SYSCTL_LOOP}done",
        "echo @end",
    ]
    return "\n".join(lines) + "\n"


def parse(machine: str, output: str) -> Snapshot:
    """Read what :func:`script` printed. A missing ``@end`` means the command died half way."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in output.split("\n"):
        if line.startswith("@") and line[1:] in _SECTIONS:
            current = sections.setdefault(line[1:], [])
        elif current is not None and (line or current is sections.get("units")):
            current.append(line)  # blank lines separate the units' blocks
    if "end" not in sections:
        raise ValueError(f"the snapshot command on {machine} stopped before its end:\n{output[-2000:]}")
    snapshot = Snapshot(machine)
    digests = dict(_split_sha256(line) for line in sections.get("sha256", []))
    contents = dict(line.split("\t", 1) for line in sections.get("content", []) if "\t" in line)
    for line in sections.get("files", []):
        kind, mode, owner, group, size, mtime, target, path = line.split("\t", 7)
        content = contents.get(path)
        snapshot.files[path] = FileState(
            path,
            _TYPES.get(kind, kind),
            mode,
            owner,
            group,
            int(size),
            mtime,
            target,
            digests.get(path, ""),
            base64.b64decode(content) if content is not None else None,
        )
    snapshot.units = _units(sections.get("units", []))
    list_mtimes = {}
    for line in sections.get("dpkg-lists", []):
        mtime, _, name = line.partition("\t")
        list_mtimes[name.removesuffix(".list")] = mtime
    for line in sections.get("packages", []):
        status, name, version = [*line.split("\t"), "", ""][:3]
        snapshot.packages[name] = Package(name, status, version, list_mtimes.get(name, ""))
    cron: dict[str, list[str]] = {}
    for line in sections.get("cron", []):
        source, _, entry = line.partition(":")
        cron.setdefault(source, []).append(" ".join(entry.split()))
    snapshot.cron = {source: tuple(entries) for source, entries in cron.items()}
    snapshot.users = dict(_name_and_rest(line) for line in sections.get("passwd", []))
    snapshot.groups = dict(_name_and_rest(line) for line in sections.get("group", []))
    for line in sections.get("sysctl", []):
        key, _, value = line.partition("\t")
        snapshot.sysctl[key.replace("/", ".")] = value
    return snapshot


_SECTIONS = {"files", "sha256", "content", "units", "packages", "dpkg-lists", "cron", "passwd", "group", "sysctl"}
_SECTIONS.add("end")


def _split_sha256(line: str) -> tuple[str, str]:
    digest, _, path = line.partition("  ")
    return path, digest.lstrip("\\")


def _name_and_rest(line: str) -> tuple[str, str]:
    name, _, rest = line.partition(":")
    return name, rest


def _units(lines: list[str]) -> dict[str, UnitState]:
    """``systemctl show`` prints one block per unit, blocks separated by a blank line."""
    units: dict[str, UnitState] = {}
    block: dict[str, str] = {}
    for line in [*lines, ""]:
        key, _, value = line.partition("=")
        if key in _UNIT_PROPERTIES:
            block[_UNIT_PROPERTIES[key]] = value
        elif not line:
            if block.get("name") and block.get("load", "not-found") != "not-found":
                units[block["name"]] = UnitState(**block)
            block = {}
    return units
