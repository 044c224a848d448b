"""A machine's `setup` on a real pve-8 machine: the host as it really is (a manual install's leftovers, a package, a
stub made real) before the first apply, and a clear error when a setup command fails."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.deployer.setup import MachineSetup, SetupFile
from harness.deployer.spec import MachineSpec
from harness.deployment import Deployment
from harness.errors import HarnessError
from harness.hosts.machine import Machine
from harness.hosts.setup import prepare
from harness.testbed import Testbed
from harness.workbench import Workbench


@pytest.fixture(scope="module")
def pve1(bench: Workbench) -> Iterator[Machine]:
    with Testbed(bench, "setup") as testbed:
        testbed.start([MachineSpec("pve1", "pve-8", "pve1")], mirror=True)
        yield testbed.machines["pve1"]


def test_setup_makes_the_host_as_the_spec_says_it_is(pve1: Machine) -> None:
    assert pve1.exec("udevadm control --reload")[0] == 0  # the kind's stub: always succeeds
    setup = MachineSetup(
        directories=("/opt/legacy-nut",),
        files=(
            SetupFile("/opt/legacy-nut/run.sh", "#!/bin/sh\necho legacy\n", 0o750, "root:nut"),
            SetupFile("/opt/legacy-nut/admin.conf", "admin\n", 0o4750, "nutadmin"),  # a user its commands create
            SetupFile("/run/legacy.pid", "1\n"),  # under a tmpfs mount: written where it shows
        ),
        packages=("jq",),
        commands=("useradd --system nutadmin", "echo done > /opt/legacy-nut/installed"),
        real=("udevadm",),
    )
    prepare(pve1, setup, "harness.yaml")
    assert pve1.exec("stat -c '%a %U:%G' /opt/legacy-nut/run.sh")[1] == "750 root:nut\n"
    assert pve1.exec("/opt/legacy-nut/run.sh")[1] == "legacy\n"
    assert pve1.exec("echo '{\"a\": 1}' | jq .a")[1] == "1\n"
    assert pve1.exec("id -u nutadmin")[0] == 0
    assert pve1.exec("stat -c '%a %U' /opt/legacy-nut/admin.conf")[1] == "4750 nutadmin\n"  # setuid kept
    assert pve1.exec("cat /run/legacy.pid")[1] == "1\n"
    code, output = pve1.exec("udevadm control --reload")  # the real one, with no udevd to talk to
    assert code != 0, output
    assert pve1.exec("test -L /bin/udevadm")[0] != 0  # the diversion undone: the package's own binary
    assert pve1.exec("udevadm --version")[1].strip().isdigit()


def test_a_failing_setup_command_is_named_with_its_output(pve1: Machine) -> None:
    with pytest.raises(HarnessError) as raised:
        prepare(pve1, MachineSetup(commands=("true", "ls /no/such/dir")), "deployers/x/harness.yaml")
    text = str(raised.value)
    assert "pve1: setup command 2: ls /no/such/dir failed (exit 2)\n" in text
    assert "No such file or directory" in text
    assert "fix: correct `machines.pve1.setup`" in text


def test_making_real_a_command_the_kind_does_not_stub_says_so(pve1: Machine) -> None:
    with pytest.raises(HarnessError) as raised:
        prepare(pve1, MachineSetup(real=("ls",)), "harness.yaml")
    assert str(raised.value).startswith("harness.yaml: pve1: making `ls` real failed (exit 3)\n")
    assert "this machine has no stub for ls: it runs the real one already" in str(raised.value)


def test_an_owner_that_does_not_exist_after_setup_is_named(pve1: Machine) -> None:
    with pytest.raises(HarnessError) as raised:
        prepare(pve1, MachineSetup(files=(SetupFile("/etc/ghost.conf", "x\n", 0o600, "ghost:root"),)), "harness.yaml")
    assert "pve1: giving /etc/ghost.conf to ghost:root, mode 600 failed (exit 1)" in str(raised.value)
    assert "no user ghost on this machine" in str(raised.value)


def test_setup_is_the_host_before_the_first_apply_and_never_the_deployer_s_doing(  # type: ignore[no-untyped-def]
    bench: Workbench, test_spec
) -> None:
    import dataclasses

    spec = test_spec("hello")
    legacy = MachineSetup(directories=("/opt/legacy",), files=(SetupFile("/etc/hello/legacy.conf", "old\n"),))
    machines = tuple(dataclasses.replace(m, setup=legacy) for m in spec.machines)
    with Deployment(bench, dataclasses.replace(spec, machines=machines)) as deployment:
        web1 = deployment.testbed.machines["web1"]
        assert web1.exec("cat /etc/hello/legacy.conf")[1] == "old\n"  # made when the machine started
        deployment.state.scan_pristine()
        assert deployment.apply().succeeded
        deployment.state.derive_watch()
        derived = deployment.state.derived["web1"]
    assert "/opt/legacy" not in derived.paths and "/etc/hello/legacy.conf" not in derived.paths
