"""Post-deploy checks for ansible-nut: the host after the role ran (fixtures from the harness: host, secrets)."""

import re
import time
from pathlib import Path

import pytest

BASE = "/opt/ansible-nut"


@pytest.fixture
def nut_secrets(secrets):
    return secrets["ansible-nut-secrets"]


@pytest.mark.parametrize(
    "path, mode, group",
    [
        ("/etc/nut/nut.conf", 0o640, "nut"),
        ("/etc/nut/ups.conf", 0o640, "nut"),
        ("/etc/nut/upsd.conf", 0o640, "nut"),
        ("/etc/nut/upsd.users", 0o640, "nut"),
        ("/etc/nut/upsmon.conf", 0o640, "nut"),
        (f"{BASE}/scripts/battery-check.sh", 0o755, "root"),
        (f"{BASE}/.env", 0o600, "root"),
        ("/etc/cron.d/ansible-nut", 0o644, "root"),
    ],
)
def test_managed_files(host, path, mode, group):
    f = host.file(path)
    assert f.is_file
    assert (f.mode, f.user, f.group) == (mode, "root", group)


def test_passwords_reach_nut_and_the_env_file(host, nut_secrets):
    users = host.file("/etc/nut/upsd.users").content_string
    assert f"password = {nut_secrets['NUT_ADMIN_PASSWORD']}" in users
    monitor = host.file("/etc/nut/upsmon.conf").content_string
    assert f"MONITOR ups@localhost 1 upsmon {nut_secrets['NUT_MONITOR_PASSWORD']} primary" in monitor
    env = host.file(f"{BASE}/.env").content_string.splitlines()
    assert f"NUT_ADMIN_PASSWORD={nut_secrets['NUT_ADMIN_PASSWORD']}" in env


def test_the_cron_entry_runs_the_battery_check_as_root(host):
    lines = [line for line in host.file("/etc/cron.d/ansible-nut").content_string.splitlines() if line.strip()]
    entries = [line for line in lines if not line.startswith("#")]
    assert entries == [f"*/5 * * * * root {BASE}/scripts/battery-check.sh >> {BASE}/log/battery.log 2>&1"]


@pytest.mark.parametrize("unit", ["nut-server.service", "nut-monitor.service", "nut-driver@ups.service"])
def test_nut_units_are_enabled_and_running(host, unit):
    service = host.service(unit)
    assert service.is_enabled
    assert service.is_running


def test_upsd_reports_the_ups_on_line_power(host):
    deadline = time.monotonic() + 30
    status = ""
    while time.monotonic() < deadline:
        status = host.run("upsc ups@localhost ups.status").stdout.strip()
        if status and status != "WAIT":
            break
        time.sleep(1)
    assert "OL" in status.split()


def test_the_battery_check_logs_a_line(host):
    out = host.run(f"{BASE}/scripts/battery-check.sh")
    assert out.rc == 0, out.stderr
    assert 'status="OL' in out.stdout and "battery.charge=100" in out.stdout


def test_the_version_is_stamped(host):
    dockerfile = (Path(__file__).resolve().parent.parent / "Dockerfile").read_text()
    version = re.search(r"^ARG VERSION=(\S+)", dockerfile, re.M)
    assert version, "the Dockerfile has no ARG VERSION=..."
    assert host.file(f"{BASE}/.version").content_string.strip() == version.group(1)
