"""The one shell command that takes a snapshot on the target, and the parser of what it prints.

The target needs sh, coreutils, findutils and (when present) systemctl and
dpkg-query: no Python. The script is sent on stdin (``sh -s``), so a long
list of watched paths is no command-line argument. File records are
NUL-separated: any byte a file name may hold survives.
"""

from __future__ import annotations

import base64
import hashlib
import shlex
from dataclasses import dataclass

from harness.errors import TruncatedOutput
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
# Eight NUL-terminated fields per entry. Owners as numbers, named from the owners section: find's own lookup of
# every file's names costs more than the rest of a wide scan (0.26 of 0.37 s on a Proxmox VE host).
_FILE_FORMAT = r"%y\0%m\0%U\0%G\0%s\0%T@\0%l\0%p\0"
_CONTENT_LOOP = r'for f do printf "%s\0" "$f"; base64 -w0 "$f"; printf "\0"; done'
_SYSCTL_KEYS_IN_FILES = r"s/^[[:space:]]*-\{0,1\}[[:space:]]*\([^#;=[:space:]][^=[:space:]]*\)[[:space:]]*=.*/\1/p"
_SYSCTL_LOOP = r"""case $k in *'*'*|'') continue;; esac
f=/proc/sys/$(printf %s "$k" | tr . /)
v=
[ -r "$f" ] && v=$(tr -s '[:space:]' ' ' < "$f" | sed 's/ $//')
printf '%s\t%s\n' "$k" "$v"
"""
# The listed files' owner and group ids, read in one pass; then, for each of passwd and group, the marker line and
# "name:id" for each of those ids, looked up one by one as find names them (an NSS source that does not list its
# users, like sssd's, still names them); without getent, every entry of /etc's file.
_OWNERS = r"""ids=$({find}-printf '%U %G\n' 2>/dev/null | sort -u)
for db in passwd group; do
    echo "$db"
    case $db in passwd) field=1;; *) field=2;; esac
    if command -v getent >/dev/null; then
        printf '%s\n' "$ids" | cut -d' ' -f"$field" | sort -un | xargs -r getent "$db"
    else
        cat /etc/"$db"
    fi | cut -d: -f1,3
done"""
_MARK = b"\n@@"  # starts every section: "\n@@name\n"
_SECTIONS = {"files", "listing", "sha256", "content", "units", "packages", "dpkg-lists", "cron"}
_SECTIONS |= {"owners", "passwd", "shadow", "group", "sysctl", "end"}


@dataclass(frozen=True)
class Watch:
    """What a snapshot looks at. ``digests`` off gives the cheap wide listing a derivation compares."""

    paths: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    units: tuple[str, ...] = ()  # unit names, or (ALL_UNITS,)
    sysctl: tuple[str, ...] = ()  # named keys; keys set in /etc/sysctl.conf and /etc/sysctl.d/*.conf always
    listings: tuple[str, ...] = ()  # directories whose direct entries are listed: new neighbours show up
    digests: bool = True
    content: tuple[str, ...] | None = None  # where small files travel whole (default: every watched path)
    # Regular files whose inode last changed before this instant (epoch seconds) are the machine's image's own:
    # listed, not digested (their sha256 stays empty). None: every regular file is digested.
    digest_since: float | None = None


def script(watch: Watch) -> str:
    q = shlex.quote
    lines = ["export LC_ALL=C", "cd / || exit 1", "section() { printf '\\n@@%s\\n' \"$1\"; }"]
    prune = " -o ".join(f"-path {q(p)}" for p in watch.exclude)
    pruning = rf"\( {prune} \) -prune -o " if prune else ""
    if watch.paths:
        find = f"find {' '.join(q(p) for p in watch.paths)} -xdev {pruning}"
        lines += ["section files", f"{find}-printf '{_FILE_FORMAT}' 2>/dev/null"]
        if watch.digests:
            lines += ["section sha256"]
            newer = ""
            if watch.digest_since is not None:  # a find without -newerct (busybox) digests every file
                lines += [
                    f"newer='-newerct @{watch.digest_since:.3f}'",
                    "find / -maxdepth 0 $newer >/dev/null 2>&1 || newer=",
                ]
                newer = "$newer "
            lines += [f"{find}-type f {newer}-exec sha256sum -z {{}} + 2>/dev/null"]
        content = watch.paths if watch.content is None else watch.content
        if watch.digests and content:
            small = f"-type f -size -{CONTENT_LIMIT + 1}c -exec sh -c {q(_CONTENT_LOOP)} sh {{}} +"
            lines += ["section content", f"find {' '.join(q(p) for p in content)} -xdev {pruning}{small} 2>/dev/null"]
        lines += ["section owners", _OWNERS.format(find=find)]  # the listed files' owners, as find names them
    if watch.listings:
        listed = " ".join(q(p) for p in watch.listings)
        lines += ["section listing", f"find {listed} -mindepth 1 -maxdepth 1 {pruning}-printf '%p\\0' 2>/dev/null"]
    if watch.units:
        show = f"systemctl show --no-pager -p {','.join(_UNIT_PROPERTIES)} -- {' '.join(q(u) for u in watch.units)}"
        lines += ["section units", f"command -v systemctl >/dev/null && {show}"]
    sysctl_keys = "".join(f"echo {q(k)}; " for k in watch.sysctl)
    lines += [
        "section packages",
        r"dpkg-query -W -f '${db:Status-Abbrev}\t${binary:Package}\t${Version}\n' 2>/dev/null",
        "section dpkg-lists",
        r"find /var/lib/dpkg/info -name '*.list' -printf '%T@\t%f\n' 2>/dev/null",
        "section cron",
        "grep -H -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' /etc/crontab /etc/cron.d/* /var/spool/cron/crontabs/* "
        "2>/dev/null",
        "section passwd",
        "cut -d: -f1,3- /etc/passwd",
        "section shadow",  # digested by the parser at once, never kept or shown
        "cut -d: -f1,2 /etc/shadow 2>/dev/null",
        "section group",
        "cut -d: -f1,3- /etc/group",
        "section sysctl",
        f"{{ {sysctl_keys}sed -n {q(_SYSCTL_KEYS_IN_FILES)} /etc/sysctl.conf /etc/sysctl.d/*.conf 2>/dev/null; }}"
        f" | sort -u | while IFS= read -r k; do\n{_SYSCTL_LOOP}done",
        "section end",
    ]
    return "\n".join(lines) + "\n"


def parse(machine: str, output: bytes) -> Snapshot:
    """Read what :func:`script` printed."""
    sections: dict[str, bytes] = {}
    for chunk in output.split(_MARK)[1:]:
        heading, _, body = chunk.partition(b"\n")
        if _decode(heading) in _SECTIONS:
            sections[_decode(heading)] = body
    if "end" not in sections:
        got = ", ".join(f"{name} ({len(body)} bytes)" for name, body in sections.items()) or "nothing"
        raise TruncatedOutput(f"the snapshot command on {machine} stopped before its end; it printed: {got}")
    text = {name: body.decode(errors="replace") for name, body in sections.items() if name not in ("files", "content")}
    snapshot = Snapshot(machine)
    names = _owners(text.get("owners", ""))
    snapshot.files = _files(
        sections.get("files", b""), sections.get("sha256", b""), sections.get("content", b""), names
    )
    snapshot.listed = frozenset(_decode(p) for p in sections.get("listing", b"").split(b"\0") if p)
    snapshot.units = _units(text.get("units", "").split("\n"))
    list_mtimes = {}
    for line in _lines(text.get("dpkg-lists", "")):
        mtime, _, name = line.partition("\t")
        list_mtimes[name.removesuffix(".list")] = mtime
    for line in _lines(text.get("packages", "")):
        status, name, version = [*line.split("\t"), "", ""][:3]
        snapshot.packages[name] = Package(name, status, version, list_mtimes.get(name, ""))
    cron: dict[str, list[str]] = {}
    for line in _lines(text.get("cron", "")):
        source, _, entry = line.partition(":")
        cron.setdefault(source, []).append(" ".join(entry.split()))  # cron reads fields, not spacing
    snapshot.cron = {source: tuple(entries) for source, entries in cron.items()}
    passwords: dict[str, str] = {}
    for line in _lines(text.get("shadow", "")):
        name, _, hashed = line.partition(":")
        passwords[name] = hashlib.sha256(hashed.encode()).hexdigest()[:12]  # a new salt shows, the hash never
    snapshot.users = {
        name: f"{rest}:password {passwords[name]}" if name in passwords else rest
        for name, rest in map(_name_and_rest, _lines(text.get("passwd", "")))
    }
    snapshot.groups = dict(_name_and_rest(line) for line in _lines(text.get("group", "")))
    for line in _lines(text.get("sysctl", "")):
        key, _, value = line.partition("\t")
        snapshot.sysctl[key.replace("/", ".")] = value
    return snapshot


def _decode(raw: bytes) -> str:
    return raw.decode(errors="replace")


def _lines(text: str) -> list[str]:
    return [line for line in text.split("\n") if line]


def _owners(section: str) -> tuple[dict[str, str], dict[str, str]]:
    """User and group ids -> names, from ``getent`` (a ``passwd`` line, then ``name:id`` lines, then ``group``):
    the first name of an id, as getpwuid finds it."""
    users: dict[str, str] = {}
    groups: dict[str, str] = {}
    table = users
    for line in _lines(section):
        if line in ("passwd", "group"):
            table = users if line == "passwd" else groups
            continue
        name, _, number = line.partition(":")
        table.setdefault(number, name)
    return users, groups


def _files(
    listing: bytes, digests: bytes, contents: bytes, names: tuple[dict[str, str], dict[str, str]]
) -> dict[str, FileState]:
    users, groups = names
    sha = {}
    for record in digests.split(b"\0"):
        digest, _, digested = record.partition(b"  ")
        if digested:
            sha[digested] = digest.decode()
    content_fields = contents.split(b"\0")
    content = dict(zip(content_fields[0::2], content_fields[1::2], strict=False))
    fields = listing.split(b"\0")
    files = {}
    for i in range(0, len(fields) - 7, 8):
        kind, mode, owner, group, size, mtime, target, raw_path = fields[i : i + 8]
        path = _decode(raw_path)
        body = content.get(raw_path)
        files[path] = FileState(
            path,
            _TYPES.get(_decode(kind), _decode(kind)),
            _decode(mode),
            users.get(_decode(owner), _decode(owner)),  # an id nobody is named by shows as the number, as in find
            groups.get(_decode(group), _decode(group)),
            int(size or 0),
            _decode(mtime),
            _decode(target),
            sha.get(raw_path, ""),
            base64.b64decode(body) if body is not None else None,
        )
    return files


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
