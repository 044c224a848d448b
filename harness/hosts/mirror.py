"""The package mirror of a deployment's internal network: apt-cacher-ng, the only container with a way out.

It sits on Docker's default bridge (its way to Debian's archive) and on the
internal network as ``mirror``; machines send apt there. It refuses what is not
a Debian repository. Its cache is a volume kept across runs, so a second run
downloads nothing.
"""

from __future__ import annotations

import dataclasses
import socket
import time

import docker
import docker.errors
from docker.models.containers import Container
from docker.models.networks import Network

from harness import PROJECT
from harness.engine.archive import Entry
from harness.engine.labels import CACHE, Ownership
from harness.engine.locks import build_lock
from harness.errors import HarnessError

ALIAS = "mirror"
PORT = 3142
CACHE_VOLUME = f"{PROJECT}-apt-cache"
APT_CONFIG = Entry(
    "/etc/apt/apt.conf.d/01deployer-harness-mirror",
    f'Acquire::http::Proxy "http://{ALIAS}:{PORT}";\nAcquire::https::Proxy "DIRECT";\n'.encode(),
)


def start_mirror(
    client: docker.DockerClient, ownership: Ownership, network: Network, image: str, *, timeout: float = 30.0
) -> Container:
    """The run's mirror, joined to ``network`` as ``mirror``.

    One per run, shared by its deployments and xdist workers: two apt-cacher-ng processes on one cache volume
    would race on the same files. The run's sweep removes it.
    """
    name = f"{PROJECT}-{ownership.run_id}-mirror"
    with build_lock(name):
        try:
            container = client.containers.get(name)
        except docker.errors.NotFound:
            container = _create(client, ownership, name, image, timeout)
    network.connect(container, aliases=[ALIAS])
    return container


def _create(client: docker.DockerClient, ownership: Ownership, name: str, image: str, timeout: float) -> Container:
    try:
        client.volumes.get(CACHE_VOLUME)
    except docker.errors.NotFound:
        client.volumes.create(CACHE_VOLUME, labels={CACHE: "true"})
    run_level = dataclasses.replace(ownership, scope="")  # not one deployment's: closing a deployment keeps it
    container = client.containers.run(
        image,
        name=name,
        labels=run_level.labels("mirror"),
        volumes={CACHE_VOLUME: {"bind": "/var/cache/apt-cacher-ng", "mode": "rw"}},
        detach=True,
    )
    try:
        container.reload()
        address = container.attrs["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]
        deadline = time.monotonic() + timeout
        while True:
            try:
                socket.create_connection((address, PORT), timeout=1).close()
                return container
            except OSError:
                if time.monotonic() > deadline:
                    logs = container.logs(tail=20).decode(errors="replace")
                    raise HarnessError(f"the package mirror did not answer on port {PORT}:\n{logs}") from None
                time.sleep(0.1)
    except BaseException:
        container.remove(force=True)
        raise
