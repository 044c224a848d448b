"""Post-state of node-configurator on the simulated cluster (the harness gives `hosts` and `cluster`)."""

from __future__ import annotations

import time
from typing import Any

import pytest

SYSCTL = {"net.ipv4.ip_forward": "1", "vm.swappiness": "10", "fs.inotify.max_user_watches": "524288"}
INTERVAL = 5  # INTERVAL_SECONDS in the manifest


def targeted(cluster: dict[str, Any]) -> list[str]:
    return [name for name, node in cluster["nodes"].items() if node["scheduled"]]


def test_the_daemon_runs_on_gpu_workers_and_the_control_plane(cluster: dict[str, Any]) -> None:
    assert targeted(cluster) == ["cp1", "w1", "w2"]
    assert cluster["nodes"]["w3"]["pod"] is None


@pytest.mark.parametrize("node", ["cp1", "w1", "w2"])
def test_targeted_node_is_configured(hosts: dict[str, Any], node: str) -> None:
    host = hosts[node]
    assert host.package("conntrack").is_installed
    conf = host.file("/etc/sysctl.d/99-node-configurator.conf")
    assert conf.mode == 0o644 and "vm.swappiness = 10" in conf.content_string
    for key, value in SYSCTL.items():
        assert host.check_output(f"sysctl -n {key}") == value
    agent = host.file("/etc/node-agent/agent.conf")
    assert agent.content_string == f"REPORT_LEVEL=info\nHEARTBEAT_SECONDS=5\nNODE_NAME={node}\n"
    assert host.service("node-agent").is_enabled and host.service("node-agent").is_running


def test_untargeted_node_is_left_alone(hosts: dict[str, Any]) -> None:
    host = hosts["w3"]
    assert not host.package("conntrack").is_installed
    assert not host.file("/etc/sysctl.d/99-node-configurator.conf").exists
    assert not host.file("/etc/systemd/system/node-agent.service").exists


def test_a_hand_edit_is_repaired_within_one_interval(hosts: dict[str, Any]) -> None:
    host = hosts["w1"]
    host.run("echo 'REPORT_LEVEL=debug' > /etc/node-agent/agent.conf && systemctl stop node-agent")
    host.run("sysctl -q -w vm.swappiness=60")
    deadline = time.monotonic() + INTERVAL + 5
    while time.monotonic() < deadline:
        if (
            "REPORT_LEVEL=info" in host.file("/etc/node-agent/agent.conf").content_string
            and host.service("node-agent").is_running
            and host.check_output("sysctl -n vm.swappiness") == "10"
        ):
            return
        time.sleep(0.5)
    pytest.fail(f"w1 was not repaired within {INTERVAL + 5} s")
