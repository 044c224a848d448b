"""One internal network per test: machines and the deployer see each other and nothing else."""

from __future__ import annotations

import contextlib

import docker
import docker.errors
from docker.models.networks import Network

from harness.engine.labels import Ownership


def create_internal_network(client: docker.DockerClient, ownership: Ownership, purpose: str) -> Network:
    return client.networks.create(
        ownership.name("net", purpose),
        driver="bridge",
        internal=True,  # no route out: a deployer under test never reaches a real address
        labels=ownership.labels("network"),
        check_duplicate=True,
    )


def remove_network(network: Network) -> None:
    try:
        network.reload()
        for container_id in network.attrs.get("Containers") or {}:
            with contextlib.suppress(docker.errors.NotFound):
                network.client.containers.get(container_id).remove(force=True, v=True)
        network.remove()
    except docker.errors.NotFound:
        pass
