"""Post-deploy checks for nut-fleet: every host of the inventory (fixtures from the harness: hosts, secrets)."""

import pytest

MACHINES = ["pve1", "pve2", "pve3"]


@pytest.mark.parametrize("machine", MACHINES)
def test_nut_files_carry_the_passwords_with_tight_modes(hosts, secrets, machine):
    host, passwords = hosts[machine], secrets["nut-fleet-secrets"]
    users = host.file("/etc/nut/upsd.users")
    assert (users.mode, users.user, users.group) == (0o640, "root", "nut")
    assert f"password = {passwords['NUT_ADMIN_PASSWORD']}" in users.content_string
    env = host.file("/opt/nut-fleet/.env")
    assert (env.mode, env.user) == (0o600, "root")
    assert host.file("/etc/cron.d/nut-fleet").mode == 0o644


@pytest.mark.parametrize("machine", MACHINES)
def test_nut_runs_and_reads_the_ups(hosts, machine):
    host = hosts[machine]
    for unit in ("nut-server.service", "nut-monitor.service", "nut-driver@ups.service"):
        assert host.service(unit).is_enabled and host.service(unit).is_running, unit
    assert "OL" in host.run("upsc ups@localhost ups.status").stdout.split()
