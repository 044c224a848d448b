"""Post-deploy checks for pve-nut: what the host must look like after the Job ran.

Fixtures come from the test harness:
  host     testinfra Host for the single machine (pve1)
  hosts    dict machine name -> testinfra Host
  secrets  dict Secret name -> {key: value}, the test values from harness.yaml
"""

import re
import time
from pathlib import Path

import pytest

BASE = "/opt/pve-nut"
UPS = "ups@localhost"


def _image_version():
    """The version the Dockerfile stamps into the image (ARG VERSION=...)."""
    dockerfile = Path(__file__).resolve().parent.parent / "Dockerfile"
    match = re.search(r"^ARG VERSION=(\S+)", dockerfile.read_text(), re.M)
    assert match, "Dockerfile has no ARG VERSION=..."
    return match.group(1)


def _parse_env(text):
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


def _parse_upsd_users(text):
    """upsd.users -> {user: {key: value}} (only 'key = value' lines)."""
    users, current = {}, None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        section = re.fullmatch(r"\[(.+)\]", line)
        if section:
            current = users.setdefault(section.group(1), {})
        elif current is not None and "=" in line:
            key, value = (part.strip() for part in line.split("=", 1))
            current[key] = value
    return users


def _eventually(check, timeout=30.0, interval=1.0):
    """Retry check() until it returns a truthy value; return the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


@pytest.fixture
def nut_secrets(secrets):
    return secrets["pve-nut-secrets"]


# ------------------------------------------------------------------ files


def test_nut_package_installed(host):
    assert host.package("nut").is_installed
    # The guard the deployer itself uses.
    assert host.run("dpkg -l | grep -q '^ii.*nut '").rc == 0


@pytest.mark.parametrize(
    "path, mode, user, group",
    [
        ("/etc/nut/nut.conf", 0o640, "root", "nut"),
        ("/etc/nut/ups.conf", 0o640, "root", "nut"),
        ("/etc/nut/upsd.conf", 0o640, "root", "nut"),
        ("/etc/nut/upsd.users", 0o640, "root", "nut"),
        ("/etc/nut/upsmon.conf", 0o640, "root", "nut"),
        (f"{BASE}/scripts/notify.sh", 0o755, "root", "root"),
        (f"{BASE}/scripts/status.sh", 0o755, "root", "root"),
        (f"{BASE}/scripts/battery-check.sh", 0o755, "root", "root"),
        (f"{BASE}/.env", 0o600, "root", "root"),
        (f"{BASE}/notify.conf", 0o640, "root", "nut"),
        (f"{BASE}/.version", 0o644, "root", "root"),
        ("/etc/cron.d/pve-nut", 0o644, "root", "root"),
    ],
)
def test_file(host, path, mode, user, group):
    f = host.file(path)
    assert f.is_file, f"{path} missing"
    assert not f.is_symlink
    assert f.mode == mode, f"{path}: mode {oct(f.mode)}, expected {oct(mode)}"
    assert (f.user, f.group) == (user, group)


@pytest.mark.parametrize(
    "path, mode, user, group",
    [
        (BASE, 0o755, "root", "root"),
        (f"{BASE}/scripts", 0o755, "root", "root"),
        (f"{BASE}/log", 0o775, "root", "nut"),
    ],
)
def test_directory(host, path, mode, user, group):
    d = host.file(path)
    assert d.is_directory
    assert d.mode == mode
    assert (d.user, d.group) == (user, group)


def test_status_symlink(host):
    link = host.file("/usr/local/bin/pve-nut-status")
    assert link.is_symlink
    assert link.linked_to == f"{BASE}/scripts/status.sh"


@pytest.mark.parametrize(
    "path, pattern",
    [
        ("/etc/nut/nut.conf", r"^MODE=netserver$"),
        ("/etc/nut/ups.conf", r"^\[ups\]$"),
        ("/etc/nut/ups.conf", r"^\s*driver = usbhid-ups$"),
        ("/etc/nut/ups.conf", r"^\s*port = auto$"),
        ("/etc/nut/ups.conf", r'^\s*desc = ".+"$'),
        ("/etc/nut/upsd.conf", r"^LISTEN 127\.0\.0\.1 3493$"),
        ("/etc/nut/upsmon.conf", r"^MONITOR ups@localhost 1 upsmon \S+ primary$"),
        ("/etc/nut/upsmon.conf", r'^SHUTDOWNCMD "/sbin/shutdown -h \+0"$'),
        ("/etc/nut/upsmon.conf", rf"^NOTIFYCMD {BASE}/scripts/notify\.sh$"),
        ("/etc/nut/upsmon.conf", r"^NOTIFYFLAG ONBATT\s+\S*EXEC"),
        ("/etc/nut/upsd.users", r"^\s*actions = SET$"),
        ("/etc/nut/upsd.users", r"^\s*instcmds = ALL$"),
        ("/etc/nut/upsd.users", r"^\s*upsmon primary$"),
    ],
)
def test_config_line(host, path, pattern):
    content = host.file(path).content_string
    assert re.search(pattern, content, re.M), f"{path} has no line matching {pattern!r}"


@pytest.mark.parametrize(
    "path",
    ["/etc/nut/upsd.users", "/etc/nut/upsmon.conf", f"{BASE}/.env", "/etc/nut/ups.conf"],
)
def test_no_unrendered_placeholders(host, path):
    assert not re.search(r"@[A-Z_]+@", host.file(path).content_string)


# ------------------------------------------------------------------ secrets


def test_env_file_matches_secret(host, nut_secrets):
    env = host.file(f"{BASE}/.env")
    assert env.mode == 0o600 and env.user == "root"
    assert env.content_string.endswith("\n")
    assert _parse_env(env.content_string) == nut_secrets


def test_upsd_users_passwords_match_secret(host, nut_secrets):
    users = _parse_upsd_users(host.file("/etc/nut/upsd.users").content_string)
    assert users["admin"]["password"] == nut_secrets["NUT_ADMIN_PASSWORD"]
    assert users["upsmon"]["password"] == nut_secrets["NUT_MONITOR_PASSWORD"]


def test_upsmon_password_matches_secret(host, nut_secrets):
    content = host.file("/etc/nut/upsmon.conf").content_string
    monitor = re.search(r"^MONITOR (\S+) (\d+) (\S+) (\S+) (\S+)$", content, re.M)
    assert monitor
    assert monitor.groups() == (UPS, "1", "upsmon", nut_secrets["NUT_MONITOR_PASSWORD"], "primary")


def test_notify_conf_has_no_passwords(host, nut_secrets):
    # notify.conf is readable by the nut group: it must not carry the upsd passwords.
    content = host.file(f"{BASE}/notify.conf").content_string
    for value in (nut_secrets["NUT_ADMIN_PASSWORD"], nut_secrets["NUT_MONITOR_PASSWORD"]):
        assert value not in content
    assert re.fullmatch(r"NOTIFY_URL=\S*\n", content)


# ------------------------------------------------------------------ cron


def test_cron_entry(host):
    cron = host.file("/etc/cron.d/pve-nut")
    content = cron.content_string
    assert content.endswith("\n"), "cron.d files need a trailing newline"
    lines = [line for line in content.splitlines() if line and not line.startswith("#")]
    assert "SHELL=/bin/bash" in lines
    assert any(line.startswith("PATH=") for line in lines)
    assert "*/5 * * * * root /opt/pve-nut/scripts/battery-check.sh >> /opt/pve-nut/log/battery.log 2>&1" in lines


# ------------------------------------------------------------------ services


@pytest.mark.parametrize("unit", ["nut-server", "nut-monitor"])
def test_service_running_and_enabled(host, unit):
    service = host.service(unit)
    assert service.is_running
    assert service.is_enabled


def test_nut_target_enabled(host):
    assert host.service("nut.target").is_enabled


def test_ups_driver_running(host):
    units = host.check_output("systemctl list-units --plain --no-legend --state=active 'nut-driver@*'")
    assert "nut-driver@" in units, "no active nut-driver@ unit"


def test_upsd_listens_on_localhost_only(host):
    assert host.socket("tcp://127.0.0.1:3493").is_listening
    assert not host.socket("tcp://0.0.0.0:3493").is_listening


def test_ups_online(host):
    status = host.check_output(f"upsc {UPS} ups.status 2>/dev/null")
    assert "OL" in status.split()


def test_upsmon_logged_in(host):
    # upsmon logs in to upsd with the monitor password from the Secret.
    clients = _eventually(lambda: host.run(f"upsc -c {UPS} 2>/dev/null").stdout.strip(), timeout=20)
    assert "127.0.0.1" in clients.split()


# ------------------------------------------------------------------ scripts


@pytest.mark.parametrize("script", ["notify.sh", "status.sh", "battery-check.sh"])
def test_script_executable(host, script):
    f = host.file(f"{BASE}/scripts/{script}")
    assert f.is_file and f.mode & 0o111 == 0o111
    assert f.content_string.startswith("#!/bin/bash\n")


def test_pve_nut_status_runs(host):
    out = host.check_output("pve-nut-status")
    assert re.search(r"^Status:\s+OL\b", out, re.M), out


def test_battery_check_runs(host):
    out = host.check_output(f"{BASE}/scripts/battery-check.sh")
    assert re.search(r'^\S+ (INFO|WARN) status="[^"]*OL[^"]*" battery\.charge=\S+$', out), out


def test_notify_script_writes_event_log_as_nut(host):
    marker = f"pytest-{time.time_ns()}"
    cmd = (
        "runuser -u nut -- env NOTIFYTYPE=ONBATT UPSNAME=ups@localhost "
        f"{BASE}/scripts/notify.sh 'UPS ups@localhost on battery {marker}'"
    )
    assert host.run(cmd).rc == 0
    log = host.file(f"{BASE}/log/events.log").content_string
    assert re.search(rf"type=ONBATT UPS ups@localhost on battery {marker}$", log, re.M)


def test_power_event_reaches_event_log(host, nut_secrets):
    """End to end: upsd admin password, upsmon, NOTIFYCMD, event log."""
    admin = nut_secrets["NUT_ADMIN_PASSWORD"]
    setvar = f"upsrw -s ups.status='{{}}' -u admin -p '{admin}' {UPS} 2>&1"
    log_path = f"{BASE}/log/events.log"

    def event_count(kind):
        content = host.run(f"cat {log_path} 2>/dev/null").stdout
        return len(re.findall(rf"type={kind} ", content))

    def on_battery():
        # Set again on every try: a simulated UPS may fall back to the state its
        # definition file describes between two polls of upsmon.
        out = host.run(setvar.format("OB DISCHRG"))
        assert out.rc == 0 and "OK" in out.stdout, f"upsrw as admin failed: {out.stdout}"
        return event_count("ONBATT") > before_onbatt

    before_onbatt, before_online = event_count("ONBATT"), event_count("ONLINE")
    try:
        assert _eventually(on_battery, timeout=30), "upsmon reported no ONBATT event to notify.sh"
    finally:
        host.run(setvar.format("OL"))
    assert _eventually(lambda: event_count("ONLINE") > before_online, timeout=30)
    assert "OL" in host.check_output(f"upsc {UPS} ups.status 2>/dev/null").split()


def test_version_file(host):
    version = host.file(f"{BASE}/.version")
    assert version.content_string == _image_version() + "\n"
