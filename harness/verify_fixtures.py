"""Fixtures for a deployer's own tests, loaded into the verify run with ``-p harness.verify_fixtures``.

``host`` is the default machine, ``hosts`` every machine by name, ``secrets`` the
spec's test values: all as testinfra sees them, over one SSH connection per machine.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import testinfra.host

from harness.hosts.ssh_backend import NoDelayParamikoBackend
from harness.verify import TARGETS_ENV


def _targets() -> dict[str, Any]:
    path = os.environ.get(TARGETS_ENV)
    if not path:
        raise pytest.UsageError(f"{TARGETS_ENV} is not set: these fixtures only work in the harness's verify run")
    data: dict[str, Any] = json.loads(Path(path).read_text())
    return data


@pytest.fixture(scope="session")
def hosts() -> Iterator[dict[str, testinfra.host.Host]]:
    targets = _targets()
    backends = {
        name: NoDelayParamikoBackend(info["address"], Path(info["key"]))
        for name, info in targets["machines"].items()
        if "docker" not in info
    }
    hosts = {name: testinfra.host.Host(backend) for name, backend in backends.items()}
    for name, info in targets["machines"].items():
        if "docker" in info:  # a kind node: a container reached with `docker exec`
            hosts[name] = testinfra.host.get_host(f"docker://{info['docker']}")
    yield hosts
    for backend in backends.values():
        backend.close()


@pytest.fixture(scope="session")
def host(hosts: dict[str, testinfra.host.Host]) -> testinfra.host.Host:
    return hosts[_targets()["default"]]


@pytest.fixture(scope="session")
def cluster() -> dict[str, Any]:
    """DaemonSet deployers: ``{"daemonset": name, "nodes": {node: {"labels", "taints", "scheduled", "pod"}}}``."""
    data = _targets()["cluster"]
    if data is None:
        pytest.skip("this deployer runs no DaemonSet: there is no cluster")
    return dict(data)


@pytest.fixture(scope="session")
def secrets() -> dict[str, dict[str, str]]:
    data: dict[str, dict[str, str]] = _targets()["secrets"]
    return data
