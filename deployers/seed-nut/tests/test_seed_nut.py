"""What pve1 must look like after seed-nut ran (fixtures from the harness: host, secrets)."""

import re
from pathlib import Path

import pytest

BASE = "/opt/seed-nut"


@pytest.mark.parametrize(
    "path, mode, owner",
    [
        ("/etc/nut/nut.conf", 0o640, ("root", "nut")),
        ("/etc/nut/ups.conf", 0o640, ("root", "nut")),
        ("/etc/nut/upsd.conf", 0o640, ("root", "nut")),
        ("/etc/nut/upsd.users", 0o640, ("root", "nut")),
        ("/etc/nut/upsmon.conf", 0o640, ("root", "nut")),
        (f"{BASE}/scripts/notify.sh", 0o755, ("root", "root")),
        (f"{BASE}/scripts/battery.sh", 0o755, ("root", "root")),
        (f"{BASE}/.env", 0o600, ("root", "root")),
        ("/etc/cron.d/seed-nut", 0o644, ("root", "root")),
    ],
)
def test_file(host, path, mode, owner):
    f = host.file(path)
    assert f.is_file, f"{path} is missing"
    assert f.mode == mode, f"{path}: mode {oct(f.mode)}, expected {oct(mode)}"
    assert (f.user, f.group) == owner


def test_env_holds_the_secrets(host, secrets):
    lines = host.file(f"{BASE}/.env").content_string.splitlines()
    assert dict(line.split("=", 1) for line in lines) == secrets["seed-nut-secrets"]


def test_upsmon_uses_the_monitor_password(host, secrets):
    password = secrets["seed-nut-secrets"]["NUT_MONITOR_PASSWORD"]
    assert f"MONITOR ups@localhost 1 upsmon {password} primary" in host.file("/etc/nut/upsmon.conf").content_string


def test_cron_entry(host):
    content = host.file("/etc/cron.d/seed-nut").content_string
    assert content.endswith("\n")
    assert "*/10 * * * * root /opt/seed-nut/scripts/battery.sh" in content


@pytest.mark.parametrize("unit", ["nut-server", "nut-monitor"])
def test_service(host, unit):
    assert host.service(unit).is_enabled
    assert host.service(unit).is_running


def test_version_stamp(host):
    dockerfile = Path(__file__).resolve().parent.parent / "Dockerfile"
    version = re.search(r"^ARG VERSION=(\S+)", dockerfile.read_text(), re.M)
    assert version, "the Dockerfile has no ARG VERSION"
    assert host.file(f"{BASE}/.version").content_string == version.group(1) + "\n"
