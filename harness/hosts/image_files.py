"""What the machines' images hold: the files a whole-host scan need not read, and their digests when a comparison
needs one.

A file whose inode last changed before its machine's container was created is its image's own, unchanged:
overlayfs copies a file up, with a new ctime, on any change to its content or metadata, and nothing inside a
container sets a ctime back. Only stepping the computer's clock back by more than :data:`MARGIN` would, from a
privileged machine (the only kind that may set it): a deployer that does that breaks the computer running the
tests before it breaks this. A whole-host scan digests only the other files (on a Proxmox VE host it no longer
reads the 200 MB of /usr), and a file that one scan left undigested and a later one digested is read from the
image itself.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container

from harness.engine.archive import never_started
from harness.engine.clock import instant
from harness.engine.labels import Ownership
from harness.errors import HarnessError
from harness.hosts.machine import Machine

MARGIN = 1.0  # seconds before the container's creation that still count as "after": more digests, never fewer


class ImageFiles:
    def __init__(self, client: docker.DockerClient, ownership: Ownership, machines: Mapping[str, Machine]) -> None:
        self.client, self.ownership, self.machines = client, ownership, machines

    def since(self, machine: str) -> float | None:
        """Files whose inode changed before this instant (epoch seconds) are the image's; None: digest them all."""
        found = self.machines.get(machine)
        if found is None:
            return None
        try:
            return instant(found.container.attrs["Created"]).timestamp() - MARGIN
        except (KeyError, ValueError):
            return None

    def digests(self, machine: str, paths: Iterable[str]) -> dict[str, str]:
        """sha256 of these regular files as the machine's image holds them (those it does not are left out)."""
        found = self.machines.get(machine)
        wanted = sorted(set(paths))
        if found is None or not wanted:
            return {}
        image = found.container.attrs["Image"]
        try:
            with never_started(self.client, self.ownership, image, "image-files") as reader:
                return {path: digest for path in wanted if (digest := _digest(reader, path)) is not None}
        except (docker.errors.APIError, tarfile.TarError) as exc:
            raise HarnessError(
                f"{machine}: could not read what its image ({image[:19]}) holds at {', '.join(wanted[:3])}: {exc}",
                fix="keep the machine images while a run uses them (`make prune` removes them), and run again",
            ) from None


def _digest(reader: Container, path: str) -> str | None:
    """sha256 of a regular file in a container's image (None: the image has none there)."""
    try:
        stream, _ = reader.get_archive(path)
    except docker.errors.NotFound:
        return None
    digest = hashlib.sha256()
    with tarfile.open(fileobj=_Chunks(stream), mode="r|") as tar:  # streamed: a large binary is not held whole
        member = tar.next()
        body = tar.extractfile(member) if member is not None and member.isfile() else None
        if body is None:
            return None
        while chunk := body.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class _Chunks(io.RawIOBase):
    """The engine's archive stream (an iterator of byte chunks) as a file tarfile reads in stream mode."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks, self._left = chunks, b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._left:
            self._left = next(self._chunks, b"")
            if not self._left:
                return 0
        size = min(len(buffer), len(self._left))
        buffer[:size], self._left = self._left[:size], self._left[size:]
        return size
