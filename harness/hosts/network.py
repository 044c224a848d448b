"""One internal network per test: machines and the deployer see each other and nothing else."""

from __future__ import annotations

import docker
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
