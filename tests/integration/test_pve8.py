"""The Proxmox VE 8 mimic: the details real deployers depend on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import testinfra.host

from harness.hosts.machine import Machine
from harness.testbed import standalone_machine
from harness.workbench import Workbench

NUT_CONFIG = {
    "/etc/nut/nut.conf": "MODE=netserver\n",
    "/etc/nut/ups.conf": '[ups]\n  driver = usbhid-ups\n  port = auto\n  desc = "test"\n',
    "/etc/nut/upsd.conf": "LISTEN 127.0.0.1 3493\n",
    "/etc/nut/upsd.users": "[admin]\n  password = pw\n  actions = SET\n  instcmds = ALL\n"
    "[mon]\n  password = pw\n  upsmon primary\n",
    "/etc/nut/upsmon.conf": 'MONITOR ups@localhost 1 mon pw primary\nSHUTDOWNCMD "/sbin/shutdown -h +0"\n',
}


@pytest.fixture(scope="module")
def pve(bench: Workbench) -> Iterator[Machine]:
    with standalone_machine(bench, "pve-8", "pve1") as machine:
        yield machine


@pytest.fixture
def host(pve: Machine) -> testinfra.host.Host:
    return pve.host


def test_pveversion_and_debian_underneath(host: testinfra.host.Host) -> None:
    assert host.check_output("pveversion") == "pve-manager/8.4.10/293f4abc4b22fa08 (running kernel: 6.8.12-13-pve)"
    assert "proxmox-ve: 8.4.0" in host.check_output("pveversion -v")
    assert 'VERSION_ID="12"' in host.file("/etc/os-release").content_string
    assert host.package("pve-manager").is_installed


def test_etc_pve_layout_modes_and_links(host: testinfra.host.Host) -> None:
    pve = host.file("/etc/pve")
    assert (pve.user, pve.group) == ("root", "www-data")
    storage = host.file("/etc/pve/storage.cfg")
    assert (storage.mode, storage.group) == (0o640, "www-data")
    assert "lvmthin: local-lvm" in storage.content_string
    assert host.file("/etc/pve/local").linked_to == "/etc/pve/nodes/pve1"
    assert host.file("/etc/pve/qemu-server").linked_to == "/etc/pve/nodes/pve1/qemu-server"
    assert host.file("/etc/pve/priv/authkey.key").mode == 0o600


def test_guest_commands_print_nothing_without_guests(host: testinfra.host.Host) -> None:
    for command in ("qm list", "pct list"):
        result = host.run(command)
        assert (result.rc, result.stdout) == (0, "")
    assert host.run("qm migrate 100 pve2").rc == 2  # not mimicked: said so
    assert '"version":"8.4.10"' in host.check_output("pvesh get /version --output-format json")


def test_qm_keeps_vm_configurations_in_proxmox_order_and_runs_the_hookscript(host: testinfra.host.Host) -> None:
    missing = host.run("qm set 999 --name x")
    assert missing.rc == 255
    assert missing.stderr.strip() == "Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist"
    host.run_expect([0], "printf 'name: frigate\\nmemory: 4096\\n' > /etc/pve/qemu-server/108.conf")
    refused = host.run("qm set 108 --hookscript local:snippets/frigate.sh")
    assert (refused.rc, refused.stderr.strip()) == (255, "volume 'local:snippets/frigate.sh' does not exist")
    unknown = host.run("qm set 108 --colour red")
    assert unknown.rc == 255 and "colour: property is not defined in schema" in unknown.stderr
    hook = '#!/bin/sh\\necho "$1 $2" >> /var/log/frigate-hook.log\\n'
    host.run_expect([0], f"mkdir -p /var/lib/vz/snippets && printf '{hook}' > /var/lib/vz/snippets/frigate.sh")
    host.run_expect([0], "chmod 755 /var/lib/vz/snippets/frigate.sh")
    set_ = host.run("qm set 108 --hookscript local:snippets/frigate.sh --hostpci0 0000:01:00.0,pcie=1 --args '-cpu x'")
    assert set_.rc == 0 and set_.stdout.startswith("update VM 108: -hookscript local:snippets/frigate.sh")
    assert host.check_output("qm config 108").splitlines() == [
        "args: -cpu x", "hookscript: local:snippets/frigate.sh", "hostpci0: 0000:01:00.0,pcie=1",
        "memory: 4096", "name: frigate",
    ]  # fmt: skip
    before = host.check_output("stat -c %Y.%Z /etc/pve/qemu-server/108.conf")
    host.run_expect([0], "sleep 1.1 && qm set 108 --hookscript local:snippets/frigate.sh")
    assert host.check_output("stat -c %Y.%Z /etc/pve/qemu-server/108.conf") == before  # the same value: unchanged
    host.run_expect([0], "qm start 108")
    assert host.run("qm start 108").stderr.strip() == "VM 108 already running"
    assert "108 frigate" in " ".join(host.check_output("qm list").split()) and "running" in host.check_output("qm list")
    host.run_expect([0], "qm stop 108")
    assert host.check_output("qm status 108") == "status: stopped"
    assert host.file("/var/log/frigate-hook.log").content_string.split("\n")[:4] == [
        "108 pre-start", "108 post-start", "108 pre-stop", "108 post-stop",
    ]  # fmt: skip
    host.run_expect([0], "rm -f /etc/pve/qemu-server/108.conf /var/lib/vz/snippets/frigate.sh")


@pytest.mark.parametrize("unit", ["pve-cluster", "pvedaemon", "pveproxy", "pvestatd", "pvescheduler", "pve-firewall"])
def test_pve_services_run(host: testinfra.host.Host, unit: str) -> None:
    service = host.service(unit)
    assert service.is_running
    assert service.is_enabled


def test_hardware_commands_are_stubbed_and_logged(host: testinfra.host.Host) -> None:
    host.run_expect([0], "shutdown -h +0 && udevadm trigger")
    log = host.file("/var/log/harness-stubs.log").content_string
    assert "shutdown -h +0" in log
    assert "udevadm trigger" in log
    assert host.run("systemctl is-system-running").stdout.strip() in ("running", "degraded")


def test_a_dummy_ups_answers_behind_the_usbhid_driver_name(host: testinfra.host.Host) -> None:
    assert host.run("dpkg -l | grep -q '^ii.*nut '").rc == 0  # the guard deployers use
    for path, content in NUT_CONFIG.items():
        host.run_expect([0], f"printf '%s' {_quote(content)} > {path} && chgrp nut {path} && chmod 640 {path}")
    host.run_expect([0], "systemctl restart nut-driver-enumerator nut-server nut-monitor")
    # Like real hardware, the driver needs a moment (upsc says WAIT or "Driver not connected" meanwhile).
    wait = (
        'for i in $(seq 50); do s=$(upsc ups@localhost ups.status 2>/dev/null); [ "$s" = OL ] && break; sleep 0.2; done'
    )
    host.run(wait)
    assert host.run("upsc ups@localhost ups.status 2>/dev/null").stdout.strip() == "OL"
    host.run_expect([0], 'upsrw -s ups.status="OB DISCHRG" -u admin -p pw ups@localhost')
    assert host.run("sleep 2; upsc ups@localhost ups.status 2>/dev/null").stdout.strip() == "OB DISCHRG"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"
