"""The package mirror: the only way out of a test network, and only to Debian's archive."""

from __future__ import annotations

from harness.deployer.spec import MachineSpec
from harness.testbed import Testbed
from harness.workbench import Workbench


def test_machines_install_debian_packages_through_the_mirror_and_reach_nothing_else(bench: Workbench) -> None:
    with Testbed(bench, "mirror-test") as testbed:
        testbed.start([MachineSpec("m1", "debian-12", "m1")], mirror=True)
        machine = testbed.machines["m1"]
        mirror = testbed.mirror
        assert mirror is not None
        install = "apt-get -q update >/tmp/apt.log 2>&1 && apt-get -q install -y tree >>/tmp/apt.log 2>&1"
        _, output = machine.exec(f"{install}; echo rc=$?; tail -n 3 /tmp/apt.log")
        assert "rc=0" in output, output
        assert machine.exec("tree --version")[0] == 0
        # fetched again, the package comes from the mirror's cache (a volume kept across runs): no download
        assert machine.exec("apt-get clean && apt-get -q install --reinstall -y tree >/dev/null 2>&1")[0] == 0
        log = mirror.exec_run(["cat", "/var/log/apt-cacher-ng/apt-cacher.log"]).output.decode()
        fetches = [line.split("|")[1] for line in log.splitlines() if "/tree_" in line]  # time|I or O|size|...
        assert fetches.count("O") == 2, log  # served twice
        assert fetches.count("I") <= 1, log  # downloaded from Debian at most once (not at all once cached)
        # anything but Debian's archive is refused by the mirror, and nothing is reachable without it
        for url in ("http://pypi.org/simple/", "http://archive.ubuntu.com/ubuntu/dists/jammy/Release"):
            refused = machine.exec(f"curl -s -o /dev/null -w '%{{http_code}}' -x http://mirror:3142 {url}")
            assert refused[1] == "403", (url, refused)
        direct = machine.exec("curl -s -m 5 -o /dev/null -w '%{http_code}' http://deb.debian.org/debian/")
        assert direct[1] == "000", direct
