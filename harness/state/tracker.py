"""Snapshots of a deployment's machines: what to watch, taken in parallel, kept in order."""

from __future__ import annotations

import fnmatch
import shlex
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Protocol

from harness.errors import HarnessError, TruncatedOutput
from harness.state.command import ALL_UNITS, Watch, parse, script
from harness.state.derive import HARNESS_PATHS, SCAN_EXCLUDES, Derived, changed_packages, derive
from harness.state.diff import Mask, StateDiff, compare
from harness.state.model import Snapshot, WatchSpec

# Runs a shell script on a machine: (exit code, stdout, stderr).
ScriptRunner = Callable[[str], tuple[int, bytes, bytes]]


class OriginalFiles(Protocol):
    """What the machines' images hold (see harness/hosts/image_files.py)."""

    def since(self, machine: str) -> float | None:
        """Files whose inode changed before this instant are the image's own; None: digest them all."""

    def digests(self, machine: str, paths: Iterable[str]) -> dict[str, str]:
        """sha256 of these files as the machine's image holds them."""


def take(machine: str, run: ScriptRunner, watch: Watch) -> Snapshot:
    started = time.monotonic()
    code, out, err = run(script(watch))
    try:
        snapshot = parse(machine, out)
    except TruncatedOutput as exc:  # stderr is the shell's own complaint; stdout may hold file contents
        raise HarnessError(f"{exc}; exit code {code}, stderr: {err.decode(errors='replace').strip()[-500:]}") from None
    snapshot.seconds = time.monotonic() - started
    return snapshot


@dataclass
class StateTracker:
    runners: dict[str, ScriptRunner]
    spec: WatchSpec
    mask: Mask
    pristine: dict[str, Snapshot] = field(default_factory=dict)
    derived: dict[str, Derived] = field(default_factory=dict)
    snapshots: list[dict[str, Snapshot]] = field(default_factory=list)
    watches: list[dict[str, Watch]] = field(default_factory=list)  # what each snapshot looked at
    scans: list[dict[str, Snapshot]] = field(default_factory=list)  # whole hosts, with digests
    originals: OriginalFiles | None = None  # given: whole-host scans digest only what changed since the image

    def _scan_watch(self) -> Watch:
        return Watch(("/",), SCAN_EXCLUDES + self.spec.exclude, (ALL_UNITS,), self.spec.sysctl, digests=False)

    def _all(self, watches: dict[str, Watch]) -> dict[str, Snapshot]:
        with ThreadPoolExecutor(max_workers=max(1, len(watches))) as pool:
            futures = {name: pool.submit(take, name, self.runners[name], w) for name, w in watches.items()}
            return {name: future.result() for name, future in futures.items()}

    def scan_pristine(self) -> None:
        """Before the first apply: the wide listing that :meth:`derive_watch` compares against."""
        if self.spec.derive:
            self.pristine = self.rescan(list(self.runners))

    def rescan(self, machines: list[str]) -> dict[str, Snapshot]:
        """The wide listing (no digests, every loaded unit) of these machines."""
        return self._all({name: self._scan_watch() for name in machines})

    def derive_watch(self) -> None:
        """After the first apply: watch what it touched (and what the spec names)."""
        if self.pristine and not self.derived:
            applied = self.rescan(list(self.runners))
            self.derived = {
                name: derive(self.pristine[name], applied[name], self._packaged(name, applied[name]))
                for name in self.runners
            }

    def share_watch(self, machines: list[str]) -> None:
        """Machines that run the same pod template watch the same items: what was derived on any of them."""
        found = [self.derived[name] for name in machines if name in self.derived]
        if found:
            paths = tuple(sorted({path for derived in found for path in derived.paths}))
            units = tuple(sorted({unit for derived in found for unit in derived.units}))
            self.derived.update((name, Derived(paths, units)) for name in machines if name in self.derived)

    def _packaged(self, machine: str, applied: Snapshot) -> dict[str, str]:
        """Files of the packages the first apply installed or changed (dpkg's own lists), with each list's mtime."""
        packaged: dict[str, str] = {}
        for name in changed_packages(self.pristine[machine], applied):
            _, out, _ = self.runners[machine](f"cat {shlex.quote(f'/var/lib/dpkg/info/{name}.list')} 2>/dev/null")
            for line in out.decode(errors="replace").splitlines():
                if line.startswith("/"):
                    packaged[line] = applied.packages[name].list_mtime
        return packaged

    def watch(self, machine: str) -> Watch:
        derived = self.derived.get(machine, Derived((), ()))
        units = [u for u in derived.units if not any(fnmatch.fnmatchcase(u, p) for p in self.spec.exclude_units)]
        return Watch(
            tuple(dict.fromkeys(self.spec.paths + derived.paths)),
            HARNESS_PATHS + self.spec.exclude,  # a deployer's folder in /var/lib has the harness's as a neighbour
            tuple(dict.fromkeys(self.spec.units + tuple(units))),
            self.spec.sysctl,
            derived.neighbourhoods,
        )

    def snapshot(self) -> dict[str, Snapshot]:
        watches = {name: self.watch(name) for name in self.runners}
        taken = self._all(watches)
        self.snapshots.append(taken)
        self.watches.append(watches)
        return taken

    def scan(self) -> dict[str, Snapshot]:
        """Every file (outside :data:`SCAN_EXCLUDES`) with its digest, and every unit: what two versions of a
        deployer that manage different things can be compared by. Watched files keep their content, for patches.
        With :attr:`originals`, files still as the image has them are not read: an earlier scan's undigested file
        that this one digested gets the image's digest, so the two compare."""
        since = self.originals.since if self.originals is not None else lambda machine: None
        watches = {
            name: Watch(
                ("/",),
                SCAN_EXCLUDES + self.spec.exclude,
                (ALL_UNITS,),
                self.spec.sysctl,
                content=self.watch(name).paths,
                digest_since=since(name),
            )
            for name in self.runners
        }
        taken = self._all(watches)
        for name, snapshot in taken.items():
            self._fill_originals(name, [scan[name] for scan in self.scans if name in scan] + [snapshot])
        self.scans.append(taken)
        return taken

    def _fill_originals(self, machine: str, scans: list[Snapshot]) -> None:
        """Give the image's digest to each regular file that one of these scans digested and another did not."""
        digested = {p for s in scans for p, f in s.files.items() if f.type == "file" and f.sha256}
        missing = {p for s in scans for p, f in s.files.items() if f.type == "file" and not f.sha256} & digested
        if not missing or self.originals is None:
            return
        found = self.originals.digests(machine, missing)
        for snapshot in scans:
            for path in missing & found.keys():
                state = snapshot.files.get(path)
                if state is not None and state.type == "file" and not state.sha256:
                    snapshot.files[path] = replace(state, sha256=found[path])

    def take(self, watches: dict[str, Watch]) -> dict[str, Snapshot]:
        """A snapshot with these watches, not kept in :attr:`snapshots` (drift compares many against one)."""
        return self._all(watches)

    def comparable(self, first: int, second: int) -> bool:
        """Two snapshots compare item by item only when they watched the same things."""
        return self.watches[first] == self.watches[second]

    def diff(self, before: dict[str, Snapshot], after: dict[str, Snapshot]) -> StateDiff:
        result = StateDiff()
        for name in after:
            result.changes += compare(before[name], after[name], self.mask).changes
        return result
