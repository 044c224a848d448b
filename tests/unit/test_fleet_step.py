"""The host-down step's reading of scans: what the deployer manages, and what an apply left to do on a host."""

from __future__ import annotations

from harness.checks.fleet import _left, _watched
from harness.state.diff import StateDiff, compare
from harness.state.model import FileState, Snapshot, UnitState

MANAGED = (("/etc/nut", "/opt/fleet/.env"), ("nut-server.service",))


def file(path: str, digest: str) -> FileState:
    return FileState(path, "file", "640", "root", "nut", 10, "1.0", sha256=digest)


def unit(name: str, active: str, invocation: str = "a") -> UnitState:
    return UnitState(name, active=active, enabled="enabled", invocation=invocation)


def snap(files: dict[str, str], units: dict[str, str] | None = None) -> Snapshot:
    return Snapshot(
        "pve2",
        files={p: file(p, d) for p, d in files.items()},
        units={n: unit(n, a) for n, a in (units or {}).items()},
    )


class Tracker:
    def diff(self, before: dict[str, Snapshot], after: dict[str, Snapshot]) -> StateDiff:
        result = StateDiff()
        for name in after:
            result.changes += compare(before[name], after[name], lambda text: text).changes
        return result


def test_only_what_the_deployer_manages_counts() -> None:
    before = snap({"/etc/nut/ups.conf": "a", "/var/lib/other": "x"})
    after = snap({"/etc/nut/ups.conf": "b", "/var/lib/other": "y", "/opt/fleet/.env": "e", "/opt/fleetx": "z"})
    kept = _watched(Tracker().diff({"pve2": before}, {"pve2": after}), MANAGED)
    assert sorted(c.item for c in kept) == ["/etc/nut/ups.conf", "/opt/fleet/.env"]  # not /opt/fleetx


def test_a_host_the_first_apply_configured_has_nothing_left_but_what_every_apply_changes() -> None:
    converged = {"/etc/nut/ups.conf": "conf", "/opt/fleet/.env": "env"}
    during = {"pve2": snap(converged, {"nut-server.service": "active"})}
    healed = {"pve2": snap({**converged, "/opt/fleet/.env": "env2"}, {"nut-server.service": "active"})}
    again = {"pve2": snap({**converged, "/opt/fleet/.env": "env3"}, {"nut-server.service": "active"})}
    assert _left(Tracker(), "pve2", [during, during, healed, again], MANAGED) == []  # .env changes every apply


def test_a_host_the_first_apply_skipped_has_its_files_left() -> None:
    pristine = {"pve2": snap({}, {"nut-server.service": "inactive"})}
    converged = snap({"/etc/nut/ups.conf": "conf"}, {"nut-server.service": "active"})
    left = _left(Tracker(), "pve2", [pristine, pristine, {"pve2": converged}, {"pve2": converged}], MANAGED)
    assert sorted((c.section, c.item) for c in left) == [("file", "/etc/nut/ups.conf"), ("unit", "nut-server.service")]
