"""One host's managed state as plain data, for the unit tests of diffs and of what a rollback leaves."""

from __future__ import annotations

from harness.state.model import FileState, Package, Snapshot, UnitState

CONF = FileState(
    "/etc/app/app.conf",
    "file",
    "644",
    "root",
    "root",
    21,
    "100.0",
    sha256="a",
    content=b"a = 1\ntoken = s3cret-value\n",
)
UNIT = UnitState("app.service", "loaded", "active", "running", "enabled", "42", "0", "inv-1", "1000")


def snap(**fields: object) -> Snapshot:
    """The host with a config file, a unit, a package, a cron entry, a user, a group and a sysctl key;
    ``fields`` replace parts of it."""
    base = Snapshot(
        "web1",
        files={CONF.path: CONF},
        units={UNIT.name: UNIT},
        packages={"nut": Package("nut", "ii ", "2.8.0-7", "5.0")},
        cron={"/etc/cron.d/app": ("*/5 * * * * root /bin/true",)},
        users={"app": "999:999::/opt/app:/usr/sbin/nologin"},
        groups={"app": "999:"},
        sysctl={"vm.swappiness": "60"},
    )
    for key, value in fields.items():
        setattr(base, key, value)
    return base
