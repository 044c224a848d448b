"""Pod images, unpacked once per image into a cache volume every simulated node mounts read-only.

A pod's root is an overlay over its image's files; unpacking a 200 MB image into
each of fifty nodes would take minutes, unpacking it once takes seconds.
"""

from __future__ import annotations

import contextlib
import io
import tarfile

import docker
import docker.errors
from docker.types import Mount

from harness import PROJECT
from harness.engine.labels import CACHE, Ownership
from harness.images.locks import build_lock

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
    with build_lock(f"pod-image-{key}"):
        helper = client.containers.create(
            helper_image,
            ["true"],
            entrypoint=[],
            network_mode="none",
            labels=ownership.labels("pod-image-unpacker"),
            mounts=[Mount("/images", volume, type="volume")],
        )
        try:
            if not _exists(helper, f"/images/{done}"):
                source = client.containers.create(
                    image, ["true"], entrypoint=[], network_mode="none", labels=ownership.labels("pod-image-source")
                )
                try:
                    helper.put_archive("/images", _directory(key))
                    helper.put_archive(f"/images/{key}", source.export())
                finally:
                    source.remove(force=True)
                helper.put_archive("/images", _empty_file(done))
        finally:
            helper.remove(force=True)
    return f"{NODE_PATH}/{key}"


def _exists(container: docker.models.containers.Container, path: str) -> bool:
    try:
        container.get_archive(path)
        return True
    except docker.errors.NotFound:
        return False


def _directory(name: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(info)
    return buffer.getvalue()


def _empty_file(name: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.addfile(tarfile.TarInfo(name), io.BytesIO(b""))
    return buffer.getvalue()
