"""Simulated machines: systemd as PID 1, sshd with sftp, root's bash, a private /proc/sys."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.deployer.spec import MachineSpec
from harness.engine.labels import SCOPE
from harness.errors import HarnessError
from harness.hosts.machine import Machine
from harness.hosts.ssh_backend import READ_TIMEOUT
from harness.testbed import Testbed, standalone_machine
from harness.workbench import Workbench


@pytest.fixture(scope="module")
def debian(bench: Workbench) -> Iterator[Machine]:
    with standalone_machine(bench, "debian-12", "box") as machine:
        yield machine


def test_systemd_is_pid_1_and_the_system_is_running(debian: Machine) -> None:
    host = debian.host
    assert host.check_output("ps -o comm= -p 1") == "systemd"
    assert host.run("systemctl is-system-running").stdout.strip() in ("running", "degraded")
    assert host.service("ssh").is_running
    assert host.service("cron").is_running


def test_root_logs_in_with_bash_and_sftp_works(debian: Machine) -> None:
    assert debian.host.user().shell == "/bin/bash"
    assert debian.host.check_output("echo $0").endswith("bash")
    backend = debian.host.backend
    sftp = backend.client.open_sftp()  # type: ignore[attr-defined]
    try:
        with sftp.open("/tmp/sftp-probe", "w") as handle:
            handle.write("over sftp\n")
    finally:
        sftp.close()
    assert debian.host.file("/tmp/sftp-probe").content_string == "over sftp\n"


def test_the_hostname_is_the_requested_one(debian: Machine) -> None:
    assert debian.host.check_output("hostname") == "box"


def test_kernel_keys_written_inside_never_reach_the_real_kernel(debian: Machine) -> None:
    real = Path("/proc/sys/vm/swappiness").read_text().strip()
    new = "13" if real != "13" else "14"
    debian.host.run_expect([0], f"echo 'vm.swappiness = {new}' > /etc/sysctl.d/99-test.conf")
    debian.host.run_expect([0], "sysctl --system")
    assert debian.host.check_output("cat /proc/sys/vm/swappiness") == new
    # Even a deliberate remount of the shadowed /proc/sys writes to the machine's own copy.
    debian.host.run("mount -o remount,rw /proc/sys; sysctl -w vm.swappiness=17")
    assert Path("/proc/sys/vm/swappiness").read_text().strip() == real


def test_the_machine_sits_on_an_internal_network(debian: Machine) -> None:
    debian.container.reload()
    (name,) = debian.container.attrs["NetworkSettings"]["Networks"]
    network = debian.container.client.networks.get(name)  # type: ignore[union-attr]
    assert network.attrs["Internal"] is True  # Docker drops everything forwarded out of it
    assert network.attrs["Labels"]["deployer-harness.run"]


def test_a_dropped_ssh_connection_is_opened_again(debian: Machine) -> None:
    assert debian.run_script("echo one") == (0, b"one\n", b"")
    code, output = debian.exec("pkill -f '^sshd: root'")  # what a deployer restarting sshd hard does to sessions
    assert code == 0, output
    assert debian.run_script("echo two") == (0, b"two\n", b"")


def test_a_machine_that_stops_answering_is_named_in_one_line_and_answers_again_once_it_does(debian: Machine) -> None:
    backend = debian.host.backend
    backend.read_timeout = 2
    try:
        debian.container.pause()  # a hung host: the connection stays open, nothing comes back
        begun = time.monotonic()
        try:
            with pytest.raises(HarnessError, match=rf"box \({debian.address}\) stopped answering: nothing came back"):
                debian.run_script("echo hello")
        finally:
            debian.container.unpause()
        assert time.monotonic() - begun < 5  # at its timeout, not after a reconnection's own
        assert debian.run_script("echo back") == (0, b"back\n", b"")
        assert debian.run_script("sleep 4; echo still") == (0, b"still\n", b"")  # silent, alive: keepalives
    finally:
        backend.read_timeout = READ_TIMEOUT


def test_a_committed_machine_starts_as_a_clone_with_its_files_and_goes_with_its_testbed(bench: Workbench) -> None:
    """What the drift suite's lanes start from: the machine's files in an image labelled with its testbed."""
    with Testbed(bench, "commit") as testbed:
        testbed.start([MachineSpec("web1", "debian-12", "web1")])
        code, _ = testbed.machines["web1"].exec("mkdir -p /etc/app && echo converged > /etc/app/state")
        assert code == 0
        images = testbed.commit()
        with Testbed(bench, "clone", key=testbed.key) as clone:
            clone.start([MachineSpec("web1", "debian-12", "web1")], images=images)
            copy = clone.machines["web1"]
            assert copy.address != testbed.machines["web1"].address  # a network of its own, the same name
            assert copy.host.file("/etc/app/state").content_string == "converged\n"  # over SSH, the same key
    assert bench.client.images.list(filters={"label": f"{SCOPE}={testbed.ownership.scope}"}) == []
