"""Files into a created (not yet started) container, with exact modes and owners.

``put_archive`` before start works on any engine, local or remote; it must not
target a tmpfs mount, where the engine reports success and writes nothing.
"""

from __future__ import annotations

import io
import tarfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import docker
from docker.models.containers import Container
from docker.types import Mount

from harness.engine.labels import Ownership
from harness.errors import HarnessError


@dataclass(frozen=True)
class Entry:
    path: str  # absolute path inside the container
    content: bytes | None = None  # None: a directory
    mode: int = 0o644
    uid: int = 0
    gid: int = 0


def put_files(container: Container, entries: list[Entry]) -> None:
    buffer = io.BytesIO()
    now = time.time()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for entry in entries:
            info = tarfile.TarInfo(entry.path.lstrip("/"))
            info.mode, info.uid, info.gid, info.mtime = entry.mode, entry.uid, entry.gid, now
            if entry.content is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(entry.content)
                tar.addfile(info, io.BytesIO(entry.content))
    if not container.put_archive("/", buffer.getvalue()):
        raise HarnessError(
            f"the Docker engine did not take the files for container {container.name}",
            fix="check the engine (`docker info`); files cannot go into a tmpfs mount",
        )


@contextmanager
def never_started(
    client: docker.DockerClient, ownership: Ownership, image: str, role: str, mounts: list[Mount] | None = None
) -> Iterator[Container]:
    """A labelled container that is never started: a way for files in and out of volumes and images."""
    container = client.containers.create(
        image, ["true"], entrypoint=[], network_mode="none", labels=ownership.labels(role), mounts=mounts or []
    )
    try:
        yield container
    finally:
        container.remove(force=True)
