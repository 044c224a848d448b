"""Snapshots of a real machine: derived watch set, every kind of change, findings, the private /proc/sys."""

from __future__ import annotations

from pathlib import Path

from harness.deployer.spec import MachineSpec
from harness.hosts.machine import Machine
from harness.state.diff import masker
from harness.state.model import WatchSpec
from harness.state.tracker import ScriptRunner, StateTracker
from harness.testbed import Testbed, standalone_machine
from harness.workbench import Workbench

# Builds a package on the machine itself: the test network has no way out.
MAKE_DEB = """set -e
mkdir -p /tmp/pkg/DEBIAN /tmp/pkg/usr/share/demo
printf 'Package: demo\\nVersion: %s\\nArchitecture: all\\nMaintainer: t <t@example.org>\\nDescription: demo\\n' "$1" \\
    > /tmp/pkg/DEBIAN/control
echo "$1" > /tmp/pkg/usr/share/demo/version
dpkg-deb -b /tmp/pkg /tmp/demo.deb >/dev/null && dpkg -i /tmp/demo.deb >/dev/null
"""
FIRST_APPLY = """set -e
install -d -m 0755 /etc/demo
printf 'port = 8080\\ntoken = demo-secret-5e1f\\n' > /etc/demo/app.conf
echo '*/5 * * * * root /bin/true demo' > /etc/cron.d/demo
echo 'vm.swappiness = 7' > /etc/sysctl.d/99-demo.conf && sysctl --system >/dev/null
useradd --system --no-create-home demo
systemctl restart cron
"""


def exec_ok(machine: Machine, script: str, *args: str) -> None:
    result = machine.container.exec_run(["sh", "-c", script, "-", *args])
    assert result.exit_code == 0, result.output.decode()


def test_a_snapshot_sees_what_changed_on_a_real_machine(bench: Workbench, tmp_path: Path) -> None:
    real_swappiness = Path("/proc/sys/vm/swappiness").read_text()
    with standalone_machine(bench, "debian-12", "state") as machine:
        runners: dict[str, ScriptRunner] = {"web1": machine.run_script}
        tracker = StateTracker(runners, WatchSpec(sysctl=("vm.overcommit_memory",)), masker(["demo-secret-5e1f"]))
        tracker.scan_pristine()
        exec_ok(machine, FIRST_APPLY)
        exec_ok(machine, MAKE_DEB, "1.0")
        tracker.derive_watch()

        derived = tracker.derived["web1"]
        for path in ("/etc/demo", "/etc/cron.d/demo", "/etc/sysctl.d/99-demo.conf"):
            assert path in derived.paths, derived.describe()
        assert "/etc/shadow" not in derived.paths  # users are records of their own; no password hashes shown
        assert "/usr/share/demo" not in derived.paths  # packaged files are compared through dpkg
        assert "cron.service" in derived.units

        first = tracker.snapshot()["web1"]
        assert first.sysctl["vm.swappiness"] == "7"  # read from the file that set it
        assert "vm.overcommit_memory" in first.sysctl  # named in the spec
        assert first.packages["demo"].version == "1.0"
        assert "demo" in first.users
        assert first.seconds > 0

        exec_ok(
            machine,
            "echo 'workers = 4' >> /etc/demo/app.conf && chmod 0600 /etc/cron.d/demo"
            " && touch /etc/sysctl.d/99-demo.conf && systemctl restart cron"
            " && echo '0 1 * * * root /bin/true nightly' >> /etc/cron.d/demo && userdel demo"
            " && cp /etc/sysctl.d/99-demo.conf /etc/sysctl.d/99-demo.conf.bak && echo root:n3w-pass | chpasswd",
        )
        exec_ok(machine, MAKE_DEB, "1.1")
        second = tracker.snapshot()["web1"]
        diff = tracker.diff({"web1": first}, {"web1": second})

    changes = {(c.section, c.item, c.kind) for c in diff.changes}
    expected = {
        ("file", "/etc/demo/app.conf", "content"),
        ("file", "/etc/cron.d/demo", "metadata"),
        ("file", "/etc/sysctl.d/99-demo.conf", "rewritten"),
        ("unit", "cron.service", "restarted"),
        ("cron", "/etc/cron.d/demo", "added"),
        ("user", "demo", "removed"),
        ("package", "demo", "upgraded"),
        ("file", "/etc/sysctl.d/99-demo.conf.bak", "added"),  # a new neighbour of a watched file
        ("user", "root", "value"),  # a new password: shown as a new digest of its hash
    }
    assert expected <= changes, diff.render()
    rendered = diff.render()
    assert "n3w-pass" not in rendered and "$y$" not in rendered
    assert "+workers = 4" in rendered
    assert "token = ********" in rendered and "demo-secret-5e1f" not in rendered
    assert {c.kind for c in diff.findings} == {"rewritten", "restarted"}
    # The machine's sysctl --system wrote its own view of /proc/sys, never this computer's.
    assert Path("/proc/sys/vm/swappiness").read_text() == real_swappiness


def test_whole_host_scans_read_only_what_changed_since_the_image_and_still_compare_content(bench: Workbench) -> None:
    with Testbed(bench, "scan") as testbed:
        testbed.start([MachineSpec("web1", "debian-12", "web1")])
        machine = testbed.machines["web1"]
        tracker = StateTracker(testbed.runners(), WatchSpec(), masker([]), originals=testbed.image_files())
        everything = StateTracker(testbed.runners(), WatchSpec(), masker([]))  # the same scans, every file read
        first, full_first = tracker.scan()["web1"], everything.scan()["web1"]
        assert not first.files["/usr/bin/ls"].sha256  # the image's own: not read
        assert full_first.files["/usr/bin/ls"].sha256
        exec_ok(
            machine,
            "echo drifted >> /etc/issue; cp /etc/motd /tmp/m && cat /tmp/m > /etc/motd; chmod 600 /etc/issue.net",
        )
        second, full_second = tracker.scan()["web1"], everything.scan()["web1"]
        for path in ("/etc/issue", "/etc/motd", "/etc/issue.net"):  # each read from the image for the first scan
            assert first.files[path].sha256 == full_first.files[path].sha256
            assert second.files[path].sha256 == full_second.files[path].sha256
        changed = {c.item: c.kind for c in tracker.diff(tracker.scans[0], tracker.scans[1]).changes}
        assert changed == {c.item: c.kind for c in everything.diff(everything.scans[0], everything.scans[1]).changes}
        assert "/etc/issue" in changed and "/etc/issue.net" in changed
