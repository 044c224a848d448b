"""Pod images, unpacked once per image into a cache volume every simulated node mounts read-only.

A pod's root is an overlay over its image's files; unpacking a 200 MB image into
each of fifty nodes would take minutes, unpacking it once takes seconds.
"""

from __future__ import annotations

import contextlib

import docker
import docker.errors
from docker.types import Mount

from harness import PROJECT
from harness.engine.archive import Entry, never_started, put_files
from harness.engine.labels import CACHE, Ownership
from harness.engine.locks import build_lock

VOLUME = f"{PROJECT}-pod-images"
NODE_PATH = "/var/lib/harness/images"  # where nodes mount the volume


def cache_volume(client: docker.DockerClient) -> str:
    """The cache volume, made on first use; kept on purpose (``deployer-harness prune`` removes it)."""
    try:
        client.volumes.get(VOLUME)
    except docker.errors.NotFound:
        with contextlib.suppress(docker.errors.APIError):  # a parallel worker made it first
            client.volumes.create(VOLUME, labels={CACHE: "true"})
    return VOLUME


def unpacked(client: docker.DockerClient, ownership: Ownership, image: str, helper_image: str) -> str:
    """The path, inside a node, of ``image``'s files; unpacks them the first time."""
    key = client.images.get(image).id.split(":")[-1][:16]
    done = f"{key}.done"
    volume = cache_volume(client)
    mounts = [Mount("/images", volume, type="volume")]
    with (
        build_lock(f"pod-image-{key}"),
        never_started(client, ownership, helper_image, "pod-image-unpacker", mounts) as helper,
    ):
        if not _exists(helper, f"/images/{done}"):
            with never_started(client, ownership, image, "pod-image-source") as source:
                put_files(helper, [Entry(f"/images/{key}", None, 0o755)])
                helper.put_archive(f"/images/{key}", source.export())
            put_files(helper, [Entry(f"/images/{done}", b"")])  # written last: the files are all there
    return f"{NODE_PATH}/{key}"


def _exists(container: docker.models.containers.Container, path: str) -> bool:
    try:
        container.get_archive(path)
        return True
    except docker.errors.NotFound:
        return False
