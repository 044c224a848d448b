"""Each fault kind on a real machine: what it breaks, and that healing gives the machine back as it was."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.deployer.spec import MachineSpec
from harness.faults.plan import Faults
from harness.faults.spec import FaultSpec
from harness.hosts.machine import Machine
from harness.testbed import Testbed
from harness.workbench import Workbench


@pytest.fixture(scope="module")
def testbed(bench: Workbench) -> Iterator[Testbed]:
    with Testbed(bench, "fault-kinds") as started:
        started.start([MachineSpec("box", "debian-12", "box"), MachineSpec("peer", "debian-12", "peer")])
        yield started


def strike(testbed: Testbed, spec: FaultSpec) -> Faults:
    faults = Faults(testbed)
    faults.plan((spec,))
    assert faults.strike_next(1).endswith(": struck")
    return faults


def reaches(peer: Machine, box: Machine) -> bool:
    code, _ = peer.exec(f"timeout 3 bash -c '</dev/tcp/{box.address}/22' 2>/dev/null")
    return code == 0


def test_stop_sshd_refuses_new_connections_and_keeps_the_harness_s(testbed: Testbed) -> None:
    box, peer = testbed.machines["box"], testbed.machines["peer"]
    faults = strike(testbed, FaultSpec("stop-sshd", "box"))
    assert not reaches(peer, box)
    assert box.run_script("echo still")[1] == b"still\n" and faults.reachable("box")
    faults.heal()
    assert reaches(peer, box)


def test_pause_freezes_the_machine_and_heal_thaws_it(testbed: Testbed) -> None:
    box = testbed.machines["box"]
    faults = strike(testbed, FaultSpec("pause", "box"))
    box.container.reload()
    assert box.container.status == "paused" and not faults.reachable("box") and not faults.engine_reaches("box")
    faults.heal()
    assert box.run_script("echo thawed")[1] == b"thawed\n"


def test_a_partition_takes_the_machine_off_the_network_and_heal_brings_it_back(testbed: Testbed) -> None:
    box, peer = testbed.machines["box"], testbed.machines["peer"]
    faults = strike(testbed, FaultSpec("partition", "box"))
    box.container.reload()
    assert testbed.network.name not in box.container.attrs["NetworkSettings"]["Networks"]
    assert not reaches(peer, box) and faults.engine_reaches("box")
    faults.heal()
    assert reaches(peer, box)
    assert peer.exec("getent hosts box")[1].split()[0] == box.address  # its name too
    assert box.run_script("echo back")[1] == b"back\n"


def test_a_full_path_refuses_writes_and_keeps_what_was_written_before_and_during(testbed: Testbed) -> None:
    box = testbed.machines["box"]
    box.exec("mkdir -p /etc/fill && echo before > /etc/fill/old.conf")
    faults = strike(testbed, FaultSpec("fill-path", "box", path="/etc/fill"))
    code, output = box.exec("head -c 1048576 /dev/zero > /etc/fill/big.bin")
    assert code != 0 and "No space left on device" in output
    assert box.exec("cat /etc/fill/old.conf")[1] == "before\n"
    assert box.exec("ls -A /etc/fill")[1].split() == ["big.bin", "old.conf"]  # no filler shows in the path
    faults.heal()
    assert box.exec("mountpoint -q /etc/fill")[0] != 0
    assert box.exec("ls -A /etc/fill")[1].split() == ["big.bin", "old.conf"]  # a real full disk keeps the part
    assert box.exec("echo after > /etc/fill/new.conf")[0] == 0


def test_a_reboot_clears_tmpfs_and_brings_enabled_units_back(testbed: Testbed) -> None:
    box = testbed.machines["box"]
    box.exec("touch /run/marker /var/tmp/kept && systemctl stop cron")
    strike(testbed, FaultSpec("reboot", "box"))
    assert box.exec("test -e /run/marker")[0] != 0  # /run is a tmpfs: empty after a boot
    assert box.exec("test -e /var/tmp/kept")[0] == 0
    assert box.exec("systemctl is-active cron")[1].strip() == "active"  # enabled: started at boot
    assert box.run_script("echo up")[1] == b"up\n"


def test_a_rotated_host_key_is_served_until_healed(testbed: Testbed) -> None:
    box, peer = testbed.machines["box"], testbed.machines["peer"]

    def served() -> str:
        return peer.exec(f"ssh-keyscan -t ed25519 {box.address} 2>/dev/null")[1].split()[2]

    known = box.host_keys.public["ed25519"].split()[1]
    assert served() == known
    faults = strike(testbed, FaultSpec("rotate-host-key", "box"))
    assert served() != known
    faults.heal()
    assert served() == known


def test_a_stopped_machine_starts_again_on_heal(testbed: Testbed) -> None:
    box = testbed.machines["box"]
    faults = strike(testbed, FaultSpec("stop", "box"))
    box.container.reload()
    assert box.container.status == "exited" and not faults.engine_reaches("box")
    faults.heal()
    assert box.run_script("echo on")[1] == b"on\n"
