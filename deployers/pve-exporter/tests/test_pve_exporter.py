"""What pve2 must look like once pve-exporter is deployed."""

import time


def test_the_release_is_installed(host):
    binary = host.file("/usr/local/bin/pve-exporter")
    assert binary.mode == 0o755 and binary.user == "root"
    assert host.check_output("/usr/local/bin/pve-exporter --version") == "pve-exporter 1.4.0"


def test_the_token_is_readable_by_root_only(host, secrets):
    env = host.file("/etc/default/pve-exporter")
    assert env.mode == 0o600 and env.user == "root"
    assert f"PVE_EXPORTER_TOKEN={secrets['pve-exporter-secrets']['PVE_EXPORTER_TOKEN']}" in env.content_string


def test_the_service_runs_at_boot_and_now(host):
    service = host.service("pve-exporter")
    assert service.is_enabled and service.is_running


def test_metrics_are_written(host):
    for _ in range(50):
        if host.file("/run/pve-exporter/metrics").exists:
            break
        time.sleep(0.1)
    assert "pve_load1 " in host.file("/run/pve-exporter/metrics").content_string
