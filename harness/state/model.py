"""What a snapshot holds: the managed part of one machine's state, as plain data."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FileState:
    path: str
    type: str  # file, dir, symlink, or find's letter for anything else
    mode: str  # octal permission bits, e.g. "644"
    owner: str
    group: str
    size: int
    mtime: str  # seconds since the epoch as find prints them (ns precision): compared, never computed with
    target: str = ""  # symlinks only
    sha256: str = ""  # regular files only
    content: bytes | None = None  # small regular files, for text diffs

    def describe(self) -> str:
        if self.type == "symlink":
            return f"symlink -> {self.target}"
        size = f", {self.size} bytes" if self.type == "file" else ""
        return f"{self.type} {self.mode} {self.owner}:{self.group}{size}"


@dataclass(frozen=True)
class UnitState:
    name: str
    load: str = ""
    active: str = ""
    sub: str = ""
    enabled: str = ""
    main_pid: str = ""
    restarts: str = ""
    invocation: str = ""  # a new ID for every start: the surest sign of a restart
    active_since: str = ""  # monotonic microseconds of the last activation

    def describe(self) -> str:
        return f"{self.enabled or 'no unit file'}, {self.active} ({self.sub})"


@dataclass(frozen=True)
class Package:
    name: str
    status: str  # dpkg's abbreviation: "ii " when installed
    version: str
    list_mtime: str = ""  # dpkg rewrites <pkg>.list on every (re)install


@dataclass
class Snapshot:
    """One machine at one moment. Files only under the watched paths; the rest of the host as listed."""

    machine: str
    files: dict[str, FileState] = field(default_factory=dict)
    listed: frozenset[str] = frozenset()  # direct entries of the directories around watched files
    units: dict[str, UnitState] = field(default_factory=dict)
    packages: dict[str, Package] = field(default_factory=dict)
    cron: dict[str, tuple[str, ...]] = field(default_factory=dict)  # source file -> its entries, in order
    users: dict[str, str] = field(default_factory=dict)  # name -> passwd fields, and a digest of the password hash
    groups: dict[str, str] = field(default_factory=dict)  # name -> gid:members
    sysctl: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0  # how long taking it took


@dataclass(frozen=True)
class WatchSpec:
    """The spec's ``state:`` section: watched in addition to what the first apply touched."""

    paths: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()  # find -path patterns
    units: tuple[str, ...] = ()
    exclude_units: tuple[str, ...] = ()  # fnmatch patterns: derived units left out (`nut-driver@*.service`)
    sysctl: tuple[str, ...] = ()
    derive: bool = True
