"""What a deployer manages, derived from the host: a pristine machine against itself after the first apply."""

from __future__ import annotations

import fnmatch
import posixpath
from dataclasses import dataclass

from harness.state.model import FileState, Snapshot

# The harness's own files on a machine (the drift suite's saved files, a node's pod volumes, the journal of remote
# commands): never the deployer's, left out of every snapshot, the watched paths' neighbours included.
HARNESS_PATHS = ("/var/lib/harness", "/run/harness")
# Left out of the wide scan: kernel and runtime trees, and what a running system changes by itself
# (logs, caches, package indexes, systemd's timestamps). Packages are compared through dpkg instead.
SCAN_EXCLUDES = (
    "/proc",
    "/sys",
    "/dev",
    "/run",
    "/tmp",
    "/var/tmp",
    "/var/log",
    "/var/cache",
    "/var/lib/apt",
    "/var/lib/dpkg",
    "/var/lib/systemd",
    "/var/lib/ucf",
    "/var/backups",
    "/etc/ld.so.cache",  # ldconfig rebuilds it whenever a package brings a library
    *HARNESS_PATHS,
    # What the kubelet and the container runtime keep on a node (kind's containerd).
    "/var/lib/kubelet",
    "/var/lib/containerd",
    "/var/lib/etcd",  # a control plane's database, written all the time
    # Users and groups are compared as records of their own; the shadow files hold password hashes.
    "/etc/passwd*",
    "/etc/group*",
    "/etc/shadow*",
    "/etc/gshadow*",
)
# Units that come and go with logins, devices and pods, not with what a deployer does.
NOISY_UNITS = (
    "session-*.scope",
    "user@*.service",
    "user-runtime-dir@*.service",
    "user-*.slice",
    "*.device",
    "pod-*.service",  # the simulated node's pods
    "var-lib-harness-*.mount",
    "run-containerd-*.mount",  # kind's
    "var-lib-kubelet-*.mount",
)
_UNIT_TYPES = (".service", ".socket", ".timer", ".path", ".target", ".mount")


@dataclass(frozen=True)
class Derived:
    paths: tuple[str, ...]  # new directories (watched as trees) and changed, new or removed entries
    units: tuple[str, ...]

    @property
    def neighbourhoods(self) -> tuple[str, ...]:
        """The directories holding what is watched: their direct entries are listed, so new neighbours show."""
        return tuple(sorted({posixpath.dirname(p) or "/" for p in self.paths}))

    def describe(self) -> str:
        return "\n".join([*(f"path {p}" for p in self.paths), *(f"unit {u}" for u in self.units)]) or "nothing"


def changed_packages(pristine: Snapshot, applied: Snapshot) -> list[str]:
    return sorted(n for n, p in applied.packages.items() if pristine.packages.get(n) != p)


def derive(pristine: Snapshot, applied: Snapshot, packaged: dict[str, str] | None = None) -> Derived:
    """``packaged``: files of the packages the apply installed, with the time dpkg wrote its list. They are
    compared through dpkg, unless they are configuration (/etc) or were edited after dpkg unpacked them."""
    packaged = packaged or {}
    candidates = sorted(pristine.files.keys() | applied.files.keys())
    touched = [p for p in candidates if _touched(pristine, applied, p) and not _left_to_dpkg(p, applied, packaged)]
    new_dirs = {p for p in touched if p not in pristine.files and applied.files[p].type == "dir"}
    # A new directory is watched whole; below it nothing needs naming.
    paths = [p for p in touched if not any(below(p, d) for d in new_dirs)]
    names = sorted(pristine.units.keys() | applied.units.keys())
    units = [name for name in names if _unit_moved(pristine, applied, name)]
    return Derived(tuple(paths), tuple(units))


def _left_to_dpkg(path: str, applied: Snapshot, packaged: dict[str, str]) -> bool:
    if path not in packaged or path.startswith("/etc/"):
        return False
    state = applied.files.get(path)
    # dpkg gives unpacked files the package's own mtimes, older than its list: a newer one was edited since.
    return state is None or state.type == "dir" or float(state.mtime) <= float(packaged[path] or 0)


def _touched(pristine: Snapshot, applied: Snapshot, path: str) -> bool:
    old, new = pristine.files.get(path), applied.files.get(path)
    if old is None or new is None:
        return True
    if new.type == "dir" and old.type == "dir":  # a directory's mtime and size follow its entries
        return _metadata(old) != _metadata(new)
    return (*_metadata(old), old.size, old.mtime, old.target) != (*_metadata(new), new.size, new.mtime, new.target)


def _metadata(state: FileState) -> tuple[str, str, str, str]:
    return state.type, state.mode, state.owner, state.group


def below(path: str, directory: str) -> bool:
    return path != directory and path.startswith(directory.rstrip("/") + "/")


def at_or_below(path: str, directory: str) -> bool:
    return path == directory or below(path, directory)


def deployable_unit(name: str) -> bool:
    """A unit a deployer may install or change: not one that comes and goes with logins, devices and pods."""
    return name.endswith(_UNIT_TYPES) and not any(fnmatch.fnmatchcase(name, p) for p in NOISY_UNITS)


def _unit_moved(pristine: Snapshot, applied: Snapshot, name: str) -> bool:
    return deployable_unit(name) and pristine.units.get(name) != applied.units.get(name)
